"""The annotator flow through the web pages (Django test client); the browser tests drive the same pages."""

import pytest
from django.core.cache import cache
from django.test import Client

from studies import participation, services
from studies.models import Assignment, Participant, Rating, Study

from .flow import (
    agree,
    current_item,
    enter,
    entry_link,
    item_url,
    participant_for,
    position_of,
    rate_current_item,
    ratings_for,
    through_to_items,
)

pytestmark = pytest.mark.django_db


def test_a_prolific_participant_goes_from_consent_to_the_completion_code(client, study):
    consent_page = enter(client, study, "PID0001")
    assert consent_page.status_code == 200 and b"Before you start" in consent_page.content
    participant = through_to_items(client, study, "PID0001")
    assert participant.prolific_study_id == "S1" and participant.prolific_session_id == "session-PID0001"
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
    first_look, _ = current_item(client, participant)
    assert enter(client, study, "PID0002")["Location"] == item_url(participant, 3)
    assert first_look == current_item(client, participant)[0] == 3
    while participant.status == Participant.Status.IN_PROGRESS:
        rate_current_item(client, participant)
        participant.refresh_from_db()
    returning = client.get(entry_link(study, "PID0002"), follow=True)
    assert returning.redirect_chain[-1][0].endswith("/done/")
    assert Participant.objects.filter(prolific_pid="PID0002").count() == 1
    assert client.get(f"/s/p/{participant.token}/item/")["Location"].endswith("/done/")


def test_declining_consent_asks_to_confirm_then_ends_with_the_screen_out_code(client, study):
    asked = agree(client, study, "PID0003", consent="no")
    assert asked.status_code == 200 and b"Leave the study?" in asked.content
    assert not Participant.objects.exists()  # nothing decided yet
    response = client.post(entry_link(study, "PID0003"), {"consent": "leave"}, follow=True)
    participant = participant_for("PID0003")
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
    position, page = current_item(client, participant)
    assert position == 7 and b"checks that you are reading carefully" in page.content
    # The check is not a model's explanation, and the page does not call it one.
    assert b"Please read this carefully" in page.content
    assert (
        "The model’s explanation".encode() not in page.content and b"The model answered" not in page.content
    )
    wrong = {name: 5 for name in ratings_for(page.content)}
    response = client.post(item_url(participant, 7), wrong, follow=True)
    assert b"STOP5678" in response.content and b"attention-check pages" in response.content
    participant.refresh_from_db()
    assert participant.status == Participant.Status.SCREENED_OUT
    assert participant.screen_out_reason == Participant.ScreenOut.FAILED_ATTENTION
    assert not participant.assignments.filter(position=8, served_at__isnull=False).exists()
    assert client.get(f"/s/p/{participant.token}/item/")["Location"].endswith("/end/")


def test_a_second_submission_of_an_item_never_stores_or_overwrites_anything(client, study):
    participant = through_to_items(client, study, "PID0005")
    _, page = current_item(client, participant)
    answers = ratings_for(page.content, 3)
    first = client.post(item_url(participant, 1), answers)
    again = client.post(item_url(participant, 1), answers)  # a double click, a resent form
    assert first.status_code == again.status_code == 302
    changed = client.post(item_url(participant, 1), answers | {"plausibility": 1}, follow=True)
    assert b"had already been saved" in changed.content
    stored = Rating.objects.filter(assignment__participant=participant)
    assert stored.count() == 5 and set(stored.values_list("value", flat=True)) == {3}
    assert position_of(changed) == 2


def test_an_incomplete_rating_is_shown_again_with_what_is_missing(client, study):
    participant = through_to_items(client, study, "PID0006")
    current_item(client, participant)
    response = client.post(item_url(participant, 1), {"plausibility": 2})
    assert response.status_code == 200
    assert b"Please rate every statement." in response.content
    assert "Please rate “Completeness”.".encode() in response.content
    assert b'value="2" required checked' in response.content  # what was chosen stays chosen
    assert not Rating.objects.exists()


