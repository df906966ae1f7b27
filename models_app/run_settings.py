"""What a new run may be set to, checked once where the settings enter (admin form, API, grid, pipeline).

`validate_run` checks a generation, training or inference run and returns a `ValidatedRun`; `validate_training_grid`
checks a grid and returns a `ValidatedGrid`. The services save these without checking again, and only these
functions make them. A training run's settings are the library's to judge: `hyperparameters.run_config` builds
its `TrainConfig`, whose field metadata holds the ranges. Each problem is a `ValidationError` message under the
field it concerns, naming what is wrong and how to fix it.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import product

from django.core.exceptions import ValidationError

from training.config import TrainConfig

from .hyperparameters import full_hyperparameters, run_config
from .models import (
    Checkpoint,
    Dataset,
    GenerationRun,
    InferenceRun,
    Question,
    Run,
    TeacherOutput,
    TrainingRun,
)
from .selectors import questions_missing_output_kind

_ISSUED = object()  # only this module's validations make validated values


def _issued_here(value: object, token: object) -> None:
    if token is not _ISSUED:
        raise TypeError(
            f"a {type(value).__name__} comes from run_settings.validate_run or validate_training_grid, "
            "which check its settings"
        )


@dataclass(frozen=True)
class ValidatedRun:
    """A new, unsaved run whose settings passed its kind's checks; a training run holds its full hyperparameters,
    and `generation_runs` are the teacher outputs it learns from."""

    run: Run
    generation_runs: tuple[GenerationRun, ...] = ()
    token: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        _issued_here(self, self.token)


@dataclass(frozen=True)
class ValidatedGrid:
    """A training grid (student × method × data variant × seed) whose every cell passed the training checks."""

    dataset: Dataset
    generation_runs: tuple[GenerationRun, ...]
    students: tuple[str, ...]
    methods: tuple[str, ...]
    data_variants: tuple[str, ...]
    seeds: tuple[int, ...]
    hyperparameters: dict  # the full set, the same for every cell
    token: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        _issued_here(self, self.token)

    def cells(self) -> Iterator[tuple[str, str, str, int]]:
        """(student, method, data variant, seed) of each run, in the grid's order."""
        return product(self.students, self.methods, self.data_variants, self.seeds)

    def run(self, student: str, method: str, data_variant: str, seed: int) -> ValidatedRun:
        """The unsaved run of one cell."""
        run = TrainingRun(
            name=f"{student} {method}/{data_variant} seed {seed}",
            dataset=self.dataset,
            student=student,
            method=method,
            data_variant=data_variant,
            seed=seed,
            hyperparameters=self.hyperparameters,
        )
        return ValidatedRun(run=run, generation_runs=self.generation_runs, token=_ISSUED)


def validate_run(*, run: Run, generation_runs: Sequence[GenerationRun] = ()) -> ValidatedRun:
    """Check a new run of any kind; a training run gets its full hyperparameters, an inference run without a
    dataset its training run's. Raises ValidationError."""
    if isinstance(run, GenerationRun):
        _check_generation(run)
    elif isinstance(run, TrainingRun):
        _check_training(run, generation_runs)
    elif isinstance(run, InferenceRun):
        _check_inference(run)
    else:
        raise TypeError(f"create a GenerationRun, TrainingRun or InferenceRun, not a {type(run).__name__}")
    if generation_runs and not isinstance(run, TrainingRun):
        raise TypeError("only a training run learns from generation runs")
    return ValidatedRun(run=run, generation_runs=tuple(generation_runs), token=_ISSUED)


def _questions_problem(dataset: Dataset, split: str) -> str | None:
    if Question.objects.filter(dataset=dataset, split=split).exists():
        return None
    return f"dataset {dataset} has no {split} questions; import them first (Datasets → Import questions)."


def _check_generation(run: GenerationRun) -> None:
    if run.method not in GenerationRun.LAUNCHABLE_METHODS:
        raise ValidationError(
            {
                "method": f"{run.method!r} runs are made by importing a file, not launched; choose one of "
                f"{', '.join(GenerationRun.LAUNCHABLE_METHODS)}."
            }
        )
    if problem := _questions_problem(run.dataset, run.split):
        raise ValidationError({"dataset": problem})


def _check_inference(run: InferenceRun) -> None:
    if run.dataset_id is None:
        run.dataset = run.training_run.dataset
    training_run = run.training_run
    if training_run.status != Run.Status.SUCCEEDED:
        raise ValidationError(
            {
                "training_run": f"{training_run} is {training_run.status}; predict with a succeeded training run."
            }
        )
    if not Checkpoint.objects.filter(training_run=training_run, role=run.checkpoint_role).exists():
        raise ValidationError({"checkpoint_role": f"{training_run} has no {run.checkpoint_role} checkpoint."})
    if problem := _questions_problem(run.dataset, run.split):
        raise ValidationError({"dataset": problem})


