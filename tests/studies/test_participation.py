"""The annotator flow through the web pages (Django test client); the browser tests drive the same pages."""

import pytest
from django.core.cache import cache
from django.test import Client

from studies import participation, services
from studies.models import Assignment, Participant, Rating, Study

from .flow import POSITION, enter, participant_for, rate_current_item, ratings_for, through_to_items

pytestmark = pytest.mark.django_db


def test_a_prolific_participant_goes_from_consent_to_the_completion_code(client, study):
    response = enter(client, study, "PID0001")
    participant = participant_for("PID0001")
    assert response["Location"] == f"/s/p/{participant.token}/"
    assert participant.prolific_study_id == "S1" and participant.prolific_session_id == "session-PID0001"
    assert client.get(f"/s/p/{participant.token}/", follow=True).redirect_chain[-1][0].endswith("/consent/")
    through_to_items(client, study, "PID0001")
    participant.refresh_from_db()
    assert participant.demographics == {"age_group": "25–34", "english": "Fluent"}
    positions = []
    while participant.status == Participant.Status.IN_PROGRESS:
        position, response = rate_current_item(client, participant)
        positions.append(position)
        participant.refresh_from_db()
    assert positions == list(range(1, 14))
    assert response["Location"] == f"/s/p/{participant.token}/done/"
    done = client.get(response["Location"])
    assert b"DONE1234" in done.content
    assert b"https://app.prolific.com/submissions/complete?cc=DONE1234" in done.content
    assert Rating.objects.filter(assignment__participant=participant).count() == 13 * 5
    assert participant.completed_at and participant.attention_failures == 0


def test_coming_back_resumes_at_the_same_item_and_a_completed_participant_cannot_start_again(client, study):
    participant = through_to_items(client, study, "PID0002")
    rate_current_item(client, participant)
    rate_current_item(client, participant)
    first_look = client.get(f"/s/p/{participant.token}/item/")
    assert enter(client, study, "PID0002")["Location"] == f"/s/p/{participant.token}/"
    again = client.get(f"/s/p/{participant.token}/item/")
    assert POSITION.search(again.content).group(1) == POSITION.search(first_look.content).group(1) == b"3"
    while participant.status == Participant.Status.IN_PROGRESS:
        rate_current_item(client, participant)
        participant.refresh_from_db()
    returning = client.get(enter(client, study, "PID0002")["Location"], follow=True)
    assert returning.redirect_chain[-1][0].endswith("/done/")
    assert Participant.objects.filter(prolific_pid="PID0002").count() == 1
    assert client.get(f"/s/p/{participant.token}/item/")["Location"].endswith("/done/")


def test_declining_consent_ends_with_the_screen_out_code(client, study):
    enter(client, study, "PID0003")
    participant = participant_for("PID0003")
    response = client.post(f"/s/p/{participant.token}/consent/", {"consent": "no"}, follow=True)
    assert response.redirect_chain[-1][0].endswith("/end/")
    assert b"STOP5678" in response.content and b"You chose not to take part" in response.content
    participant.refresh_from_db()
    assert participant.status == Participant.Status.SCREENED_OUT
    assert participant.screen_out_reason == Participant.ScreenOut.DECLINED_CONSENT
    assert client.get(f"/s/p/{participant.token}/instructions/")["Location"].endswith("/end/")


def test_failing_the_attention_check_ends_with_the_screen_out_code(client, study):
    participant = through_to_items(client, study, "PID0004")
    for _ in range(6):
        rate_current_item(client, participant)
    page = client.get(f"/s/p/{participant.token}/item/")
    assert b"checks that you are reading carefully" in page.content
    wrong = {name: 5 for name in ratings_for(page.content)}
    response = client.post(f"/s/p/{participant.token}/item/", {"position": 7, **wrong}, follow=True)
    assert b"STOP5678" in response.content and b"attention-check pages" in response.content
    participant.refresh_from_db()
    assert participant.status == Participant.Status.SCREENED_OUT
    assert participant.screen_out_reason == Participant.ScreenOut.FAILED_ATTENTION
    assert not participant.assignments.filter(position=8, served_at__isnull=False).exists()
    assert client.get(f"/s/p/{participant.token}/item/")["Location"].endswith("/end/")