def test_a_rating_is_accepted_only_for_the_item_handed_out(client, study):
    participant = through_to_items(client, study, "PID0007")
    current_item(client, participant)
    ahead = client.post(item_url(participant, 2), ratings_for(b""))
    assert ahead.status_code == 409
    beyond = client.post(item_url(participant, 99), ratings_for(b""))
    assert beyond.status_code == 409
    assert not Rating.objects.exists()
    with pytest.raises(participation.InvalidRatings, match="Satisfaction: 9 is outside 1–5"):
        participation.submit_item(
            participant=participant, position=1, values=ratings_for(b"") | {"satisfaction": 9}
        )


def test_a_token_reaches_only_its_own_participant(study):
    alice_browser, bob_browser = Client(), Client()
    alice = through_to_items(alice_browser, study, "ALICE")
    bob = through_to_items(bob_browser, study, "BOB")
    rate_current_item(bob_browser, bob, value=2)
    rate_current_item(alice_browser, alice, value=5)
    assert len(alice.token) >= 32 and alice.token != bob.token
    assert alice_browser.get("/s/p/not-a-real-token/item/").status_code == 404
    assert alice_browser.post("/s/p/not-a-real-token/item/1/", ratings_for(b"")).status_code == 404
    assert bob_browser.get(f"/s/p/{bob.token[:-1]}/item/").status_code == 404
    bob_values = list(Rating.objects.filter(assignment__participant=bob).values_list("value", flat=True))
    # Alice can only ever name positions in her own sequence: her next position is not Bob's to change.
    alice_browser.post(item_url(alice, 2), ratings_for(b"", 1))
    assert (
        list(Rating.objects.filter(assignment__participant=bob).values_list("value", flat=True)) == bob_values
    )
    assert set(bob_values) == {2}


def test_links_without_a_prolific_id_are_refused_unless_the_study_is_anonymous(client, study):
    assert enter(client, study).status_code == 400
    assert enter(client, study, "{{%PROLIFIC_PID%}}").status_code == 400
    assert client.get(f"/s/{study.entry_token}x/").status_code == 404
    assert client.post(entry_link(study), {"consent": "yes"}).status_code == 400
    study.allow_anonymous = True
    study.save()
    first, second = agree(Client(), study), agree(Client(), study)
    assert first.status_code == second.status_code == 302 and first["Location"] != second["Location"]
    # The same browser opening the link again continues its own session.
    again = Client()
    started = agree(again, study)
    assert enter(again, study)["Location"] == started["Location"]
    assert Participant.objects.count() == 3


def test_a_closed_study_takes_no_new_participants_but_lets_started_ones_finish(client, study):
    participant = through_to_items(client, study, "PID0008")
    services.close_study(study=study)
    assert enter(Client(), study, "NEWCOMER").status_code == 403
    assert agree(Client(), study, "NEWCOMER").status_code == 403
    assert enter(client, study, "PID0008").status_code == 302
    assert rate_current_item(client, participant)[1].status_code == 302


