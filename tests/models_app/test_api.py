"""The REST API: list and read runs, launch, cancel and resume them, launch a grid, read predictions."""

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.pagination import PageNumberPagination

from models_app.hyperparameters import TRAINING_DEFAULTS
from models_app.models import GenerationRun, Question, Run, TrainingRun
from tests.models_app.factories import (
    add_questions,
    make_dataset,
    make_inference_run,
    make_teacher_data,
    make_trained_run,
    recorded_teacher,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def dataset():
    dataset = make_dataset(n_questions=3)
    add_questions(dataset, ["v0", "v1", "v2"], split=Question.Split.VALIDATION)
    return dataset


def test_launching_a_generation_run_creates_and_queues_it(
    staff_client, dataset, django_capture_on_commit_callbacks
):
    payload = {
        "teacher": recorded_teacher().pk,
        "dataset": dataset.pk,
        "split": "train",
        "method": "critique_revise",
    }
    with django_capture_on_commit_callbacks() as dispatched:
        response = staff_client.post("/api/generation-runs/", payload, content_type="application/json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["kind"], body["status"], body["method"], body["seed"]) == (
        "generation",
        "queued",
        "critique_revise",
        0,
    )
    assert "launch" not in body and len(dispatched) == 1
    assert GenerationRun.objects.get(pk=body["id"]).created_by == staff_client.user

    refused = staff_client.post(
        "/api/generation-runs/", payload | {"method": "recorded"}, content_type="application/json"
    )
    assert refused.status_code == 400 and "made by importing a file" in refused.json()["method"][0]


def test_training_run_via_api_validates_hyperparameters_and_coverage(staff_client, dataset):
    teacher_data = make_teacher_data(dataset, kinds=("explanation",))
    payload = {
        "dataset": dataset.pk,
        "student": "tiny-t5",
        "method": "multitask",
        "data_variant": "unrevised",
        "seed": 4,
        "generation_runs": [teacher_data.pk],
        "hyperparameters": {"max_steps": 20, "alpha": 0.3},
        "launch": False,
    }
    response = staff_client.post("/api/training-runs/", payload, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "created"
    assert response.json()["hyperparameters"] == TRAINING_DEFAULTS | {"max_steps": 20, "alpha": 0.3}

    bad = staff_client.post(
        "/api/training-runs/",
        payload | {"hyperparameters": {"alpha": 2, "lr": 1}},
        content_type="application/json",
    )
    assert bad.status_code == 400
    messages = bad.json()["hyperparameters"]
    assert any("unknown hyperparameter 'lr'" in m for m in messages) and any(
        "alpha must be at least 0" in m for m in messages
    )

    uncovered = staff_client.post(
        "/api/training-runs/", payload | {"data_variant": "revised"}, content_type="application/json"
    )
    assert uncovered.status_code == 400 and "revised explanation" in uncovered.json()["generation_runs"][0]
    assert TrainingRun.objects.count() == 1


def test_grid_via_api_creates_eight_runs_and_not_again(staff_client, dataset):
    teacher_data = make_teacher_data(dataset)
    grid = {
        "dataset": dataset.pk,
        "generation_runs": [teacher_data.pk],
        "students": ["tiny-t5"],
        "methods": ["multitask", "multitask_counterfactual"],
        "data_variants": ["unrevised", "revised"],
        "seeds": [0, 1],
        "hyperparameters": {"max_steps": 10},
    }
    response = staff_client.post("/api/training-runs/grid/", grid, content_type="application/json")
    assert response.status_code == 201, response.json()
    created = response.json()["created"]
    assert len(created) == 8 and all(run["status"] == "queued" for run in created)
    assert {(r["method"], r["data_variant"], r["seed"]) for r in created} == {
        (m, v, s)
        for m in ("multitask", "multitask_counterfactual")
        for v in ("unrevised", "revised")
        for s in (0, 1)
    }
    assert all(
        r["hyperparameters"]["max_steps"] == 10 and r["generation_runs"] == [teacher_data.pk] for r in created
    )

    again = staff_client.post("/api/training-runs/grid/", grid, content_type="application/json").json()
    assert (len(again["created"]), len(again["existing"])) == (0, 8)
    assert TrainingRun.objects.count() == 8


def test_launch_cancel_and_resume_via_api(staff_client, dataset):
    created = staff_client.post(
        "/api/generation-runs/",
        {
            "teacher": recorded_teacher().pk,
            "dataset": dataset.pk,
            "split": "validation",
            "method": "explain",
            "launch": False,
        },
        content_type="application/json",
    ).json()
    url = f"/api/generation-runs/{created['id']}"
    assert created["status"] == "created"

    assert staff_client.post(f"{url}/launch/").json()["status"] == "queued"
    assert staff_client.post(f"{url}/launch/").status_code == 409
    assert staff_client.post(f"{url}/cancel/").json()["status"] == "cancelled"
    conflict = staff_client.post(f"{url}/cancel/")
    assert conflict.status_code == 409 and "not created, queued or running" in conflict.json()["detail"]
    resumed = staff_client.post(f"{url}/resume/").json()
    assert resumed["status"] == "queued" and resumed["task_id"]
    assert staff_client.post(f"{url}/resume/").status_code == 409

    listing = staff_client.get("/api/generation-runs/?status=queued").json()
    assert [run["id"] for run in listing["results"]] == [created["id"]]
    assert staff_client.get("/api/generation-runs/?status=failed").json()["results"] == []


def test_predictions_of_an_inference_run_page_by_page(staff_client, dataset, monkeypatch):
    monkeypatch.setattr(PageNumberPagination, "page_size", 2)
    training_run = make_trained_run(dataset=dataset, method="counterfactual", data_variant="revised", seed=5)
    run = make_inference_run(training_run, [True, False, True], {"accuracy": 2 / 3, "consistency": 0.5})

    detail = staff_client.get(f"/api/inference-runs/{run.pk}/").json()
    assert (detail["n_predictions"], detail["accuracy"], detail["metrics"]["consistency"]) == (
        3,
        pytest.approx(2 / 3),
        0.5,
    )

    first = staff_client.get(f"/api/inference-runs/{run.pk}/predictions/").json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"]
    v0 = first["results"][0]
    assert v0 == {
        "question_id": "v0",
        "question": "Where is v0?",
        "choices": ["shelf", "box", "car", "desk", "bag"],
        "gold_label": "B",
        "predicted_label": "B",
        "predicted_answer": "box",
        "correct": True,
        "parse_rule": "exact",
        "explanation": "because v0",
        "raw_output": "",
    }
    second = staff_client.get(first["next"]).json()
    assert [p["question_id"] for p in second["results"]] == ["v2"]


def test_token_auth_works_for_staff_and_not_for_others(client, django_user_model, dataset):
    staff = django_user_model.objects.create_user("robot", is_staff=True)
    visitor = django_user_model.objects.create_user("someone")
    staff_token, visitor_token = Token.objects.create(user=staff), Token.objects.create(user=visitor)
    make_trained_run(dataset=dataset)

    ok = client.get("/api/training-runs/", HTTP_AUTHORIZATION=f"Token {staff_token.key}")
    assert ok.status_code == 200 and ok.json()["count"] == 1
    assert (
        client.get("/api/training-runs/", HTTP_AUTHORIZATION=f"Token {visitor_token.key}").status_code == 403
    )
    assert client.get("/api/training-runs/", HTTP_AUTHORIZATION="Token wrong").status_code in (401, 403)
    assert Run.objects.count() == 1


def test_openapi_schema_generates_without_warnings(tmp_path, staff_client):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
    schema = (tmp_path / "schema.yml").read_text()
    for path in (
        "/api/training-runs/grid/",
        "/api/inference-runs/{id}/predictions/",
        "/api/generation-runs/{id}/resume/",
    ):
        assert path in schema
    assert staff_client.get("/api/docs/").status_code == 200
