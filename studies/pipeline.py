"""Advancing the whole pipeline, reusing what is finished: questions → teacher outputs → trained students →
predictions → an open study over the students' explanations.

`advance(plan=..., runner=..., echo=...)` does every stage whose inputs are ready and says what it waits for.
Each stage first looks for a run with the same settings: a succeeded one is reused, one that is created, failed
or cancelled is launched (a relaunched run resumes from what it stored), a queued or running one is waited for.
`manage.py demo` runs the stages one after another in its own process (`ForegroundRunner`); `manage.py
reproduce` queues them for the Celery workers (`QueueRunner`) and advances further each time it is run again.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

import training
from models_app import services
from models_app.data_import import import_questions, import_teacher_outputs
from models_app.hyperparameters import run_config
from models_app.models import (
    Checkpoint,
    Dataset,
    DataVariant,
    GenerationRun,
    InferenceRun,
    Prediction,
    Question,
    Run,
    Teacher,
    TeacherOutput,
    TrainingMethod,
    TrainingRun,
)
from models_app.run_settings import validate_run, validate_training_grid
from training.cqa import load_split, split_file, write_questions
from training.datasets import DatasetSpec, dataset_of_source, dataset_spec
from training.presets import PRESETS, preset_settings
from training.students import is_causal_student
from training.teacher import TeacherSpec

from . import services as study_services
from .models import Condition, Study

Echo = Callable[[str], None]

DEMO_DATA = Path(training.__file__).parent / "demo_data"
HUB = "hub"
# The paper's four study conditions, in the order the study shows them.
STUDY_CONDITIONS: tuple[tuple[str, str], ...] = (
    (TrainingMethod.COUNTERFACTUAL, DataVariant.UNREVISED),
    (TrainingMethod.MULTITASK, DataVariant.UNREVISED),
    (TrainingMethod.MULTITASK_COUNTERFACTUAL, DataVariant.UNREVISED),
    (TrainingMethod.MULTITASK_COUNTERFACTUAL, DataVariant.REVISED),
)
# A live teacher writes both data variants and the counterfactuals in these two runs.
TEACHER_METHODS = (GenerationRun.Method.CRITIQUE_REVISE, GenerationRun.Method.OPTION_EXPLANATIONS)
GENERATION_SEED = 0
JOBS_LOGGER = "models_app.jobs"
PROGRESS_ECHO_SECONDS = 15.0
STUDY_ITEMS_PER_CONDITION = 3


class PipelineError(Exception):
    """A stage cannot go on; the message names the stage or run and what to do."""


@dataclass(frozen=True)
class Plan:
    data: str  # a folder laid out like ../shared/data/cqa (or strategyqa, esnli), or "hub" / "hub:NAME"
    teacher: TeacherSpec
    students: tuple[str, ...]
    cells: tuple[tuple[str, str], ...]  # (method, data variant), each trained for every student and seed
    seeds: tuple[int, ...] = (0,)
    hyperparameters: dict = field(default_factory=dict)  # overrides of the preset's
    # Settings of decoder-only students' runs (e.g. the extension's batch, length and learning rate), between
    # the preset's and the overrides.
    causal_hyperparameters: dict = field(default_factory=dict)
    preset: str = "project"  # training.presets: the settings each method's runs start from
    first_seed_steps: int | None = None  # max_steps of the first seed's runs (the study's seed 0: 10,000)
    # GenerationConfig overrides, e.g. critique_examples.
    generation_config: dict = field(default_factory=dict)
    limit: int | None = None  # only the first N questions of each split
    study_title: str = "Student explanations"
    study_student: str = ""  # whose explanations the study shows; default: the last student
    study_seed: int | None = None  # default: the first seed
    study_options: dict = field(default_factory=dict)  # other Study fields, e.g. allow_anonymous
    decision_study: bool = (
        False  # also open a decision study beside the rating study (`ensure_decision_study`)
    )
    dataset: str | None = (
        None  # the registry dataset; default: what the data folder's files (or hub:NAME) say
    )

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "dataset", dataset_of_source(self.data, self.dataset))
        except ValueError as error:
            raise PipelineError(str(error)) from None
        if self.preset not in PRESETS:
            raise PipelineError(f"unknown preset {self.preset!r}; expected one of {', '.join(PRESETS)}")
        if self.first_seed_steps is not None and self.first_seed_steps < 1:
            raise PipelineError(
                f"the first seed's step count must be at least 1, got {self.first_seed_steps}"
            )
        # The library's rules, refused before anything is stored (the grid's validation needs the data stored).
        for (method, variant), student in product(self.cells, self.students):
            run_config(
                hyperparameters=self.hyperparameters_for(method, self.seeds[0], student),
                student=student,
                method=method,
                data_variant=variant,
            )
        missing = [f"{m}/{v}" for m, v in STUDY_CONDITIONS if (m, v) not in self.cells]
        if missing:
            raise PipelineError(f"the study needs students trained for {', '.join(missing)}; add them")
        if self.limit is not None and self.limit < 1:
            raise PipelineError(f"--limit must be at least 1, got {self.limit}")
        if self.study_student and self.study_student not in self.students:
            raise PipelineError(f"the study's student {self.study_student!r} is not among {self.students}")
        if self.study_seed is not None and self.study_seed not in self.seeds:
            raise PipelineError(f"the study's seed {self.study_seed} is not among {self.seeds}")

    @property
    def spec(self) -> DatasetSpec:
        return dataset_spec(self.dataset)

    @property
    def from_hub(self) -> bool:
        return self.data == HUB or self.data.startswith(f"{HUB}:")

    @property
    def dataset_name(self) -> str:
        if self.from_hub:
            name = f"{self.dataset}-hub"
        elif Path(self.data).resolve() == DEMO_DATA.resolve():
            name = "demo"
        else:
            name = Path(self.data).resolve().name
        return f"{name}-first{self.limit}" if self.limit else name

    @property
    def origin(self) -> str:
        """Where the questions come from: `hub`, or the data folder's absolute path."""
        return f"{HUB}:{self.dataset}" if self.from_hub else str(Path(self.data).resolve())

    def hyperparameters_for(self, method: str, seed: int, student: str) -> dict:
        """The preset's settings for `method` and the student's kind, a causal student's settings, the overrides,
        and the first seed's step count."""
        causal = is_causal_student(student)
        values = preset_settings(self.preset, method, causal=causal)
        values |= (self.causal_hyperparameters if causal else {}) | self.hyperparameters
        if self.first_seed_steps and seed == self.seeds[0]:
            values["max_steps"] = self.first_seed_steps
        return values

    @property
    def study_cell(self) -> tuple[str, int]:
        return (
            self.study_student or self.students[-1],
            self.seeds[0] if self.study_seed is None else self.study_seed,
        )