def test_entry_is_rate_limited_per_address(study, settings):
    settings.STUDY_ENTRY_RATE_LIMIT = 3
    cache.clear()
    codes = [agree(Client(), study, f"RATE{i}").status_code for i in range(4)]
    assert codes == [302, 302, 302, 429]
    other = agree(Client(), study, "RATE9", REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 302
    cache.clear()


def test_an_abandoned_session_is_released_and_resumes_when_its_participant_returns(client, study):
    from datetime import timedelta

    from django.utils import timezone

    idle = through_to_items(client, study, "PID0009")
    rate_current_item(client, idle)
    Participant.objects.filter(pk=idle.pk).update(last_seen_at=timezone.now() - timedelta(minutes=61))
    newcomer_browser = Client()
    newcomer = through_to_items(newcomer_browser, study, "PID0010")
    current_item(newcomer_browser, newcomer)
    idle.refresh_from_db()
    assert idle.status == Participant.Status.RETURNED and idle.returned_at
    page = client.get(entry_link(study, "PID0009"), follow=True)
    idle.refresh_from_db()
    assert idle.status == Participant.Status.IN_PROGRESS
    assert position_of(page) == 2


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
    page = enter(client, study, "PIDCSRF")
    assert b'name="csrfmiddlewaretoken"' in page.content
    forged = client.post(entry_link(study, "PIDCSRF"), {"consent": "yes"})
    assert forged.status_code == 403
    assert not Participant.objects.exists()


def test_the_item_page_tells_whether_the_answer_is_correct_only_when_the_study_says_so(client, study):
    participant = through_to_items(client, study, "PIDREVEAL")
    hidden = current_item(client, participant)[1].content
    assert (
        b"model\xe2\x80\x99s answer" in hidden
        and b'class="badge ok"' not in hidden
        and b"badge bad" not in hidden
    )
    study.reveal_correctness = True
    study.save()
    shown = current_item(client, participant)[1].content
    assignment = participant.assignments.select_related("explanation").get(position=1)
    badge = b'class="badge ok">correct' if assignment.explanation.correct else b'class="badge bad">incorrect'
    assert badge in shown
    assert assignment.explanation.text.encode() in shown


def test_opening_the_study_link_creates_no_participant_until_consent_is_answered(client, study):
    """Issue 12, failure 3: a link preview, a crawler or a curl counted as a started participant."""
    for _ in range(3):
        assert enter(Client(), study, "PREVIEW1").status_code == 200
    assert enter(Client(), study).status_code == 400
    assert not Participant.objects.exists()
    agree(client, study, "PREVIEW1")
    assert Participant.objects.get().consented_at is not None


def test_another_browser_holding_the_participant_url_can_neither_read_nor_submit(client, study):
    """Issue 12, failure 4: the participant URL alone was the credential (submit ratings, read the code)."""
    participant = through_to_items(client, study, "OWNER1")
    stranger = Client()
    base = f"/s/p/{participant.token}"
    for url in (f"{base}/", f"{base}/item/", item_url(participant, 1), f"{base}/done/", f"{base}/end/"):
        page = stranger.get(url, follow=True)
        assert page.status_code == 403 and b"another browser" in page.content, url
    _, page = current_item(client, participant)
    refused = stranger.post(item_url(participant, 1), ratings_for(page.content, 1))
    assert refused.status_code == 403
    assert not Rating.objects.exists()
    while participant.status == Participant.Status.IN_PROGRESS:
        rate_current_item(client, participant)
        participant.refresh_from_db()
    assert b"DONE1234" in client.get(f"{base}/done/").content
    assert b"DONE1234" not in stranger.get(f"{base}/done/").content


def test_a_prolific_participant_resumes_on_another_device_by_their_prolific_id(client, study):
    participant = through_to_items(client, study, "MOVER1")
    rate_current_item(client, participant)
    phone = Client()
    resumed = phone.get(entry_link(study, "MOVER1"), follow=True)
    assert resumed.status_code == 200 and position_of(resumed) == 2
    position, saved = rate_current_item(phone, participant, value=1)
    assert position == 2 and saved.status_code == 302
    assert set(participant.assignments.get(position=2).ratings.values_list("value", flat=True)) == {1}
    assert Participant.objects.count() == 1


def test_an_item_already_rated_is_shown_read_only_at_its_own_address(client, study):
    participant = through_to_items(client, study, "READONLY1")
    _, page = current_item(client, participant)
    client.post(item_url(participant, 1), ratings_for(page.content, 2) | {"comment": "first one"})
    again = client.get(item_url(participant, 1))
    assert again.status_code == 200
    assert b"You have rated this item" in again.content and b"first one" in again.content
    assert again.content.count(b'value="2" required checked disabled') == 5
    assert b'type="submit"' not in again.content
    assert item_url(participant, 2).encode() in again.content  # the way on
    ahead = client.get(item_url(participant, 5))  # not handed out yet: sent to the current item
    assert ahead["Location"] == item_url(participant, 2)
    # Answers sent from the old page of item 1 (Back, a second tab) never land on item 2.
    client.post(item_url(participant, 1), ratings_for(page.content, 5))
    assert not participant.assignments.get(position=2).ratings.exists()
    assert set(participant.assignments.get(position=1).ratings.values_list("value", flat=True)) == {2}


def test_a_comment_that_is_too_long_is_refused_with_its_own_message(client, study):
    participant = through_to_items(client, study, "LONGCOMMENT1")
    _, page = current_item(client, participant)
    response = client.post(item_url(participant, 1), ratings_for(page.content, 3) | {"comment": "x" * 2001})
    assert response.status_code == 200
    assert b"Please rate every statement." not in response.content
    assert b"Please shorten your comment to 2,000 characters or fewer (it has 2001)." in response.content
    assert not Rating.objects.exists()
