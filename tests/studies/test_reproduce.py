"""`manage.py reproduce` with tiny settings: the grid it launches, what a rerun does, the errors it gives."""

import json
from io import StringIO
from itertools import product
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from models_app.hyperparameters import TRAINING_DEFAULTS
from models_app.models import Dataset, GenerationRun, InferenceRun, Question, Run, Teacher, TrainingRun
from studies.models import Study
from studies.pipeline import DEMO_DATA, STUDY_CONDITIONS
from training.presets import preset_settings

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parents[1] / "training" / "data"  # 12 train and 3 validation questions
RECORDED = f"recorded:{DATA / 'teacher_train.jsonl'}"
STUDENTS = ("random:t5-tiny", "random:t5-small")
METHODS = ("multitask", "counterfactual", "multitask_counterfactual")
VARIANTS = ("unrevised", "revised")


def reproduce(*args: str) -> str:
    out = StringIO()
    call_command("reproduce", "--data", str(DATA), *args, stdout=out)
    return out.getvalue()


def tiny_grid(*extra: str) -> str:
    return reproduce("--teacher", RECORDED, "--students", *STUDENTS, "--seeds", "0", "1", *extra)


def test_reproduce_queues_one_training_run_per_cell_of_the_grid_with_the_paper_preset():
    out = tiny_grid("--set", "max_steps=20")

    dataset = Dataset.objects.get()
    assert dataset.questions.filter(split=Question.Split.TRAIN).count() == 12
    assert dataset.questions.filter(split=Question.Split.VALIDATION).count() == 3
    recorded = GenerationRun.objects.get()
    assert (recorded.method, recorded.status) == (GenerationRun.Method.RECORDED, Run.Status.SUCCEEDED)

    runs = list(TrainingRun.objects.prefetch_related("generation_runs"))
    assert len(runs) == 2 * 3 * 2 * 2
    assert {(r.student, r.method, r.data_variant, r.seed) for r in runs} == set(
        product(STUDENTS, METHODS, VARIANTS, (0, 1))
    )
    for run in runs:
        assert run.status == Run.Status.QUEUED and run.queue == "gpu"
        assert run.hyperparameters == {
            **TRAINING_DEFAULTS,
            **preset_settings("paper", run.method),
            "max_steps": 20,
        }
        assert [g.pk for g in run.generation_runs.all()] == [recorded.pk]
    assert "Waiting for 24 training run(s) queued" in out


def test_without_overrides_the_runs_get_the_papers_settings_and_seed_0_trains_10000_steps():
    tiny_grid()
    for run in TrainingRun.objects.all():
        steps = 10_000 if run.seed == 0 else 5_000
        assert run.hyperparameters == {
            **TRAINING_DEFAULTS,
            **preset_settings("paper", run.method),
            "max_steps": steps,
        }
    counterfactual = TrainingRun.objects.filter(method="counterfactual").first().hyperparameters
    assert (
        counterfactual["formats"],
        counterfactual["wrong_option"],
        counterfactual["label_max_length"],
    ) == (
        "paper",
        "first",
        256,
    )


def test_the_project_preset_and_the_first_seeds_steps_are_options():
    tiny_grid("--preset", "project", "--first-seed-steps", "40", "--set", "max_steps=20")
    for run in TrainingRun.objects.all():
        assert run.hyperparameters == {**TRAINING_DEFAULTS, "max_steps": 40 if run.seed == 0 else 20}


def test_running_reproduce_again_creates_nothing_new_and_relaunches_a_failed_run():
    tiny_grid("--set", "max_steps=20")
    before = set(Run.objects.values_list("pk", flat=True))
    failed = TrainingRun.objects.order_by("pk").first()
    TrainingRun.objects.filter(pk=failed.pk).update(status=Run.Status.FAILED, error="CUDA out of memory")

    out = tiny_grid("--set", "max_steps=20")

    assert set(Run.objects.values_list("pk", flat=True)) == before
    assert Dataset.objects.count() == 1 and GenerationRun.objects.count() == 1
    failed.refresh_from_db()
    # queued again; the last attempt's error stays shown until the next attempt ends (issue 18)
    assert failed.status == Run.Status.QUEUED and failed.error == "CUDA out of memory"
    assert f"relaunching (failed before) training run #{failed.pk}" in out
    assert "imported earlier, reused" in out and "already imported" in out


def test_with_a_live_teacher_it_first_queues_the_teacher_generation_and_waits_for_it():
    out = reproduce("--teacher", "openai:llama3.1-70b", "--base-url", "http://gpu-host:8000/v1")

    teacher = Teacher.objects.get()
    assert (teacher.backend, teacher.model, teacher.base_url) == (
        "openai",
        "llama3.1-70b",
        "http://gpu-host:8000/v1",
    )
    runs = GenerationRun.objects.order_by("pk")
    assert [(r.method, r.split, r.status) for r in runs] == [
        ("critique_revise", "train", "queued"),
        ("option_explanations", "train", "queued"),
    ]
    assert not TrainingRun.objects.exists()
    assert "Waiting for 2 generation run(s) queued" in out

    reproduce("--teacher", "openai:llama3.1-70b", "--base-url", "http://gpu-host:8000/v1")
    assert GenerationRun.objects.count() == 2