def test_a_second_submission_of_an_item_never_stores_or_overwrites_anything(client, study):
    participant = through_to_items(client, study, "PID0005")
    page = client.get(f"/s/p/{participant.token}/item/")
    answers = {"position": 1, **ratings_for(page.content, 3)}
    first = client.post(f"/s/p/{participant.token}/item/", answers)
    again = client.post(f"/s/p/{participant.token}/item/", answers)  # a double click, a resent form
    assert first.status_code == again.status_code == 302
    changed = client.post(f"/s/p/{participant.token}/item/", answers | {"plausibility": 1}, follow=True)
    assert b"had already been saved" in changed.content
    stored = Rating.objects.filter(assignment__participant=participant)
    assert stored.count() == 5 and set(stored.values_list("value", flat=True)) == {3}
    assert POSITION.search(changed.content).group(1) == b"2"


def test_an_incomplete_rating_is_shown_again_with_what_is_missing(client, study):
    participant = through_to_items(client, study, "PID0006")
    client.get(f"/s/p/{participant.token}/item/")
    response = client.post(f"/s/p/{participant.token}/item/", {"position": 1, "plausibility": 2})
    assert response.status_code == 200
    assert b"Please rate every statement." in response.content
    assert "Please rate “Completeness”.".encode() in response.content
    assert b'value="2" required checked' in response.content  # what was chosen stays chosen
    assert not Rating.objects.exists()


def test_a_rating_is_accepted_only_for_the_item_handed_out(client, study):
    participant = through_to_items(client, study, "PID0007")
    client.get(f"/s/p/{participant.token}/item/")
    ahead = client.post(f"/s/p/{participant.token}/item/", {"position": 2, **ratings_for(b"")})
    assert ahead.status_code == 409
    beyond = client.post(f"/s/p/{participant.token}/item/", {"position": 99, **ratings_for(b"")})
    assert beyond.status_code == 409
    assert not Rating.objects.exists()
    with pytest.raises(participation.InvalidRatings, match="Satisfaction: 9 is outside 1–5"):
        participation.submit_item(
            participant=participant, position=1, values=ratings_for(b"") | {"satisfaction": 9}
        )


def test_a_token_reaches_only_its_own_participant(client, study):
    alice = through_to_items(client, study, "ALICE")
    bob = through_to_items(client, study, "BOB")
    rate_current_item(client, bob, value=2)
    rate_current_item(client, alice, value=5)
    assert len(alice.token) >= 32 and alice.token != bob.token
    assert client.get("/s/p/not-a-real-token/item/").status_code == 404
    assert client.post("/s/p/not-a-real-token/item/", {"position": 1}).status_code == 404
    assert client.get(f"/s/p/{bob.token[:-1]}/item/").status_code == 404
    bob_values = list(Rating.objects.filter(assignment__participant=bob).values_list("value", flat=True))
    # Alice can only ever name positions in her own sequence: her next position is not Bob's to change.
    client.post(f"/s/p/{alice.token}/item/", {"position": 2, **ratings_for(b"", 1)})
    assert (
        list(Rating.objects.filter(assignment__participant=bob).values_list("value", flat=True)) == bob_values
    )
    assert set(bob_values) == {2}


def test_links_without_a_prolific_id_are_refused_unless_the_study_is_anonymous(client, study):
    assert enter(client, study).status_code == 400
    assert enter(client, study, "{{%PROLIFIC_PID%}}").status_code == 400
    assert client.get(f"/s/{study.entry_token}x/").status_code == 404
    study.allow_anonymous = True
    study.save()
    first, second = enter(client, study), enter(client, study)
    assert first.status_code == second.status_code == 302 and first["Location"] != second["Location"]


def test_a_closed_study_takes_no_new_participants_but_lets_started_ones_finish(client, study):
    participant = through_to_items(client, study, "PID0008")
    services.close_study(study=study)
    assert enter(client, study, "NEWCOMER").status_code == 403
    assert enter(client, study, "PID0008").status_code == 302
    assert rate_current_item(client, participant)[1].status_code == 302


