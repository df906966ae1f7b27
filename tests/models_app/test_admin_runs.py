"""Researchers create, launch, cancel and resume runs, and launch a grid, from the admin."""

import json

import pytest
from django.utils.html import escape

from models_app.hyperparameters import TRAINING_DEFAULTS
from models_app.models import GenerationRun, InferenceRun, Question, Run, Teacher, TrainingRun
from tests.conftest import wait_for
from tests.models_app.factories import (
    add_questions,
    make_dataset,
    make_generation_run,
    make_teacher_data,
    make_trained_run,
    make_training_run,
    recorded_row,
    recorded_teacher,
    write_jsonl,
)
from training.config import TrainConfig


@pytest.fixture
def dataset(db):
    dataset = make_dataset(n_questions=4)
    add_questions(dataset, ["v0", "v1"], split=Question.Split.VALIDATION)
    return dataset


@pytest.fixture
def teacher_data(dataset):
    return make_teacher_data(dataset)


def changelist_action(client, model: str, action: str, runs, **extra):
    return client.post(
        f"/admin/models_app/{model}/",
        {"action": action, "_selected_action": [run.pk for run in runs], **extra},
        follow=True,
    )


@pytest.mark.django_db
def test_generation_run_is_created_and_queued_from_the_admin_form(
    staff_client, dataset, django_capture_on_commit_callbacks
):
    page = staff_client.get("/admin/models_app/generationrun/add/")
    assert b"Launch now" in page.content and b'value="recorded"' not in page.content

    with django_capture_on_commit_callbacks() as dispatched:
        response = staff_client.post(
            "/admin/models_app/generationrun/add/",
            {
                "name": "explain train",
                "teacher": recorded_teacher().pk,
                "dataset": dataset.pk,
                "split": "train",
                "method": "explain",
                "seed": 3,
                "launch": "on",
            },
        )
    assert response.status_code == 302, (
        response.context["adminform"].form.errors if response.context else response
    )
    run = GenerationRun.objects.get()
    assert (run.method, run.split, run.seed, run.dataset, run.created_by) == (
        "explain",
        "train",
        3,
        dataset,
        staff_client.user,
    )
    assert run.status == Run.Status.QUEUED and run.task_id
    assert len(dispatched) == 1  # handed to the broker once the transaction commits


@pytest.mark.django_db
def test_training_form_refuses_generation_runs_that_do_not_cover_the_data_variant(staff_client, dataset):
    explanations_only = make_teacher_data(dataset, kinds=("explanation",))
    form = {
        "name": "",
        "dataset": dataset.pk,
        "student": "tiny-t5",
        "method": "multitask",
        "data_variant": "revised",
        "seed": 0,
        "generation_runs": [explanations_only.pk],
        "hyperparameters": "{}",
        "launch": "on",
    }
    page = staff_client.post("/admin/models_app/trainingrun/add/", form)
    assert page.status_code == 200
    assert "needs a teacher revised explanation for every train question" in page.content.decode()
    assert "lack it (or it is empty) for 4 of 4" in page.content.decode()
    assert not TrainingRun.objects.exists()

    page = staff_client.post(
        "/admin/models_app/trainingrun/add/",
        form | {"data_variant": "unrevised", "hyperparameters": '{"max_stepz": 3}'},
    )
    assert "unknown hyperparameter &#x27;max_stepz&#x27;" in page.content.decode()
    assert not TrainingRun.objects.exists()


@pytest.mark.django_db
def test_training_run_from_the_admin_keeps_the_full_hyperparameters_and_can_wait_to_be_launched(
    staff_client, dataset, teacher_data
):
    page = staff_client.get("/admin/models_app/trainingrun/add/")
    assert (
        "&quot;learning_rate&quot;: 5e-05" in page.content.decode()
    )  # the paper's defaults are the starting point

    response = staff_client.post(
        "/admin/models_app/trainingrun/add/",
        {
            "name": "cf revised",
            "dataset": dataset.pk,
            "student": "tiny-t5",
            "method": "counterfactual",
            "data_variant": "revised",
            "seed": 2,
            "generation_runs": [teacher_data.pk],
            "hyperparameters": '{"max_steps": 40, "batch_size": 4}',
        },
    )
    assert response.status_code == 302, (
        response.context["adminform"].form.errors if response.context else response
    )
    run = TrainingRun.objects.get()
    assert run.status == Run.Status.CREATED and not run.task_id
    assert run.hyperparameters == TRAINING_DEFAULTS | {"max_steps": 40, "batch_size": 4}
    assert list(run.generation_runs.all()) == [teacher_data]

    changelist_action(staff_client, "trainingrun", "launch_selected", [run])
    run.refresh_from_db()
    assert run.status == Run.Status.QUEUED and run.task_id


