"""What a run may be set to, checked the same way whichever door it comes through (admin form, API, grid).

Each `check_*` function raises `ValidationError` with a message per field, naming what is wrong and how to fix it.
"""

from collections.abc import Sequence

from django.core.exceptions import ValidationError

from training.config import TrainConfig

from .hyperparameters import normalize_hyperparameters
from .models import (
    Checkpoint,
    Dataset,
    GenerationRun,
    InferenceRun,
    Question,
    Run,
    Teacher,
    TeacherOutput,
    TrainingRun,
)
from .selectors import questions_missing_output_kind


def _require_questions(dataset: Dataset, split: str, field: str = "dataset") -> None:
    if not Question.objects.filter(dataset=dataset, split=split).exists():
        raise ValidationError(
            {
                field: f"dataset {dataset} has no {split} questions; import them first (Datasets → Import questions)."
            }
        )


def check_generation_settings(*, teacher: Teacher, dataset: Dataset, split: str, method: str) -> None:
    if method not in GenerationRun.LAUNCHABLE_METHODS:
        raise ValidationError(
            {
                "method": f"{method!r} runs are made by importing a file, not launched; choose one of "
                f"{', '.join(GenerationRun.LAUNCHABLE_METHODS)}."
            }
        )
    _require_questions(dataset, split)


def required_output_kinds(*, method: str, data_variant: str, hyperparameters: dict) -> list[str]:
    """Teacher output kinds a training run needs for every train question: the library's answer for its settings
    (a combined run with gamma = 1 trains only on the multitask tasks, and needs no option explanations)."""
    config = TrainConfig(method=method, data_variant=data_variant, **hyperparameters)
    return list(config.required_teacher_outputs)


def check_training_settings(
    *,
    dataset: Dataset,
    student: str,
    method: str,
    data_variant: str,
    generation_runs: Sequence[GenerationRun],
    hyperparameters: dict | None,
) -> dict:
    """Check a training run's settings; returns its full hyperparameters."""
    errors: dict[str, list[str]] = {}
    if not student.strip():
        errors.setdefault("student", []).append(
            "Name a student: a hub id, a local path or a named tiny config."
        )
    try:
        hyperparameters = normalize_hyperparameters(hyperparameters)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    _require_questions(dataset, Question.Split.TRAIN)

    for run in generation_runs:
        if run.dataset_id != dataset.pk or run.split != Question.Split.TRAIN:
            errors.setdefault("generation_runs", []).append(
                f"{run} generated for {run.dataset} ({run.split}), not for the train questions of {dataset}."
            )
        elif run.status != Run.Status.SUCCEEDED:
            errors.setdefault("generation_runs", []).append(f"{run} is {run.status}; it must have succeeded.")
    if not errors.keys() & {"hyperparameters", "generation_runs"}:
        skip = hyperparameters["missing_teacher"] == "skip"
        kinds = required_output_kinds(
            method=method, data_variant=data_variant, hyperparameters=hyperparameters
        )
        for kind in kinds:
            missing, total, examples = questions_missing_output_kind(
                dataset=dataset, generation_runs=generation_runs, kind=kind
            )
            label = TeacherOutput.Kind(kind).label
            if missing and not skip:
                errors.setdefault("generation_runs", []).append(
                    f"{method}/{data_variant} needs a teacher {label} for every train question; the chosen "
                    f"generation runs lack it (or it is empty) for {missing:,} of {total:,} "
                    f'(e.g. {", ".join(examples)}). Set "missing_teacher": "skip" to train without them.'
                )
            elif missing == total:
                errors.setdefault("generation_runs", []).append(
                    f"{method}/{data_variant} needs a teacher {label}; the chosen generation runs have none."
                )
    if errors:
        raise ValidationError(errors)
    return hyperparameters


def check_inference_settings(
    *, training_run: TrainingRun, checkpoint_role: str, dataset: Dataset, split: str
) -> None:
    if training_run.status != Run.Status.SUCCEEDED:
        raise ValidationError(
            {
                "training_run": f"{training_run} is {training_run.status}; predict with a succeeded training run."
            }
        )
    if not Checkpoint.objects.filter(training_run=training_run, role=checkpoint_role).exists():
        raise ValidationError({"checkpoint_role": f"{training_run} has no {checkpoint_role} checkpoint."})
    _require_questions(dataset, split)


def check_run(*, run: Run, generation_runs: Sequence[GenerationRun] = ()) -> None:
    """Check a new run of any kind; fills in a training run's full hyperparameters."""
    if isinstance(run, GenerationRun):
        check_generation_settings(
            teacher=run.teacher, dataset=run.dataset, split=run.split, method=run.method
        )
    elif isinstance(run, TrainingRun):
        run.hyperparameters = check_training_settings(
            dataset=run.dataset,
            student=run.student,
            method=run.method,
            data_variant=run.data_variant,
            generation_runs=generation_runs,
            hyperparameters=run.hyperparameters,
        )
    elif isinstance(run, InferenceRun):
        check_inference_settings(
            training_run=run.training_run,
            checkpoint_role=run.checkpoint_role,
            dataset=run.dataset,
            split=run.split,
        )
    else:
        raise TypeError(f"create a GenerationRun, TrainingRun or InferenceRun, not a {type(run).__name__}")
