"""Staff pages: the study dashboard and the admin, where studies are designed and launched."""

import json

import pytest
from django.test import Client

from studies import services
from studies.models import Condition, Participant, Study

from .factories import make_inference_runs, make_open_study
from .flow import rate_current_item, through_to_items

pytestmark = pytest.mark.django_db


def test_the_dashboard_shows_progress_per_status_condition_and_item(staff_client, study):
    client = Client()
    done = through_to_items(client, study, "PIDDASH")
    while done.status == Participant.Status.IN_PROGRESS:
        rate_current_item(client, done)
        done.refresh_from_db()
    through_to_items(client, study, "PIDHALF")
    services.fill_with_test_responses(study=study, participants=2)
    page = staff_client.get(f"/studies/{study.pk}/")
    assert page.status_code == 200
    board = page.context["board"]
    assert board.status_counts == {"in_progress": 1, "completed": 1, "screened_out": 0, "returned": 0}
    assert board.started == 2 and board.test_participants == 2
    assert [(line.name, line.rated, line.rated_completed) for line in board.conditions] == [
        ("counterfactual/unrevised", 3, 3),
        ("multitask/unrevised", 3, 3),
        ("multitask_counterfactual/unrevised", 3, 3),
        ("multitask_counterfactual/revised", 3, 3),
    ]
    assert sum(sum(item.counts) for item in board.items) == 12 and len(board.items) == 16
    assert board.participants_needed == 27  # 16 items × 5 ratings / 3 per participant, rounded up
    assert board.median_seconds is not None
    text = page.content.decode()
    assert f"/s/{study.entry_token}/?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}" in text
    assert f"/studies/{study.pk}/export/ratings.csv" in text


def test_study_pages_and_exports_are_for_staff_only(plain_client, study):
    anonymous = Client()
    for url in ("/studies/", f"/studies/{study.pk}/", f"/studies/{study.pk}/export/ratings.csv"):
        assert anonymous.get(url).status_code == 302
        assert plain_client.get(url).status_code == 403  # signed in, but not staff
    assert plain_client.get("/api/studies/").status_code == 403
    assert plain_client.get(f"/admin/studies/study/{study.pk}/change/").status_code == 403


def test_a_study_is_designed_sampled_and_opened_from_the_admin(staff_client):
    runs = make_inference_runs()
    response = staff_client.post(
        "/admin/studies/study/add/",
        {
            "title": "From the admin",
            "kind": "rating",
            "protocol": "two_step",
            "wrong_advice_share": 0.3,
            "consent_text": "Agree?",
            "instructions": "Rate them.",
            "items_per_condition": 1,
            "item_count": 8,
            "target_ratings_per_item": 3,
            "attention_max_failures": 0,
            "abandon_after_minutes": 60,
            "completion_code": "C0DE1",
            "screen_out_code": "OUT1",
            "completion_url": "https://app.prolific.com/submissions/complete",
            **{
                f"{prefix}-TOTAL_FORMS": 0
                for prefix in ("scales", "demographic_questions", "attention_checks")
            },
            **{
                f"{prefix}-INITIAL_FORMS": 0
                for prefix in ("scales", "demographic_questions", "attention_checks")
            },
            "conditions-TOTAL_FORMS": 0,
            "conditions-INITIAL_FORMS": 0,
            "items-TOTAL_FORMS": 0,
            "items-INITIAL_FORMS": 0,
        },
        follow=True,
    )
    assert b"Added the default five rating scales" in response.content
    study = Study.objects.get(title="From the admin")
    assert study.scales.count() == 5 and study.created_by == staff_client.user
    for run in runs[:2]:
        added = staff_client.post(
            "/admin/studies/condition/add/",
            {"study": study.pk, "inference_run": run.pk, "advice": "answer_explanation"},
            follow=True,
        )
        assert b"24 explanations from inference run" in added.content
    assert list(study.conditions.values_list("name", flat=True)) == [
        "counterfactual/unrevised",
        "multitask/unrevised",
    ]
    actions = "/admin/studies/study/"
    staff_client.post(actions, {"action": "open_selected", "_selected_action": [study.pk]})
    study.refresh_from_db()
    assert study.status == Study.Status.DRAFT  # not sampled yet: refused with the reason
    response = staff_client.post(
        actions, {"action": "sample_items", "_selected_action": [study.pk]}, follow=True
    )
    assert b"sampled 8 items" in response.content
    response = staff_client.post(
        actions, {"action": "open_selected", "_selected_action": [study.pk]}, follow=True
    )
    assert b"is open" in response.content
    study.refresh_from_db()
    assert study.status == Study.Status.OPEN and study.item_seed is not None
    page = staff_client.get(f"/admin/studies/study/{study.pk}/change/")
    assert page.status_code == 200 and b"PROLIFIC_PID={{%PROLIFIC_PID%}}" in page.content