@pytest.mark.django_db
def test_inference_run_needs_a_succeeded_training_run_with_that_checkpoint(staff_client, dataset):
    trained = make_trained_run(dataset=dataset)
    make_trained_run(dataset=dataset, status=Run.Status.FAILED)  # not offered
    page = staff_client.get("/admin/models_app/inferencerun/add/")
    assert (
        page.content.decode().count("<option value=") - page.content.decode().count('<option value=""')
        == 1
        + 2
        + 1
        + len(Question.Split.values)  # run, checkpoint roles, dataset, splits (train/validation/test)
    )

    response = staff_client.post(
        "/admin/models_app/inferencerun/add/",
        {
            "training_run": trained.pk,
            "checkpoint_role": "best",
            "dataset": "",
            "split": "validation",
            "launch": "on",
        },
    )
    assert response.status_code == 302, (
        response.context["adminform"].form.errors if response.context else response
    )
    run = InferenceRun.objects.get()
    assert (run.training_run, run.dataset, run.split, run.status) == (
        trained,
        dataset,
        "validation",
        "queued",
    )


@pytest.mark.django_db
def test_cancel_and_resume_from_the_admin(staff_client, dataset):
    running = make_generation_run(dataset=dataset, status=Run.Status.RUNNING, task_id="first")

    changelist_action(staff_client, "generationrun", "cancel_selected", [running])
    running.refresh_from_db()
    assert running.status == Run.Status.CANCELLED

    page = changelist_action(staff_client, "generationrun", "relaunch_selected", [running])
    running.refresh_from_db()
    assert b"Launched 1 run(s) again." in page.content
    assert running.status == Run.Status.QUEUED and running.task_id != "first"

    page = changelist_action(staff_client, "generationrun", "relaunch_selected", [running])
    assert b"only finished runs can be launched again" in page.content


@pytest.mark.django_db
def test_a_failed_run_shows_its_error_in_the_list_and_on_its_page(staff_client, dataset):
    error = "ConnectionError: teacher server at http://gpu:8000/v1 refused the connection\n\nTraceback (most recent call last):\n  File ..."
    run = make_generation_run(
        dataset=dataset, status=Run.Status.FAILED, error=error, log_tail="10:00:01 started\n10:00:02 failed"
    )

    listing = staff_client.get("/admin/models_app/generationrun/").content.decode()
    assert "ConnectionError: teacher server at http://gpu:8000/v1 refused the connection" in listing
    assert "10:00:02 failed" in listing
    page = staff_client.get(f"/admin/models_app/generationrun/{run.pk}/change/").content.decode()
    assert "Traceback (most recent call last)" in page
    assert 'name="teacher"' not in page  # settings of a saved run are read-only


@pytest.mark.django_db
def test_grid_action_creates_one_training_run_per_cell_with_the_right_settings(
    staff_client, dataset, teacher_data
):
    intermediate = changelist_action(staff_client, "generationrun", "launch_training_grid", [teacher_data])
    assert b"Launch a training grid" in intermediate.content and b"tiny-cqa" in intermediate.content

    grid = {
        "apply": "1",
        "students": "tiny-t5\n",
        "methods": ["multitask", "counterfactual"],
        "data_variants": ["unrevised", "revised"],
        "seeds": "0-1",
        "hyperparameters": json.dumps({"max_steps": 30}),
        "launch": "on",
    }
    page = changelist_action(staff_client, "generationrun", "launch_training_grid", [teacher_data], **grid)
    assert b"Launched 8 training run(s)." in page.content

    runs = TrainingRun.objects.all()
    assert sorted((r.method, r.data_variant, r.seed) for r in runs) == sorted(
        (m, v, s) for m in ("multitask", "counterfactual") for v in ("unrevised", "revised") for s in (0, 1)
    )
    for run in runs:
        assert run.student == "tiny-t5" and run.dataset == dataset and run.status == Run.Status.QUEUED
        assert run.hyperparameters == TRAINING_DEFAULTS | {"max_steps": 30}
        assert list(run.generation_runs.all()) == [teacher_data]
        assert run.created_by == staff_client.user

    page = changelist_action(staff_client, "generationrun", "launch_training_grid", [teacher_data], **grid)
    assert b"Launched 0 training run(s). 8 with the same settings existed already" in page.content
    assert TrainingRun.objects.count() == 8


