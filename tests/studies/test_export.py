"""The CSV files: exact columns, one row per rating and scale, exclusions flagged, test responses optional."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from studies import participation, selectors, services
from studies.models import Participant

from .flow import rate_current_item, through_to_items

pytestmark = pytest.mark.django_db

RATING_COLUMNS = [
    "study_id",
    "participant_id",
    "condition",
    "question_id",
    "position",
    "scale",
    "value",
    "seconds_on_item",
    "explanation_chars",
    "answer_correct",
    "dataset",
    "method",
    "data_variant",
    "training_run_id",
    "seed",
    "participant_status",
    "attention_check",
    "test_response",
    "rated_at",
]


SCALES = ["plausibility", "understandability", "completeness", "satisfaction", "contrastiveness"]


def read_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def rated_study(client, study):
    """One completed participant, one screened out at the attention check (5s where it asks for 2),
    three test responses."""
    done = through_to_items(client, study, "PIDDONE")
    while done.status == Participant.Status.IN_PROGRESS:
        rate_current_item(client, done, value=4)
        done.refresh_from_db()
    out = through_to_items(client, study, "PIDOUT")
    for _ in range(6):
        rate_current_item(client, out, value=5)
    client.get(f"/s/p/{out.token}/item/")
    client.post(f"/s/p/{out.token}/item/7/", dict.fromkeys(SCALES, 5))
    services.fill_with_test_responses(study=study, participants=3)
    return study


def test_ratings_csv_has_the_agreed_columns_and_one_row_per_rating_and_scale(staff_client, rated_study):
    response = staff_client.get(f"/studies/{rated_study.pk}/export/ratings.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0] == ",".join(RATING_COLUMNS)
    rows = read_csv(text)
    assert len(rows) == (13 + 7) * 5  # test responses left out
    done = Participant.objects.get(prolific_pid="PIDDONE")
    first = next(r for r in rows if r["participant_id"] == done.public_id and r["position"] == "1")
    assignment = done.assignments.select_related("explanation__condition__inference_run__training_run").get(
        position=1
    )
    run = assignment.explanation.condition.inference_run.training_run
    assert first == {
        "study_id": str(rated_study.pk),
        "participant_id": done.public_id,
        "condition": f"{run.method}/{run.data_variant}",
        "question_id": assignment.explanation.question.external_id,
        "position": "1",
        "scale": "plausibility",
        "value": "4",
        "seconds_on_item": f"{assignment.seconds_on_item:.3f}",
        "explanation_chars": str(len(assignment.explanation.text)),
        "answer_correct": "true" if assignment.explanation.correct else "false",
        "dataset": "cqa",
        "method": run.method,
        "data_variant": run.data_variant,
        "training_run_id": str(run.pk),
        "seed": "0",
        "participant_status": "completed",
        "attention_check": "false",
        "test_response": "false",
        "rated_at": assignment.submitted_at.isoformat(),
    }
    assert "PIDDONE" not in text  # pseudonymous
    checks = [r for r in rows if r["attention_check"] == "true"]
    assert {r["condition"] for r in checks} == {"attention_check"} and len(checks) == 10
    assert {r["participant_status"] for r in rows} == {"completed", "screened_out"}
    assert {r["scale"] for r in rows} == set(SCALES)


def test_test_responses_are_exported_only_when_asked_for(staff_client, rated_study):
    url = f"/studies/{rated_study.pk}/export/ratings.csv?include_test_responses=1"
    rows = read_csv(b"".join(staff_client.get(url).streaming_content).decode())
    assert len(rows) == (13 + 7 + 3 * 13) * 5
    assert sum(r["test_response"] == "true" for r in rows) == 3 * 13 * 5
    keys = {tuple(row) for row in selectors.rating_rows(study=rated_study, include_test_responses=True)}
    assert keys == {tuple(RATING_COLUMNS)}


def test_participants_and_items_files_describe_who_rated_what(staff_client, rated_study):
    people = read_csv(
        b"".join(
            staff_client.get(f"/studies/{rated_study.pk}/export/participants.csv").streaming_content
        ).decode()
    )
    assert [(p["prolific_pid"], p["participant_status"], p["items_rated"]) for p in people] == [
        ("PIDDONE", "completed", "13"),
        ("PIDOUT", "screened_out", "7"),
    ]
    assert people[0]["demographic_age_group"] == "25–34" and people[0]["demographic_ai_familiarity"] == ""
    assert people[1]["screen_out_reason"] == "failed_attention_checks"
    items = read_csv(
        b"".join(staff_client.get(f"/studies/{rated_study.pk}/export/items.csv").streaming_content).decode()
    )
    assert len(items) == 16 * 4 + 1
    assert sum(int(i["times_rated"]) for i in items) == 13 + 7
    assert sum(int(i["times_rated_completed"]) for i in items) == 13
    check = items[-1]
    assert check["attention_check"] == "true" and "reading carefully" in check["explanation"]
    first = items[0]
    assert first["condition"] == "counterfactual/unrevised" and first["explanation_chars"] == str(
        len(first["explanation"])
    )


def test_export_command_writes_the_same_files(tmp_path, staff_client, rated_study):
    out = io.StringIO()
    call_command("export_study", rated_study.pk, tmp_path / "export", stdout=out)
    assert f"{tmp_path / 'export' / 'ratings.csv'}: 100 rows" in out.getvalue()
    served = b"".join(
        staff_client.get(f"/studies/{rated_study.pk}/export/ratings.csv").streaming_content
    ).decode()
    assert (tmp_path / "export" / "ratings.csv").read_text() == served
    assert {p.name for p in (tmp_path / "export").iterdir()} == {
        "ratings.csv",
        "participants.csv",
        "items.csv",
        "comments.csv",
    }
    call_command("export_study", rated_study.pk, tmp_path / "all", "--include-test-responses", stdout=out)
    assert len(read_csv((tmp_path / "all" / "ratings.csv").read_text())) == (20 + 39) * 5
    with pytest.raises(CommandError, match="no study with id 999"):
        call_command("export_study", 999, tmp_path)


def test_comments_are_exported_apart(staff_client, study):
    participant = participation.enter_study(study=study, prolific_pid="COMMENTER")
    participation.record_consent(participant=participant, agreed=True)
    participation.mark_instructions_read(participant=participant)
    participation.start_items(participant=participant)
    assignment = participation.serve_next_item(participant=participant)
    values = {s.name: 3 for s in study.scales.all()}
    participation.submit_item(
        participant=participant, position=1, values=values, comment=" Offensive, \nplease drop. "
    )
    rows = read_csv(
        b"".join(staff_client.get(f"/studies/{study.pk}/export/comments.csv").streaming_content).decode()
    )
    assert rows == [
        {
            "study_id": str(study.pk),
            "participant_id": participant.public_id,
            "condition": assignment.explanation.condition.name,
            "question_id": assignment.explanation.question.external_id,
            "position": "1",
            "comment": "Offensive, \nplease drop.",
            "test_response": "false",
        }
    ]


def test_the_api_serves_the_csv_to_staff_only(staff_client, rated_study):
    listing = staff_client.get("/api/studies/").json()
    assert listing["results"][0]["conditions"][0] == "counterfactual/unrevised"
    response = staff_client.get(f"/api/studies/{rated_study.pk}/ratings/", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    rows = read_csv(b"".join(response.streaming_content).decode())
    assert len(rows) == 100 and list(rows[0]) == RATING_COLUMNS
    with_tests = staff_client.get(f"/api/studies/{rated_study.pk}/ratings/?include_test_responses=true")
    assert len(read_csv(b"".join(with_tests.streaming_content).decode())) == 59 * 5
    client = Client()
    assert client.get(f"/api/studies/{rated_study.pk}/ratings/").status_code == 403
    assert client.get(f"/api/studies/{rated_study.pk}/ratings/", HTTP_ACCEPT="text/csv").status_code == 403
    assert client.get(f"/studies/{rated_study.pk}/export/ratings.csv").status_code == 302  # to the login
    schema = staff_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "text/csv" in schema["paths"]["/api/studies/{id}/ratings/"]["get"]["responses"]["200"]["content"]


def test_the_export_names_participant_statuses_as_the_analysis_expects():
    from studies.analysis.ratings_format import PARTICIPANT_STATUSES
    from studies.models import Participant

    assert tuple(Participant.Status.values) == PARTICIPANT_STATUSES


def test_the_decisions_export_names_advice_as_the_analysis_expects():
    from studies.analysis.decisions_format import ADVICE_KINDS
    from studies.models import Condition

    assert tuple(Condition.Advice.values) == ADVICE_KINDS


def test_the_export_formats_load_without_the_statistics():
    """The web process reads the formats on every start; pandas, scipy and statsmodels load only for an analysis."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, studies.analysis.ratings_format, studies.analysis.decisions_format; "
        "print(sorted({'pandas', 'scipy', 'statsmodels', 'matplotlib'} & set(sys.modules)))"
    )
    root = Path(__file__).resolve().parents[2]
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