def _generation_run_problems(dataset: Dataset, generation_runs: Sequence[GenerationRun]) -> list[str]:
    problems = []
    for run in generation_runs:
        if run.dataset_id != dataset.pk or run.split != Question.Split.TRAIN:
            problems.append(
                f"{run} generated for {run.dataset} ({run.split}), not for the train questions of {dataset}."
            )
        elif run.status != Run.Status.SUCCEEDED:
            problems.append(f"{run} is {run.status}; it must have succeeded.")
    return problems


def _coverage_problems(
    dataset: Dataset, generation_runs: Sequence[GenerationRun], config: TrainConfig
) -> list[str]:
    """What the generation runs lack of the teacher outputs the run's config reads (the library's answer for its
    settings: a combined run with gamma = 1 trains only the multitask tasks, and needs no option explanations)."""
    problems = []
    condition = f"{config.method}/{config.data_variant}"
    for kind in config.required_teacher_outputs:
        missing, total, examples = questions_missing_output_kind(
            dataset=dataset, generation_runs=generation_runs, kind=kind
        )
        label = TeacherOutput.Kind(kind).label
        if missing and config.missing_teacher != "skip":
            problems.append(
                f"{condition} needs a teacher {label} for every train question; the chosen generation runs lack "
                f"it (or it is empty) for {missing:,} of {total:,} (e.g. {', '.join(examples)}). "
                'Set "missing_teacher": "skip" to train without them.'
            )
        elif missing == total:
            problems.append(f"{condition} needs a teacher {label}; the chosen generation runs have none.")
    return problems


def _check_training(run: TrainingRun, generation_runs: Sequence[GenerationRun]) -> None:
    errors: dict[str, list[str]] = {}
    config = None
    try:
        config = run_config(
            hyperparameters=run.hyperparameters,
            student=run.student,
            method=run.method,
            data_variant=run.data_variant,
            seed=run.seed,
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if problem := _questions_problem(run.dataset, Question.Split.TRAIN):
        errors["dataset"] = [problem]
    problems = _generation_run_problems(run.dataset, generation_runs)
    if not problems and config is not None and "dataset" not in errors:
        problems = _coverage_problems(run.dataset, generation_runs, config)
    if problems:
        errors["generation_runs"] = problems
    if errors:
        raise ValidationError(errors)
    run.hyperparameters = full_hyperparameters(config)


# A grid's axis for each run setting TrainConfig checks.
_GRID_AXES = {"student": "students", "method": "methods", "data_variant": "data_variants", "seed": "seeds"}


def validate_training_grid(
    *,
    dataset: Dataset,
    generation_runs: Sequence[GenerationRun],
    students: Sequence[str],
    methods: Sequence[str],
    data_variants: Sequence[str],
    seeds: Sequence[int],
    hyperparameters: dict | None = None,
) -> ValidatedGrid:
    """Check a training grid: each cell's settings as `validate_run` checks a training run's. Problems with an
    axis or the hyperparameters are shown under their field; those of a cell, prefixed with its condition."""
    axes = {"students": students, "methods": methods, "data_variants": data_variants, "seeds": seeds}
    empty = {name: "Choose at least one." for name, values in axes.items() if not values}
    if empty:
        raise ValidationError(empty)
    students, methods, data_variants, seeds = (tuple(dict.fromkeys(values)) for values in axes.values())
    errors: dict[str, list[str]] = {}
    configs: dict[tuple[str, str], TrainConfig] = {}
    for student, method, variant, seed in product(students, methods, data_variants, seeds):
        try:
            configs[method, variant] = run_config(
                hyperparameters=hyperparameters,
                student=student,
                method=method,
                data_variant=variant,
                seed=seed,
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                shown = errors.setdefault(_GRID_AXES.get(name, name), [])
                shown.extend(message for message in messages if message not in shown)
    if errors:
        raise ValidationError(errors)

    # Student and seed do not change what teacher data a cell needs: each method × variant is checked once.
    problems = [problem] if (problem := _questions_problem(dataset, Question.Split.TRAIN)) else []
    problems += _generation_run_problems(dataset, generation_runs)
    if not problems:
        for (method, variant), config in configs.items():
            problems += [
                f"{method}/{variant}: {text}" for text in _coverage_problems(dataset, generation_runs, config)
            ]
    if problems:
        raise ValidationError(problems)
    return ValidatedGrid(
        dataset=dataset,
        generation_runs=tuple(generation_runs),
        students=students,
        methods=methods,
        data_variants=data_variants,
        seeds=seeds,
        hyperparameters=full_hyperparameters(next(iter(configs.values()))),
        token=_ISSUED,
    )
