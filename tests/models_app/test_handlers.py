"""The real jobs: teacher generation, student training and inference, launched from the admin or run in-process."""

import threading
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from models_app import jobs, services
from models_app.models import (
    Checkpoint,
    GenerationRun,
    InferenceRun,
    Prediction,
    Question,
    Run,
    RunAttempt,
    Teacher,
    TeacherOutput,
    TrainingRun,
)
from tests.conftest import wait_for
from tests.models_app.factories import (
    QUESTIONS,
    add_questions,
    make_dataset,
    make_generation_run,
    make_teacher_data,
    make_trained_run,
    make_training_run,
    new_run,
    recorded_row,
    write_jsonl,
)

TINY = {"max_steps": 4, "batch_size": 4, "eval_every": 2, "max_length": 64, "max_new_tokens": 12}


@pytest.fixture(autouse=True)
def artifacts(settings, tmp_path):
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    return settings.ARTIFACTS_DIR


@pytest.fixture
def dataset(db):
    dataset = make_dataset(n_questions=0)
    for qid, text, choices, key in QUESTIONS:
        Question.objects.create(
            dataset=dataset, external_id=qid, split="train", text=text, choices=choices, answer_key=key
        )
    add_questions(dataset, ["v0", "v1", "v2"], split=Question.Split.VALIDATION)
    return dataset


def recorded_file_teacher(tmp_path: Path, ids: list[str]) -> Teacher:
    path = write_jsonl(tmp_path / "teacher.jsonl", [recorded_row(qid, critique=True) for qid in ids])
    return Teacher.objects.create(name="llama2 (recorded)", backend="recorded", model=str(path))


def test_generation_stores_every_output_with_its_provenance_and_a_relaunch_only_fills_the_gaps(
    dataset, tmp_path
):
    teacher = recorded_file_teacher(tmp_path, [q[0] for q in QUESTIONS])
    run = new_run(GenerationRun(teacher=teacher, dataset=dataset, split="train", method="critique_revise"))
    lines = []
    assert services.run_in_process(run=run, echo=lines.append) == Run.Status.SUCCEEDED

    outputs = TeacherOutput.objects.filter(generation_run=run)
    assert outputs.count() == len(QUESTIONS) * 3  # explanation, critique, revised explanation
    revised = outputs.get(question__external_id="q2", kind="revised_explanation")
    assert revised.text == "The answer is box: boxes hold q2."
    assert (
        revised.params["method"] == "critique_revise" and revised.params["teacher"]["backend"] == "recorded"
    )
    assert any("18 generated" in line for line in lines)
    run.refresh_from_db()
    assert (run.progress_done, run.progress_total) == (18, 18)

    revised.delete()
    assert services.run_in_process(run=run) == Run.Status.SUCCEEDED
    assert outputs.count() == len(QUESTIONS) * 3
    run.refresh_from_db()
    assert "1 generated, 17 already stored" in run.log_tail


def test_generation_with_a_teacher_that_cannot_be_reached_fails_and_says_why(dataset):
    teacher = Teacher.objects.create(
        name="vllm",
        backend="openai",
        model="llama3",
        base_url="http://127.0.0.1:9/v1",
        decoding={"max_new_tokens": 8},
    )
    run = new_run(GenerationRun(teacher=teacher, dataset=dataset, split="train", method="explain"))
    assert services.run_in_process(run=run) == Run.Status.FAILED
    run.refresh_from_db()
    assert "127.0.0.1:9" in run.error
    assert not TeacherOutput.objects.exists()

    Teacher.objects.filter(pk=teacher.pk).update(decoding={"max_new_tokenz": 8})
    assert services.run_in_process(run=run) == Run.Status.FAILED
    run.refresh_from_db()
    assert "teacher 'vllm' is not usable" in run.error and "max_new_tokenz" in run.error