def test_entry_is_rate_limited_per_address(client, study, settings):
    settings.STUDY_ENTRY_RATE_LIMIT = 3
    cache.clear()
    codes = [enter(client, study, f"RATE{i}").status_code for i in range(4)]
    assert codes == [302, 302, 302, 429]
    other = enter(client, study, "RATE9", REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 302
    cache.clear()


def test_an_abandoned_session_is_released_and_resumes_when_its_participant_returns(client, study):
    from datetime import timedelta

    from django.utils import timezone

    idle = through_to_items(client, study, "PID0009")
    rate_current_item(client, idle)
    Participant.objects.filter(pk=idle.pk).update(last_seen_at=timezone.now() - timedelta(minutes=61))
    newcomer = through_to_items(client, study, "PID0010")
    client.get(f"/s/p/{newcomer.token}/item/")
    idle.refresh_from_db()
    assert idle.status == Participant.Status.RETURNED and idle.returned_at
    page = client.get(enter(client, study, "PID0009")["Location"], follow=True)
    idle.refresh_from_db()
    assert idle.status == Participant.Status.IN_PROGRESS
    assert POSITION.search(page.content).group(1) == b"2"


def test_ratings_spread_evenly_over_items_and_latin_square_rows(study):
    for _ in range(20):
        participant = participation.enter_study(study=study, prolific_pid=f"P{_:03d}")
        participation.record_consent(participant=participant, agreed=True)
        participation.mark_instructions_read(participant=participant)
        participation.save_demographics(participant=participant, answers={})
        participation.start_items(participant=participant)
    counts = {}
    for explanation_id, condition in Assignment.objects.filter(explanation__isnull=False).values_list(
        "explanation_id", "explanation__condition__name"
    ):
        counts.setdefault(condition, {}).setdefault(explanation_id, 0)
        counts[condition][explanation_id] += 1
    for condition in study.conditions.all():
        per_item = [
            counts.get(condition.name, {}).get(e.pk, 0)
            for e in condition.explanations.filter(question__in=study.items.values("question"))
        ]
        assert len(per_item) == 16 and max(per_item) - min(per_item) <= 1, per_item
    rows = list(Participant.objects.values_list("latin_square_row", flat=True))
    assert sorted(rows.count(r) for r in range(4)) == [5, 5, 5, 5]


def test_test_responses_complete_the_study_apart_from_real_participants(study):
    participants = services.fill_with_test_responses(study=study, participants=3, seed=1)
    assert [p.status for p in participants] == [Participant.Status.COMPLETED] * 3
    assert all(p.is_test for p in participants)
    assert Rating.objects.count() == 3 * 13 * 5
    seconds = list(Assignment.objects.values_list("seconds_on_item", flat=True))
    assert all(15 <= s <= 60 for s in seconds)
    draft = Study.objects.get(pk=study.pk)
    assert draft.participants.filter(is_test=False).count() == 0


def test_annotator_forms_are_protected_against_cross_site_requests(study):
    client = Client(enforce_csrf_checks=True)
    entered = enter(client, study, "PIDCSRF")
    participant = participant_for("PIDCSRF")
    page = client.get(entered["Location"], follow=True)
    assert b'name="csrfmiddlewaretoken"' in page.content
    forged = client.post(f"/s/p/{participant.token}/consent/", {"consent": "yes"})
    assert forged.status_code == 403
    participant.refresh_from_db()
    assert participant.consented_at is None


def test_the_item_page_tells_whether_the_answer_is_correct_only_when_the_study_says_so(client, study):
    participant = through_to_items(client, study, "PIDREVEAL")
    hidden = client.get(f"/s/p/{participant.token}/item/").content
    assert (
        b"model\xe2\x80\x99s answer" in hidden
        and b'class="badge ok"' not in hidden
        and b"badge bad" not in hidden
    )
    study.reveal_correctness = True
    study.save()
    shown = client.get(f"/s/p/{participant.token}/item/").content
    assignment = participant.assignments.select_related("explanation").get(position=1)
    badge = b'class="badge ok">correct' if assignment.explanation.correct else b'class="badge bad">incorrect'
    assert badge in shown
    assert assignment.explanation.text.encode() in shown