@dataclass
class Outcome:
    """Where the pipeline stands after `advance`: what it holds, and the runs it waits for."""

    dataset: Dataset
    generation_runs: list[GenerationRun] = field(default_factory=list)
    training_runs: list[TrainingRun] = field(default_factory=list)
    inference_runs: list[InferenceRun] = field(default_factory=list)
    study: Study | None = None
    decision_study: Study | None = None
    waiting: list[Run] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.study is not None and self.study.status == Study.Status.OPEN


# --- Running a stage's runs ------------------------------------------------------------------------------------


class ForegroundRunner:
    """Runs each run in this process, one after another, echoing its log and, every few seconds, its progress.

    A run that does not succeed stops the pipeline; one interrupted with Ctrl-C is marked cancelled, so that the
    next run of the command resumes it.
    """

    foreground = True

    def __init__(self, echo: Echo, *, progress_every: float = PROGRESS_ECHO_SECONDS):
        self.echo = echo
        self.progress_every = progress_every
        self.waiting: list[Run] = []

    def start(self, run: Run) -> None:
        stop = threading.Event()
        reporter = threading.Thread(target=self._report_progress, args=(run.pk, stop), daemon=True)
        reporter.start()
        try:
            with _quiet(JOBS_LOGGER):  # its lines are echoed; logged too, they would show twice
                status = services.run_in_process(run=run, echo=lambda line: self.echo(f"    {line}"))
        except KeyboardInterrupt:
            services.cancel_run(run=run)
            raise
        finally:
            stop.set()
            reporter.join()
        if status != Run.Status.SUCCEEDED:
            run.refresh_from_db()
            reason = run.error.splitlines()[0] if run.error else status
            raise PipelineError(
                f"{run} {status}: {reason}\nFix the cause and run the command again: the run resumes from "
                "what it stored."
            )

    def _report_progress(self, run_id: int, stop: threading.Event) -> None:
        """Echo the run's progress as its handler records it (the handler's log says little while it works)."""
        last = None
        try:
            while not stop.wait(self.progress_every):
                done, total = Run.objects.values_list("progress_done", "progress_total").get(pk=run_id)
                if total and (done, total) != last:
                    self.echo(f"    progress: {done:,} of {total:,} ({done / total:.0%})")
                    last = (done, total)
        finally:
            connection.close()