@pytest.mark.django_db(transaction=True)
def test_a_tiny_training_run_launched_from_the_admin_is_trained_by_a_celery_worker_then_predicts(
    celery_worker, staff_client, dataset
):
    teacher_data = make_teacher_data(dataset)
    response = staff_client.post(
        "/admin/models_app/trainingrun/add/",
        {
            "name": "tiny multitask",
            "dataset": dataset.pk,
            "student": "random:t5-tiny",
            "method": "multitask",
            "data_variant": "unrevised",
            "seed": 0,
            "generation_runs": [teacher_data.pk],
            "hyperparameters": str(TINY).replace("'", '"'),
            "launch": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    run = TrainingRun.objects.get()
    wait_for(lambda: Run.objects.get(pk=run.pk).status in Run.FINISHED_STATUSES, timeout=240, what="training")
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert (run.progress_done, run.progress_total) == (4, 4)
    assert run.steps_per_second > 0 and run.wall_seconds > 0 and run.peak_memory_bytes > 0
    assert any("loss" in entry for entry in run.history)
    assert run.eval_accuracy is not None
    best = Checkpoint.objects.get(training_run=run, role="best")
    assert Path(best.path).is_dir() and best.path == run.best_checkpoint
    assert Path(run.last_checkpoint).is_dir()

    # The teacher also explained the options of the test questions: the counterfactual probe uses them.
    options = make_generation_run(
        dataset=dataset,
        teacher=teacher_data.teacher,
        split="validation",
        method="recorded",
        status="succeeded",
    )
    TeacherOutput.objects.bulk_create(
        TeacherOutput(
            generation_run=options, question=q, kind="option_explanation", option_label=label, text=text
        )
        for q in dataset.questions.filter(split="validation")
        for label, text in zip("ABCDE", q.choices, strict=True)
    )
    response = staff_client.post(
        "/admin/models_app/inferencerun/add/",
        {
            "name": "",
            "training_run": run.pk,
            "checkpoint_role": "best",
            "dataset": dataset.pk,
            "split": "validation",
            "launch": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    inference = InferenceRun.objects.get()
    wait_for(
        lambda: Run.objects.get(pk=inference.pk).status in Run.FINISHED_STATUSES,
        timeout=120,
        what="inference",
    )
    inference.refresh_from_db()
    assert inference.status == Run.Status.SUCCEEDED, inference.error
    assert Prediction.objects.filter(inference_run=inference).count() == 3
    assert inference.metrics["questions"] == 3 and 0 <= inference.metrics["accuracy"] <= 1
    assert inference.metrics["mode"] == "predict_explain"
    assert inference.metrics["counterfactual_probes"] == 3
    assert 0 <= inference.metrics["counterfactual_flip_rate"] <= 1
    csv = b"".join(staff_client.get(f"/runs/inference/{inference.pk}/predictions.csv").streaming_content)
    assert csv.count(b"\n") == 4


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_training_run_stops_with_a_checkpoint_and_a_relaunch_resumes_it(dataset, monkeypatch):
    monkeypatch.setattr(jobs, "PROGRESS_WRITE_INTERVAL", 0)  # see the cancellation at the next step
    teacher_data = make_teacher_data(dataset)
    run = new_run(
        TrainingRun(
            dataset=dataset,
            student="random:t5-tiny",
            method="counterfactual",
            data_variant="revised",
            hyperparameters=TINY | {"max_steps": 200, "eval_every": 200},
        ),
        generation_runs=[teacher_data],
    )
    finished = []

    def train_in_background():
        try:
            finished.append(services.run_in_process(run=run))
        finally:
            connection.close()

    worker = threading.Thread(target=train_in_background)
    worker.start()
    wait_for(lambda: Run.objects.get(pk=run.pk).progress_done >= 2, timeout=120, what="a few steps")
    services.cancel_run(run=run)
    worker.join(60)
    assert finished == [Run.Status.CANCELLED]
    run.refresh_from_db()
    stopped_at = Checkpoint.objects.get(training_run=run, role="last").step
    assert 2 <= stopped_at < 200 and Path(run.last_checkpoint).is_dir()
    cancelled_at = run.last_checkpoint
    # As if the attempt had gone on 5 steps past its checkpoint before dying: those steps are trained again.
    Run.objects.filter(pk=run.pk).update(progress_done=stopped_at + 5)

    assert services.run_in_process(run=run) == Run.Status.SUCCEEDED
    run.refresh_from_db()
    assert f"resuming from {cancelled_at}" in run.log_tail
    assert Checkpoint.objects.get(training_run=run, role="last").step == 200
    # Issue 18: each attempt's progress counts from where it resumed; the run's totals cover both attempts.
    first, second = RunAttempt.objects.filter(run=run).order_by("number")
    assert (first.progress_to, second.progress_from, second.progress_to) == (stopped_at, stopped_at, 200)
    assert run.wall_seconds == pytest.approx(first.wall_seconds + second.wall_seconds, rel=0.5)
    assert run.steps_per_second == pytest.approx(200 / run.wall_seconds)


def test_inference_without_its_checkpoint_on_disk_fails_and_names_it(dataset):
    trained = make_trained_run(dataset=dataset)
    run = new_run(InferenceRun(training_run=trained, dataset=dataset, split="validation"))
    assert services.run_in_process(run=run) == Run.Status.FAILED
    run.refresh_from_db()
    assert f"/ckpt/{trained.pk}/best" in run.error and "is missing" in run.error


def test_a_run_that_is_running_already_is_not_started_twice(dataset):
    run = make_training_run(dataset=dataset, status=Run.Status.RUNNING)
    with pytest.raises(ValueError, match="running already"):
        services.run_in_process(run=run)
    assert Run.objects.get(pk=run.pk).status == Run.Status.RUNNING


def test_an_empty_teacher_output_is_refused_before_launch_unless_the_run_skips_those_questions(dataset):
    teacher_data = make_teacher_data(dataset)
    TeacherOutput.objects.filter(question__external_id="q1", kind="revised_explanation").update(text=" ")
    settings = dict(dataset=dataset, student="random:t5-tiny", method="multitask", data_variant="revised")
    with pytest.raises(ValidationError, match=r"lack it \(or it is empty\) for 1 of 6 \(e.g. q1\)"):
        new_run(TrainingRun(**settings, hyperparameters=TINY), generation_runs=[teacher_data])

    run = new_run(
        TrainingRun(**settings, hyperparameters=TINY | {"missing_teacher": "skip"}),
        generation_runs=[teacher_data],
    )
    assert services.run_in_process(run=run) == Run.Status.SUCCEEDED
    run.refresh_from_db()
    assert "left out 1 question(s) without the teacher data they need (q1" in run.log_tail


def test_a_run_trains_into_a_folder_of_its_own_even_where_an_earlier_database_left_one_of_the_same_id(
    dataset, artifacts
):
    """Issue 12, failure 4: ARTIFACTS_DIR/runs/<id> of an earlier database (the SQLite demo, a reset) made a
    fresh database's run with the same id fail with "holds a run with other settings"."""
    teacher_data = make_teacher_data(dataset)
    run = new_run(
        TrainingRun(
            dataset=dataset,
            student="random:t5-tiny",
            method="multitask",
            data_variant="unrevised",
            hyperparameters=TINY | {"max_steps": 2, "eval_every": 2},
        ),
        generation_runs=[teacher_data],
    )
    earlier = artifacts / "runs" / str(run.pk)  # what a run with this id in another database wrote
    earlier.mkdir(parents=True)
    (earlier / "run_config.json").write_text('{"method": "standard", "max_steps": 5000}')
    assert services.run_in_process(run=run) == Run.Status.SUCCEEDED, Run.objects.get(pk=run.pk).error
    run.refresh_from_db()
    assert not Path(run.last_checkpoint).is_relative_to(earlier)
    assert (earlier / "run_config.json").read_text() == '{"method": "standard", "max_steps": 5000}'


@pytest.mark.parametrize(
    ("method", "weights"),
    [("multitask_counterfactual", {"gamma": 1.0}), ("multitask", {"alpha": 1.0})],
)
def test_a_run_whose_weights_switch_off_the_tasks_that_read_teacher_outputs_needs_none_of_them(
    dataset, method, weights
):
    """Issue 14: what a run needs from the teacher follows from its loss weights, not from its method's name:
    with gamma = 1 the combined method trains only predict and explain, so no option explanations are needed;
    with alpha = 1 multitask trains only predict, so no explanations at all."""
    kinds = ("explanation",) if method == "multitask_counterfactual" else ()
    teacher_data = make_teacher_data(dataset, kinds=kinds)
    settings = dict(dataset=dataset, student="random:t5-tiny", method=method, data_variant="unrevised")
    with pytest.raises(ValidationError, match="needs a teacher"):
        new_run(TrainingRun(**settings, hyperparameters=TINY), generation_runs=[teacher_data])

    run = new_run(TrainingRun(**settings, hyperparameters=TINY | weights), generation_runs=[teacher_data])
    assert services.run_in_process(run=run) == Run.Status.SUCCEEDED, Run.objects.get(pk=run.pk).error