@pytest.mark.parametrize(
    "args, message",
    [
        ((), "say which teacher writes the explanations"),
        (("--teacher", RECORDED, "--set", "max_stepz=3"), "unknown hyperparameter 'max_stepz'"),
        (
            ("--teacher", RECORDED, "--set", "score_unmatched_answers=1"),
            "score_unmatched_answers must be true or false, got 1",
        ),
        (("--teacher", RECORDED, "--set", "bf16=yes"), "bf16 must be true, false or null, got 'yes'"),
        (
            ("--teacher", RECORDED, "--methods", "multitask"),
            "the study needs students trained for counterfactual",
        ),
        (("--teacher", "smollm2"), "a teacher is BACKEND:MODEL or a JSON spec file"),
        (("--teacher", RECORDED, "--set", "max_steps"), "--set expects NAME=VALUE, got 'max_steps'"),
        (
            ("--teacher", RECORDED, "--set", "missing_teacher=ignore"),
            "missing_teacher must be one of error, skip",
        ),
    ],
)
def test_bad_options_are_refused_with_a_reason(args, message):
    with pytest.raises(CommandError, match=message):
        reproduce(*args)
    assert not Run.objects.exists()


def test_another_folder_of_the_same_name_is_not_taken_for_the_imported_one(tmp_path):
    tiny_grid()
    other = tmp_path / DATA.name
    other.mkdir()
    for name in ("cqa_train.jsonl", "cqa_validation.jsonl"):
        (other / name).write_text((DATA / name).read_text())

    with pytest.raises(CommandError, match=f"imported from {DATA}/cqa_train.jsonl, not from {other}"):
        call_command("reproduce", "--data", str(other), "--teacher", RECORDED, stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_with_wait_it_follows_the_workers_until_the_study_is_open(
    celery_worker, tiny_lm_dir, tmp_path, settings
):
    """The whole grid on a real Celery worker: teacher, 6 tiny students, their predictions, then the study."""
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    teacher = tmp_path / "teacher.json"
    teacher.write_text(
        json.dumps({"backend": "transformers", "model": str(tiny_lm_dir), "decoding": {"max_new_tokens": 8}})
    )
    tiny = [
        "max_steps=120",
        "eval_every=60",
        "learning_rate=0.003",
        "batch_size=8",
        "score_unmatched_answers=true",
    ]
    out = StringIO()
    call_command(
        "reproduce",
        *(
            "--data",
            str(DEMO_DATA),
            "--limit",
            "5",
            "--teacher",
            str(teacher),
            "--students",
            "random:t5-tiny",
        ),
        *("--seeds", "0", "--wait", "--poll", "0.5", *(arg for pair in tiny for arg in ("--set", pair))),
        stdout=out,
    )

    assert [r.status for r in Run.objects.all()] == ["succeeded"] * (2 + 6 + 6)
    assert TrainingRun.objects.count() == 6 and InferenceRun.objects.count() == 6
    study = Study.objects.get()
    assert study.status == Study.Status.OPEN and not study.allow_anonymous  # entered from Prolific
    assert list(study.conditions.order_by("position").values_list("name", flat=True)) == [
        f"{method}/{variant}" for method, variant in STUDY_CONDITIONS
    ]
    assert f"Study #{study.pk} is open: entry link /s/{study.entry_token}/" in out.getvalue()


def test_a_word_valued_setting_is_taken_as_the_word():
    tiny_grid("--set", "max_steps=20", "--set", "missing_teacher=skip")
    assert {run.hyperparameters["missing_teacher"] for run in TrainingRun.objects.all()} == {"skip"}


def test_decoder_only_students_get_the_extensions_settings_each_an_option():
    reproduce(
        "--teacher", RECORDED, "--students", "random:t5-tiny", "Qwen/Qwen3-0.6B", "--seeds", "0", "1",
        "--set", "max_steps=20",
    )  # fmt: skip
    runs = {
        (r.student, r.method, r.data_variant, r.seed): r.hyperparameters for r in TrainingRun.objects.all()
    }
    assert len(runs) == 2 * 3 * 2 * 2
    extension = {
        "batch_size": 32,  # 8 questions a micro-batch × 4 accumulation steps
        "gradient_accumulation_steps": 4,
        "max_length": 1024,
        "learning_rate": 5e-5,
        "eval_every": 250,
        "loss_on_prompt": True,  # the paper preset's loss for causal students: prompt and completion
    }
    for (student, method, _, _), values in runs.items():
        expected = {**TRAINING_DEFAULTS, **preset_settings("paper", method), "max_steps": 20}
        if student == "Qwen/Qwen3-0.6B":
            expected |= extension
        assert values == expected, student

    TrainingRun.objects.all().delete()
    reproduce(
        "--teacher", RECORDED, "--students", "Qwen/Qwen3-0.6B", "--seeds", "0",
        "--set", "max_steps=20", "--causal-micro-batch", "2", "--causal-max-length", "512",
        "--causal-learning-rate", "1e-4", "--causal-eval-every", "10", "--causal-gradient-accumulation-steps", "2",
        "--preset", "project",
    )  # fmt: skip
    values = TrainingRun.objects.first().hyperparameters
    assert (values["batch_size"], values["gradient_accumulation_steps"], values["max_length"]) == (4, 2, 512)
    assert (values["learning_rate"], values["eval_every"], values["loss_on_prompt"]) == (1e-4, 10, False)