@contextmanager
def _quiet(name: str) -> Iterator[None]:
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


class QueueRunner:
    """Queues runs for the Celery workers (or a thread when there is no broker) and returns at once."""

    foreground = False

    def __init__(self, *, relaunch_failed: bool = True):
        self.relaunch_failed = relaunch_failed
        self.waiting: list[Run] = []  # runs queued or running, filled in by `advance`

    def start(self, run: Run) -> None:
        if run.status == Run.Status.CREATED:
            services.launch_created_run(run=run)
        elif self.relaunch_failed:
            services.relaunch_run(run=run)
        else:
            reason = run.error.splitlines()[0] if run.error else run.status
            raise PipelineError(f"{run} {run.status}: {reason}\nRun the command again to relaunch it.")


def _settle(run: Run, runner, echo: Echo, what: str) -> bool:
    """Reuse, launch or wait for one run; True when it has succeeded."""
    if run.status == Run.Status.SUCCEEDED:
        echo(f"  {what}: {_run_label(run)} succeeded earlier, reused")
        return True
    if run.status in Run.ACTIVE_STATUSES:
        if runner.foreground:
            raise PipelineError(
                f"{run} is {run.status} in another process; wait for it, or cancel it in the admin (or run "
                "`manage.py fail_stale_runs --timeout 0` if its process died) and run the command again"
            )
        echo(f"  {what}: {_run_label(run)} is {run.status}, waiting for it")
        runner.waiting.append(run)
        return False
    verb = "launching" if run.status == Run.Status.CREATED else f"relaunching ({run.status} before)"
    echo(f"  {what}: {verb} {_run_label(run)}")
    started = time.monotonic()
    runner.start(run)
    run.refresh_from_db()
    if run.status == Run.Status.SUCCEEDED:
        echo(f"  {what}: {_run_label(run)} succeeded in {time.monotonic() - started:.0f} s")
        return True
    runner.waiting.append(run)
    return False


def _run_label(run: Run) -> str:
    return f"{run.kind} run #{run.pk}" + (f" ({run.name})" if run.name else "")


# --- The stages ---------------------------------------------------------------------------------------------------


def ensure_questions(*, plan: Plan, echo: Echo) -> Dataset:
    """The plan's questions in a dataset named after their source; a split already imported is left as it is."""
    name = plan.dataset_name
    dataset = Dataset.objects.filter(name=name).first()
    if dataset is not None and not dataset.source.startswith(plan.origin):
        raise PipelineError(
            f"dataset {name} holds questions imported from {dataset.source}, not from {plan.origin}; rename or "
            "delete that dataset in the admin, or import your files under another folder name"
        )
    if dataset is not None and dataset.kind != plan.dataset:
        raise PipelineError(
            f"dataset {name} holds {dataset.spec.title} questions, not {plan.spec.title}; rename or delete it "
            "in the admin, or import your files under another folder name"
        )
    for split in (Question.Split.TRAIN, plan.spec.test_split):
        count = Question.objects.filter(dataset__name=name, split=split).count()
        if count:
            echo(f"  {split}: {count:,} questions of dataset {name} already imported")
            continue
        path, source = _split_file(plan, split)
        summary = import_questions(
            path=path, dataset_name=name, split=split, source_name=source, kind=plan.dataset
        )
        echo(f"  {split}: imported {summary}")
    return Dataset.objects.get(name=name)


def _split_file(plan: Plan, split: str) -> tuple[Path, str]:
    """The file to import and how to name its source: the source's own file, or the (first `limit`) questions
    written under ARTIFACTS_DIR."""
    if not plan.from_hub and not plan.limit:
        path = split_file(plan.origin, split, plan.dataset)
        return path, str(path)
    questions = load_split(plan.origin, split, plan.dataset)[: plan.limit]
    path = Path(settings.ARTIFACTS_DIR) / "data" / plan.dataset_name / plan.spec.split_files(split)[0]
    first = f", first {plan.limit}" if plan.limit else ""
    return write_questions(questions, path), f"{plan.origin} ({split}{first}, copied to {path})"


def teacher_name(spec: TeacherSpec) -> str:
    where = f" at {spec.base_url}" if spec.base_url else ""
    return f"{spec.backend}:{spec.model}{where}"