def test_a_jsonl_condition_is_uploaded_in_the_admin_and_bad_lines_are_listed(staff_client, tmp_path):
    runs = make_inference_runs()
    study = services.create_study(title="Upload", attention_checks=0)
    questions = list(runs[0].predictions.select_related("question")[:3])
    good = "\n".join(
        json.dumps({"id": p.question.external_id, "answer": "A", "explanation": f"Because {i}."})
        for i, p in enumerate(questions)
    )
    path = tmp_path / "teacher.jsonl"
    path.write_text(good + '\n{"id": "missing", "answer": "A", "explanation": "x"}\n')
    with path.open("rb") as upload:
        response = staff_client.post(
            "/admin/studies/condition/add/",
            {
                "study": study.pk,
                "name": "teacher/revised",
                "advice": "answer_explanation",
                "jsonl_file": upload,
                "dataset": runs[0].dataset_id,
            },
        )
    assert response.status_code == 200
    assert b"line 4: unknown question id" in response.content
    assert not Condition.objects.exists()
    path.write_text(good)
    with path.open("rb") as upload:
        response = staff_client.post(
            "/admin/studies/condition/add/",
            {
                "study": study.pk,
                "name": "teacher/revised",
                "advice": "answer_explanation",
                "jsonl_file": upload,
                "dataset": runs[0].dataset_id,
            },
            follow=True,
        )
    assert b"Condition teacher/revised: 3 explanations" in response.content
    assert Condition.objects.get().source_file == "teacher.jsonl"


def test_the_admin_freezes_a_study_once_it_has_participants(staff_client):
    study = make_open_study()
    editable = staff_client.get(f"/admin/studies/study/{study.pk}/change/")
    assert b'name="items_per_condition"' in editable.content
    services.fill_with_test_responses(study=study, participants=1)
    frozen = staff_client.get(f"/admin/studies/study/{study.pk}/change/")
    assert b'name="items_per_condition"' not in frozen.content
    assert b'name="scales-0-statement"' not in frozen.content
    assert b'name="items-0-excluded"' not in frozen.content
    response = staff_client.post(
        "/admin/studies/study/", {"action": "sample_items", "_selected_action": [study.pk]}, follow=True
    )
    assert b"already has participants" in response.content
    response = staff_client.post(
        "/admin/studies/study/",
        {"action": "delete_test_responses", "_selected_action": [study.pk]},
        follow=True,
    )
    assert b"deleted 1 simulated participants" in response.content
    assert b'name="items-0-excluded"' in staff_client.get(f"/admin/studies/study/{study.pk}/change/").content


def test_the_study_admin_gives_an_absolute_entry_link_and_plain_help_texts(staff_client, study):
    """Issue 12, item 5: a relative entry link, and a raw <code> in a help text that made the page monospace."""
    page = staff_client.get(f"/admin/studies/study/{study.pk}/change/").content.decode()
    assert (
        f"<code>http://testserver/s/{study.entry_token}/?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}&amp;STUDY_ID="
        in page
    )
    assert "?cc=<code>" not in page and page.count("<code>") == page.count("</code>")