@pytest.mark.django_db
def test_the_grid_offers_lora_and_tracking_like_any_other_hyperparameter(staff_client, dataset, teacher_data):
    intermediate = changelist_action(staff_client, "generationrun", "launch_training_grid", [teacher_data])
    for name in (
        "lora_rank",
        "lora_alpha",
        "lora_dropout",
        "lora_target_modules",
        "report_to",
        "loss_on_prompt",
    ):
        assert name in intermediate.content.decode()
    grid = {
        "apply": "1",
        "students": "smollm2\n",
        "methods": ["multitask"],
        "data_variants": ["unrevised"],
        "seeds": "0",
        "launch": "on",
    }
    lora = {
        "lora_rank": 8,
        "lora_alpha": 16,
        "lora_target_modules": "q_proj, v_proj",
        "report_to": "tensorboard",
    }
    page = changelist_action(
        staff_client,
        "generationrun",
        "launch_training_grid",
        [teacher_data],
        hyperparameters=json.dumps(lora),
        **grid,
    )
    assert b"Launched 1 training run(s)." in page.content
    stored = TrainingRun.objects.get().hyperparameters
    assert stored == TRAINING_DEFAULTS | lora | {"lora_alpha": 16.0, "lora_target_modules": "q_proj, v_proj"}
    assert TrainConfig(**stored).lora_modules == ("q_proj", "v_proj")
    page = changelist_action(
        staff_client,
        "generationrun",
        "launch_training_grid",
        [teacher_data],
        hyperparameters=json.dumps({"lora_rank": -1, "lora_target_modules": 3, "report_to": "neptune"}),
        **grid,
    )
    content = page.content.decode()
    assert "lora_rank must be at least 0" in content and "lora_target_modules must be a text" in content
    assert TrainingRun.objects.count() == 1


@pytest.mark.django_db
def test_grid_on_teacher_data_without_option_explanations_refuses_counterfactual_cells(staff_client, dataset):
    no_options = make_teacher_data(dataset, kinds=("explanation",))
    page = changelist_action(
        staff_client,
        "generationrun",
        "launch_training_grid",
        [no_options],
        apply="1",
        students="tiny-t5",
        methods=["standard", "counterfactual"],
        data_variants=["unrevised"],
        seeds="0",
        hyperparameters="{}",
    )
    assert (
        "counterfactual/unrevised: counterfactual/unrevised needs a teacher option explanation"
        in page.content.decode()
    )
    assert not TrainingRun.objects.exists()


@pytest.mark.django_db
def test_people_who_are_not_staff_get_403_and_visitors_are_asked_to_log_in(plain_client, client, dataset):
    for url in (
        "/admin/",
        "/admin/models_app/trainingrun/",
        "/admin/models_app/dataset/import/",
        "/runs/results/",
    ):
        assert plain_client.get(url).status_code == 403, url
    for url in ("/api/runs/", "/api/training-runs/", "/api/teachers/", "/api/inference-runs/"):
        assert plain_client.get(url).status_code == 403, url
    assert plain_client.post("/api/training-runs/grid/", {}).status_code == 403
    plain_client.logout()
    assert client.get("/runs/results/").status_code == 302
    assert client.get("/admin/models_app/trainingrun/").status_code == 302
    assert client.get("/api/training-runs/").status_code == 403


@pytest.mark.django_db
def test_a_teachers_api_key_is_never_in_a_response(staff_client, dataset, monkeypatch):
    secret = "sk-live-7f3a9c1e5b2d4f6a8c0e"
    monkeypatch.setenv("VLLM_API_KEY", secret)
    from models_app.models import Teacher

    teacher = Teacher.objects.create(
        name="vllm",
        backend="openai",
        model="llama-2-70b-chat",
        base_url="http://gpu:8000/v1",
        api_key_env="VLLM_API_KEY",
    )
    run = make_generation_run(dataset=dataset, teacher=teacher, status=Run.Status.FAILED, error="HTTP 401")
    urls = [
        "/admin/models_app/teacher/",
        f"/admin/models_app/teacher/{teacher.pk}/change/",
        f"/admin/models_app/generationrun/{run.pk}/change/",
        "/api/teachers/",
        f"/api/generation-runs/{run.pk}/",
        "/api/schema/",
        "/runs/results/",
        "/runs/results.csv",
    ]
    for url in urls:
        response = staff_client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == 200, url
        assert secret.encode() not in body, url
    assert b"VLLM_API_KEY" in staff_client.get("/api/teachers/").content  # the name, never the value