def ensure_teacher_outputs(*, plan: Plan, dataset: Dataset, runner, echo: Echo) -> list[GenerationRun] | None:
    """The generation runs holding the teacher's outputs for the train questions; None while they are not done."""
    if plan.teacher.backend == Teacher.Backend.RECORDED:
        return [_recorded_outputs(spec=plan.teacher, dataset=dataset, echo=echo)]
    teacher = _teacher_row(plan.teacher)
    runs = []
    for method in TEACHER_METHODS:
        wanted = {
            "teacher": teacher,
            "dataset": dataset,
            "split": Question.Split.TRAIN,
            "method": method,
            "seed": GENERATION_SEED,
            "config": plan.generation_config,
        }
        run = GenerationRun.objects.filter(**wanted).order_by("-pk").first()
        if run is None:
            run = services.create_run(
                validated=validate_run(
                    run=GenerationRun(name=f"{method} by {teacher.name} on {dataset}", **wanted)
                ),
                launch=False,
            )
        runs.append(run)
    done = [_settle(run, runner, echo, "teacher outputs") for run in runs]
    for run in runs:
        echo(f"  {_run_label(run)}: {_output_counts(run)}")
    return runs if all(done) else None


def _output_counts(run: GenerationRun) -> str:
    counts = {kind: 0 for kind in TeacherOutput.Kind.values}
    for kind in run.outputs.values_list("kind", flat=True):
        counts[kind] += 1
    return (
        ", ".join(f"{n:,} {TeacherOutput.Kind(kind).label}s" for kind, n in counts.items() if n)
        or "no outputs"
    )


def _recorded_outputs(*, spec: TeacherSpec, dataset: Dataset, echo: Echo) -> GenerationRun:
    name = teacher_name(spec)
    run = GenerationRun.objects.filter(
        teacher__name=name, dataset=dataset, split=Question.Split.TRAIN, method=GenerationRun.Method.RECORDED
    ).first()
    if run is not None:
        echo(f"  teacher outputs: {_run_label(run)} imported earlier, reused: {_output_counts(run)}")
        return run
    summary = import_teacher_outputs(
        path=spec.model, dataset=dataset, teacher_name=name, only_dataset_questions=True
    )
    echo(f"  teacher outputs: imported {summary}: {_output_counts(summary.generation_run)}")
    return summary.generation_run


def _teacher_row(spec: TeacherSpec) -> Teacher:
    values = {name: getattr(spec, name) for name in Teacher.SPEC_FIELDS} | {"decoding": dict(spec.decoding)}
    teacher, created = Teacher.objects.get_or_create(name=teacher_name(spec), defaults=values)
    differs = {key: getattr(teacher, key) for key, value in values.items() if getattr(teacher, key) != value}
    if differs:
        raise PipelineError(
            f"teacher {teacher.name!r} exists with other settings ({differs}); its outputs would not be what "
            f"you asked for: rename or delete it in the admin, or ask for the same settings"
        )
    return teacher


def ensure_training(
    *, plan: Plan, dataset: Dataset, generation_runs: Sequence[GenerationRun], runner, echo: Echo
) -> list[TrainingRun]:
    """One training run per student × cell × seed (the same settings reuse the run); returns the succeeded ones."""
    runs: list[TrainingRun] = []
    for method, variant in plan.cells:
        # Students and seeds that share their settings, in one grid each (settings depend on the student's kind
        # and on whether the seed is the first, so each group is its students × its seeds).
        by_settings: dict[str, tuple[dict, list[str], list[int]]] = {}
        for seed, student in product(plan.seeds, plan.students):
            values = plan.hyperparameters_for(method, seed, student)
            _, students, seeds = by_settings.setdefault(repr(sorted(values.items())), (values, [], []))
            if student not in students:
                students.append(student)
            if seed not in seeds:
                seeds.append(seed)
        for values, students, seeds in by_settings.values():
            grid = validate_training_grid(
                dataset=dataset,
                generation_runs=generation_runs,
                students=students,
                methods=[method],
                data_variants=[variant],
                seeds=seeds,
                hyperparameters=values,
            )
            launched = services.launch_training_grid(grid=grid, launch=False)
            runs += sorted(launched.created + launched.existing, key=lambda run: run.pk)
    succeeded = []
    for run in runs:
        if _settle(run, runner, echo, "training"):
            run.refresh_from_db()
            accuracy = "" if run.eval_accuracy is None else f", held-out accuracy {run.eval_accuracy:.2f}"
            echo(
                f"    {run.condition_name} {run.student} seed {run.seed}: best checkpoint {run.best_checkpoint}, "
                f"last {run.last_checkpoint}{accuracy}"
            )
            succeeded.append(run)
    return succeeded