@pytest.mark.django_db(transaction=True)
def test_a_run_launched_from_the_admin_is_run_by_a_celery_worker_through_redis(
    celery_worker, staff_client, settings, tmp_path
):
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    dataset = make_dataset(n_questions=3)
    outputs = write_jsonl(tmp_path / "teacher.jsonl", [recorded_row(f"q{i}") for i in range(3)])
    teacher = Teacher.objects.create(name="llama2 (recorded)", backend="recorded", model=str(outputs))
    response = staff_client.post(
        "/admin/models_app/generationrun/add/",
        {
            "teacher": teacher.pk,
            "dataset": dataset.pk,
            "split": "train",
            "method": "option_explanations",
            "seed": 0,
            "launch": "on",
        },
    )
    assert response.status_code == 302
    run = GenerationRun.objects.get()

    wait_for(
        lambda: Run.objects.get(pk=run.pk).status in Run.FINISHED_STATUSES,
        what="the worker to finish the run",
    )
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert (run.progress_done, run.progress_total, run.outputs.count()) == (15, 15, 15)
    assert b"succeeded" in staff_client.get("/admin/models_app/generationrun/").content


@pytest.mark.django_db
def test_every_admin_page_of_runs_and_data_opens(staff_client, dataset, teacher_data):
    trained = make_trained_run(dataset=dataset, generation_runs=[teacher_data])
    inference = InferenceRun.objects.create(
        training_run=trained, dataset=dataset, metrics={"consistency": 0.5}
    )
    output = teacher_data.outputs.first()
    pages = {
        "dataset": dataset.pk,
        "question": dataset.questions.first().pk,
        "teacher": teacher_data.teacher_id,
        "generationrun": teacher_data.pk,
        "teacheroutput": output.pk,
        "trainingrun": trained.pk,
        "inferencerun": inference.pk,
        "run": trained.pk,
    }
    for model, pk in pages.items():
        for url in (f"/admin/models_app/{model}/", f"/admin/models_app/{model}/{pk}/change/"):
            assert staff_client.get(url).status_code == 200, url
    for model in ("generationrun", "trainingrun", "inferencerun", "dataset", "teacher"):
        assert staff_client.get(f"/admin/models_app/{model}/add/").status_code == 200, model
    trained_page = staff_client.get(f"/admin/models_app/trainingrun/{trained.pk}/change/").content.decode()
    assert f"/ckpt/{trained.pk}/best" in trained_page  # its checkpoints
    assert f"/admin/models_app/inferencerun/?training_run={trained.pk}" in trained_page
    listing = staff_client.get("/admin/models_app/generationrun/").content.decode()
    assert (
        f"/admin/models_app/teacheroutput/?generation_run={teacher_data.pk}" in listing and ">28<" in listing
    )
    assert (
        staff_client.get(f"/admin/models_app/teacheroutput/?generation_run={teacher_data.pk}").status_code
        == 200
    )
    assert staff_client.get(f"/admin/models_app/prediction/?inference_run={inference.pk}").status_code == 200


def test_a_training_runs_page_shows_what_its_student_is_fed_for_one_question(
    staff_client, dataset, teacher_data
):
    from training.presets import preset_settings

    run = make_training_run(
        dataset=dataset,
        generation_runs=[teacher_data],
        method="multitask_counterfactual",
        hyperparameters=TRAINING_DEFAULTS | preset_settings("paper", "multitask_counterfactual"),
    )
    page = staff_client.get(f"/admin/models_app/trainingrun/{run.pk}/change/").content.decode()
    choices = "(a) shelf (b) box (c) car (d) desk (e) bag"
    # Question q0 (gold: box), in the study's formats, shown as JSON strings.
    expected = [
        f'"[predict] Question: Where is thing 0?\\nChoices: {choices} "',
        '"[answer] The answer is box"',
        '"explanation  of q0"',
        '"[factual] Answer: option_explanation B of q0 So the answer is box."',
        f'"[counterfactual] Question: Where is thing 0?\\nChoices: {choices}\\\\Rationale: option_explanation A of q0 "',
        '"[counterfactual] So the answer is shelf."',
    ]
    for text in expected:
        assert escape(text) in page