def ensure_inference(
    *, dataset: Dataset, training_runs: Sequence[TrainingRun], runner, echo: Echo
) -> list[InferenceRun]:
    """Predictions of each trained student's evaluated checkpoint (its best, or with `evaluated_checkpoint`
    final, its last) on the dataset's test split (CQA: validation; StrategyQA, e-SNLI: test); returns the
    succeeded runs."""
    succeeded = []
    for training_run in training_runs:
        final = training_run.hyperparameters.get("evaluated_checkpoint") == "final"
        wanted = {
            "training_run": training_run,
            "checkpoint_role": Checkpoint.Role.LAST if final else Checkpoint.Role.BEST,
            "dataset": dataset,
            "split": dataset.test_split,
        }
        run = InferenceRun.objects.filter(**wanted).order_by("-pk").first()
        if run is None:
            name = (
                f"{training_run.student} {training_run.condition_name} seed {training_run.seed} on "
                f"{dataset.test_split}"
            )
            run = services.create_run(
                validated=validate_run(run=InferenceRun(name=name, **wanted)), launch=False
            )
        if _settle(run, runner, echo, "inference"):
            run.refresh_from_db()
            total = run.predictions.count()
            correct = run.predictions.filter(correct=True).count()
            echo(f"    {training_run.condition_name}: {total:,} predictions, {correct:,} correct")
            succeeded.append(run)
    return succeeded


def ensure_study(*, plan: Plan, inference_runs: Sequence[InferenceRun], echo: Echo) -> Study | None:
    """The open study over the four conditions' inference runs of the study's student and seed."""
    student, seed = plan.study_cell
    by_condition = {
        (run.training_run.method, run.training_run.data_variant): run
        for run in inference_runs
        if run.training_run.student == student and run.training_run.seed == seed
    }
    missing = [f"{m}/{v}" for m, v in STUDY_CONDITIONS if (m, v) not in by_condition]
    if missing:
        echo(f"  study: waiting for the predictions of {student} seed {seed} for {', '.join(missing)}")
        return None
    runs = [by_condition[cell] for cell in STUDY_CONDITIONS]
    study = _study_over(runs)
    if study is None:
        study = _create_study(plan=plan, runs=runs)
        echo(f"  study #{study.pk} {study.title!r}: created and opened")
    elif study.status == Study.Status.DRAFT:
        study_services.open_study(study=study)
        echo(f"  study #{study.pk} {study.title!r}: existed as a draft, opened")
    else:
        echo(f"  study #{study.pk} {study.title!r}: made earlier, reused ({study.status})")
    echo(
        f"    {study.conditions.count()} conditions ({', '.join(study.conditions.values_list('name', flat=True))}), "
        f"{study.items.count()} items, {study.items_per_condition} per condition per participant"
    )
    return study


def _study_over(runs: Sequence[InferenceRun]) -> Study | None:
    wanted = {run.pk for run in runs}
    rating = Study.objects.filter(kind=Study.Kind.RATING, conditions__inference_run__in=wanted)
    for study in rating.distinct().order_by("pk"):
        if set(study.conditions.values_list("inference_run_id", flat=True)) == wanted:
            return study
    return None


def _rateable_questions(run: InferenceRun) -> set[int]:
    """Questions whose prediction has an answer and an explanation: what a study condition can show."""
    rows = Prediction.objects.filter(inference_run=run).exclude(predicted_label="")
    return {question for question, text in rows.values_list("question_id", "explanation") if text.strip()}


@transaction.atomic
def _create_study(*, plan: Plan, runs: Sequence[InferenceRun]) -> Study:
    common = set.intersection(*(_rateable_questions(run) for run in runs))
    # One question goes to the attention check when there are enough; the rest are items.
    checks = 1 if len(common) > len(runs) else 0
    per_condition = min(STUDY_ITEMS_PER_CONDITION, (len(common) - checks) // len(runs))
    if per_condition < 1:
        raise PipelineError(
            f"the students answered and explained only {len(common)} test question(s) in common; a study "
            f"over {len(runs)} conditions needs at least {len(runs)}: train longer (more steps) or on more questions"
        )
    study = study_services.create_study(
        title=plan.study_title if plan.dataset == "cqa" else f"{plan.study_title} ({plan.spec.title})",
        inference_runs=runs,
        items_per_condition=per_condition,
        attention_checks=checks,
        **plan.study_options,
    )
    study_services.sample_items(study=study, seed=0)
    study_services.open_study(study=study)
    return study


DECISION_TITLE = "Deciding with a student's advice"
DECISION_ADVICE = (Condition.Advice.NONE, Condition.Advice.ANSWER, Condition.Advice.ANSWER_EXPLANATION)
# Items per condition and participant, and the share of them with wrong advice: 1 of 2 (tiny students are
# mostly wrong, so a study over their few right answers stays small).
DECISION_ITEMS_PER_CONDITION = 2
DECISION_WRONG_SHARE = 0.5


def ensure_decision_study(*, plan: Plan, rating_study: Study, echo: Echo) -> Study | None:
    """An open decision study beside the rating study: control, answer only, and answer and explanation, all from
    the rating study's student whose answers are right most often (wrong and right advice must both be there).

    Returns None, saying why, when no student is right (or wrong) on enough questions for it.
    """
    runs = [c.inference_run for c in rating_study.conditions.select_related("inference_run__training_run")]
    run = max(runs, key=lambda r: (r.predictions.filter(correct=True).count(), -r.pk))
    existing = (
        Study.objects.filter(kind=Study.Kind.DECISION, conditions__inference_run=run)
        .distinct()
        .order_by("pk")
        .first()
    )
    if existing is not None:
        if existing.status == Study.Status.DRAFT:
            study_services.open_study(study=existing)
        echo(f"  decision study #{existing.pk} {existing.title!r}: made earlier, reused ({existing.status})")
        return existing
    with transaction.atomic():
        study = study_services.create_study(
            title=DECISION_TITLE,
            kind=Study.Kind.DECISION,
            inference_runs=[run] * len(DECISION_ADVICE),
            advice=DECISION_ADVICE,
            items_per_condition=DECISION_ITEMS_PER_CONDITION,
            wrong_advice_share=DECISION_WRONG_SHARE,
            **plan.study_options,
        )
        try:
            study_services.sample_items(study=study, seed=0)
            problems = study_services.design_problems(study)
        except ValueError as exc:  # fewer questions than one participant's sequence
            problems = [str(exc)]
        if problems:
            transaction.set_rollback(True)
            echo(
                f"  decision study: not opened, {run.training_run.condition_name}'s answers do not allow it ("
                + "; ".join(problems)
                + "): train longer or on more questions (LIMIT=)"
            )
            return None
        study_services.open_study(study=study)
    echo(
        f"  decision study #{study.pk} {study.title!r}: created and opened, advice of "
        f"{run.training_run.condition_name} ({', '.join(study.conditions.values_list('name', flat=True))})"
    )
    return study


# --- All of it ------------------------------------------------------------------------------------------------------


def advance(*, plan: Plan, runner, echo: Echo = print) -> Outcome:
    """Do every stage whose inputs are ready, reusing finished runs; see the module's docstring."""
    runner.waiting = []
    with _stage("questions", echo):
        outcome = Outcome(dataset=ensure_questions(plan=plan, echo=echo))
    with _stage("teacher outputs", echo):
        generation_runs = ensure_teacher_outputs(plan=plan, dataset=outcome.dataset, runner=runner, echo=echo)
    if generation_runs is None:
        outcome.waiting = runner.waiting
        return outcome
    outcome.generation_runs = generation_runs
    with _stage("training", echo):
        outcome.training_runs = ensure_training(
            plan=plan, dataset=outcome.dataset, generation_runs=generation_runs, runner=runner, echo=echo
        )
    with _stage("inference", echo):
        outcome.inference_runs = ensure_inference(
            dataset=outcome.dataset, training_runs=outcome.training_runs, runner=runner, echo=echo
        )
    with _stage("study", echo):
        outcome.study = ensure_study(plan=plan, inference_runs=outcome.inference_runs, echo=echo)
        if plan.decision_study and outcome.study is not None:
            outcome.decision_study = ensure_decision_study(plan=plan, rating_study=outcome.study, echo=echo)
    outcome.waiting = runner.waiting
    return outcome


@contextmanager
def _stage(name: str, echo: Echo) -> Iterator[None]:
    echo(f"[{name}]")
    started = time.monotonic()
    yield
    echo(f"[{name}] done in {time.monotonic() - started:.0f} s")
