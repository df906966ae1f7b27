"""Reads that are more than a filter: what job handlers need from the store, and the results of the experiment."""

import json
import statistics
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, F, OuterRef, Q

from training import cqa
from training.datasets import DATASETS
from training.intervals import bootstrap_interval, share_interval
from training.teacher_outputs import TeacherExplanations, explanations_from_outputs
from training.teacher_outputs import TeacherOutput as OutputRecord

from .hyperparameters import TRAINING_DEFAULTS

if TYPE_CHECKING:
    from training.inference import PredictionRecord
from .models import (
    OPTION_LABELS,
    Dataset,
    DataVariant,
    GenerationRun,
    InferenceRun,
    Prediction,
    Question,
    Run,
    RunAttempt,
    TeacherOutput,
    TrainingMethod,
    TrainingRun,
    library_question,
)

CHANCE_ACCURACY = 1 / len(OPTION_LABELS)  # CQA's; a cell of another dataset has its own (CellResult.chance)
NEAR_CHANCE_MARGIN = 0.1  # mean accuracy below chance + this margin means the student learned next to nothing
# Metrics shown first, in this order, when a run reports them; any others follow alphabetically.
METRIC_ORDER = (
    "consistency",
    "counterfactual_flip_rate",
    "flip_rate",
    "explanation_length",
    "length",
    "rouge_l",
)


# --- What job handlers read -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptTotals:
    attempts: list[RunAttempt]
    wall_seconds: float  # the attempts' time from start to end (to the last heartbeat for a live one)
    steps: (
        int  # progress made by each attempt, summed (work redone after a crash counts each time it was done)
    )


STOPPING = "stopping"


def run_state(*, run: Run) -> str:
    """The run's status as people should read it: "stopping" while an attempt is still live on a run that is
    no longer running (cancelled, or relaunched and waiting for it to stop)."""
    if run.status == Run.Status.RUNNING:
        return run.status
    live = getattr(run, "has_live_attempt", None)  # annotated by lists (see `with_live_attempt`)
    if live is None:
        live = RunAttempt.objects.filter(run=run, finished_at__isnull=True).exists()
    return STOPPING if live else run.status


def with_live_attempt(queryset):
    """Annotate runs with `has_live_attempt`, for `run_state` without a query per row."""
    return queryset.annotate(
        has_live_attempt=Exists(RunAttempt.objects.filter(run=OuterRef("pk"), finished_at__isnull=True))
    )


def attempt_totals(*, run: Run, before: int | None = None) -> AttemptTotals:
    """The run's attempts (those numbered below `before`, when given) and their summed time and progress."""
    attempts = RunAttempt.objects.filter(run=run).order_by("number")
    if before is not None:
        attempts = attempts.filter(number__lt=before)
    attempts = list(attempts)
    return AttemptTotals(
        attempts=attempts,
        wall_seconds=sum(a.wall_seconds or 0.0 for a in attempts),
        steps=sum(max(a.progress_to - a.progress_from, 0) for a in attempts),
    )


def in_test_split(*, kind: str, split: str = "split") -> Q:
    """Rows whose `split` field holds the test split of the dataset whose kind is the field `kind` (CQA:
    validation; StrategyQA, e-SNLI: test)."""
    return reduce(or_, (Q(**{split: spec.test_split, kind: spec.name}) for spec in DATASETS.values()))


def questions_for_split(*, dataset: Dataset, split: str) -> list[cqa.Question]:
    """A dataset's questions of one split as the library's records, in a stable order (by id)."""
    rows = (
        Question.objects.filter(dataset=dataset, split=split)
        .order_by("external_id")
        .values_list("external_id", "text", "choices", "answer_key", "fields")
    )
    return [library_question(*row, dataset.kind) for row in rows]


def teacher_explanations(*, training_run: TrainingRun) -> dict[str, TeacherExplanations]:
    """The teacher explanations a training run learns from, per question id, from its generation runs.

    A later generation run overrides an earlier one for the same question and kind, as a later file does in
    `training.teacher_outputs.load_teacher_explanations`.
    """
    return _explanations(
        TeacherOutput.objects.filter(
            generation_run__in=training_run.generation_runs.all(),
            question__dataset_id=training_run.dataset_id,
            question__split=Question.Split.TRAIN,
        )
    )


def _explanations(outputs) -> dict[str, TeacherExplanations]:
    """Teacher outputs gathered per question; a later generation run's output of a kind overrides an earlier's."""
    rows = outputs.order_by("generation_run__created_at", "generation_run_id", "pk").values_list(
        "question__external_id", "kind", "option_label", "text"
    )
    return explanations_from_outputs(
        OutputRecord(id=qid, kind=kind, option_label=label, text=text)
        for qid, kind, label, text in rows.iterator()
    )


def fed_example(*, training_run: TrainingRun) -> tuple[list[dict], str]:
    """What the run's student is fed for one example question: the first train question (by id) with teacher
    outputs in the run's generation runs, as `{"question_id", "task", "input", "target"}` rows per task, and the
    reason when the question's teacher data does not make an example ("" when it does)."""
    from training.examples import fed_examples

    from .handlers import train_config  # the run's configuration, built as training builds it

    config = train_config(training_run)
    train_questions = Question.objects.filter(dataset_id=training_run.dataset_id, split=Question.Split.TRAIN)
    if config.method != TrainingMethod.STANDARD:
        train_questions = train_questions.filter(
            teacher_outputs__generation_run__in=training_run.generation_runs.all()
        )
    row = (
        train_questions.order_by("external_id")
        .values_list("external_id", "text", "choices", "answer_key", "fields")
        .first()
    )
    if row is None:
        return [], "no train question has teacher outputs in this run's generation runs"
    question = library_question(*row, training_run.dataset.kind)
    teacher = _explanations(
        TeacherOutput.objects.filter(
            generation_run__in=training_run.generation_runs.all(),
            question__dataset_id=training_run.dataset_id,
            question__split=Question.Split.TRAIN,
            question__external_id=question.id,
        )
    )
    rows, skipped = fed_examples([question], teacher, config)
    return rows, skipped.get(question.id, "")


def stored_teacher_outputs(*, generation_run: GenerationRun) -> list[OutputRecord]:
    """Every output the run has stored, as the library's records: what a resumed run skips and builds on."""
    rows = TeacherOutput.objects.filter(generation_run=generation_run).values_list(
        "question__external_id", "kind", "option_label", "text", "params", "cache_key"
    )
    return [
        OutputRecord(id=qid, kind=kind, option_label=label, text=text, params=params, cache_key=key)
        for qid, kind, label, text, params, key in rows.iterator()
    ]


def stored_predictions(*, inference_run: InferenceRun, mode: str) -> list["PredictionRecord"]:
    """The predictions the run has stored, as the library's records (made in `mode`): what a resumed run skips."""
    from training.inference import PredictionRecord  # imports torch: only where a job needs it

    rows = Prediction.objects.filter(inference_run=inference_run).values_list(
        "question__external_id",
        "question__choices",
        "predicted_label",
        "correct",
        "explanation",
        "raw_output",
        "parse_rule",
    )
    return [
        PredictionRecord(
            question_id=qid,
            predicted_label=label,
            predicted_text=choices[OPTION_LABELS.index(label)] if label else "",
            correct=correct,
            explanation=explanation,
            raw_output=raw,
            parse_rule=rule,
            mode=mode,
        )
        for qid, choices, label, correct, explanation, raw, rule in rows.iterator()
    ]


def probe_explanations(*, inference_run: InferenceRun) -> dict[str, TeacherExplanations]:
    """Option explanations for the counterfactual probes of an inference run: those of the questions it
    predicts, by the teachers the student learned from (empty when they explained no option of that split)."""
    teachers = GenerationRun.objects.filter(training_runs=inference_run.training_run_id).values("teacher_id")
    return _explanations(
        TeacherOutput.objects.filter(
            generation_run__teacher_id__in=teachers,
            generation_run__status=Run.Status.SUCCEEDED,
            question__dataset_id=inference_run.dataset_id,
            question__split=inference_run.split,
            kind=TeacherOutput.Kind.OPTION_EXPLANATION,
        )
    )


def questions_missing_output_kind(
    *, dataset: Dataset, generation_runs: Sequence[GenerationRun], kind: str
) -> tuple[int, int, list[str]]:
    """How many train questions have no output of `kind` with text in the generation runs (an empty output counts
    as missing): (missing, total, first ids)."""
    questions = Question.objects.filter(dataset=dataset, split=Question.Split.TRAIN)
    covered = TeacherOutput.objects.filter(
        generation_run__in=[run.pk for run in generation_runs],
        kind=kind,
        question__dataset=dataset,
        text__regex=r"\S",
    ).values("question_id")
    missing = questions.exclude(pk__in=covered)
    count = missing.count()
    examples = (
        list(missing.order_by("external_id").values_list("external_id", flat=True)[:3]) if count else []
    )
    return count, questions.count(), examples


def prediction_rows(*, inference_run: InferenceRun) -> Iterator[Prediction]:
    """The run's predictions with their questions, by question id, streamed from the database."""
    return (
        Prediction.objects.filter(inference_run=inference_run)
        .select_related("question")
        .order_by("question__external_id")
        .iterator(chunk_size=2000)
    )


# --- Results of the experiment ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    mean: float
    sd: float | None  # sample SD; None with a single value
    n: int
    interval: tuple[float, float] | None = None  # 95% bootstrap interval of the mean, when asked for

    @classmethod
    def of(cls, values: Sequence[float], *, interval: bool = False) -> "Summary":
        return cls(
            mean=statistics.fmean(values),
            sd=statistics.stdev(values) if len(values) > 1 else None,
            n=len(values),
            interval=bootstrap_interval(values) if interval and len(values) > 1 else None,
        )


@dataclass(frozen=True)
class RunResult:
    """One training run with the test-set result of its latest succeeded inference run."""

    run: TrainingRun
    settings: str  # hyperparameters that differ from the paper's, or "paper defaults"
    inference_run: InferenceRun | None
    accuracy: float | None  # share of correct stored predictions
    n_predictions: int
    metrics: dict[str, float]
    accuracy_interval: tuple[float, float] | None = None  # 95% bootstrap interval over the questions


@dataclass(frozen=True)
class CellResult:
    """Runs of one student × method × data variant (same dataset and settings), over seeds."""

    dataset: str
    student: str
    settings: str
    method: str
    data_variant: str
    runs: list[RunResult]
    accuracy: Summary
    metrics: dict[str, Summary]
    chance: float = CHANCE_ACCURACY  # 1 / the dataset's number of options

    @property
    def condition_name(self) -> str:
        return f"{self.method}/{self.data_variant}"

    @property
    def seeds(self) -> list[int]:
        return sorted(result.run.seed for result in self.runs)

    @property
    def near_chance(self) -> bool:
        return self.accuracy.mean < self.chance + NEAR_CHANCE_MARGIN


@dataclass(frozen=True)
class TrainingResults:
    rows: list[RunResult]
    cells: list[CellResult]
    metric_names: list[str]
    datasets: list[str] = field(default_factory=list)
    chance: float = CHANCE_ACCURACY

    @property
    def tiny_students(self) -> list[str]:
        return sorted({cell.student for cell in self.cells if "tiny" in cell.student.lower()})

    @property
    def near_chance_cells(self) -> list[CellResult]:
        return [cell for cell in self.cells if cell.near_chance]


def numeric_metrics(metrics: dict, prefix: str = "") -> dict[str, float]:
    """Numeric values of a metrics dict, nested dicts flattened with dots; accuracy is counted from predictions."""
    flat: dict[str, float] = {}
    for name, value in metrics.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(numeric_metrics(value, prefix=f"{key}."))
        elif (
            isinstance(value, int | float) and not isinstance(value, bool) and not key.startswith("accuracy")
        ):
            flat[key] = float(value)
    return flat


def _metric_sort_key(name: str) -> tuple[int, str]:
    head = name.split(".", 1)[0]
    return (METRIC_ORDER.index(head) if head in METRIC_ORDER else len(METRIC_ORDER), name)


def settings_label(hyperparameters: dict) -> str:
    changed = {k: v for k, v in hyperparameters.items() if TRAINING_DEFAULTS.get(k) != v}
    return ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(changed.items())
    ) or ("paper defaults")


def _latest_test_inference(training_runs: list[TrainingRun]) -> dict[int, InferenceRun]:
    runs = (
        InferenceRun.objects.filter(
            in_test_split(kind="training_run__dataset__kind"),
            training_run__in=training_runs,
            status=Run.Status.SUCCEEDED,
        )
        .annotate(
            n_predictions=Count("predictions"),
            n_correct=Count("predictions", filter=Q(predictions__correct=True)),
        )
        .order_by("training_run_id", F("finished_at").desc(nulls_last=True), "-pk")
    )
    latest: dict[int, InferenceRun] = {}
    for run in runs:
        latest.setdefault(run.training_run_id, run)
    return latest


def _run_results(training_runs: list[TrainingRun]) -> list[RunResult]:
    """The runs with the test accuracy and metrics of their latest succeeded inference run, in reading order."""
    method_order = {value: i for i, value in enumerate(TrainingMethod.values)}
    variant_order = {value: i for i, value in enumerate(DataVariant.values)}
    training_runs.sort(
        key=lambda r: (
            r.dataset.name,
            r.student,
            method_order.get(r.method, 99),
            variant_order.get(r.data_variant, 99),
            r.seed,
            r.pk,
        )
    )
    latest = _latest_test_inference(training_runs)
    rows = []
    for run in training_runs:
        inference = latest.get(run.pk)
        n = inference.n_predictions if inference else 0
        rows.append(
            RunResult(
                run=run,
                settings=settings_label(run.hyperparameters),
                inference_run=inference,
                accuracy=inference.n_correct / n if n else None,
                n_predictions=n,
                metrics=numeric_metrics(inference.metrics) if inference else {},
                accuracy_interval=share_interval(inference.n_correct, n) if n else None,
            )
        )
    return rows


def training_results(*, dataset: Dataset | None = None) -> TrainingResults:
    """Every training run with its test accuracy and metrics, and mean ± SD over seeds per cell."""
    return _tabulate(
        list(
            TrainingRun.objects.select_related("dataset")
            .prefetch_related("generation_runs")
            .filter(**({"dataset": dataset} if dataset else {}))
        )
    )


def _tabulate(training_runs: list[TrainingRun]) -> TrainingResults:
    rows = _run_results(training_runs)
    groups: dict[tuple, list[RunResult]] = defaultdict(list)
    for row in rows:
        if row.accuracy is not None:
            groups[
                (row.run.dataset.name, row.run.student, row.settings, row.run.method, row.run.data_variant)
            ].append(row)
    cells = []
    for (dataset_name, student, settings, method, variant), results in groups.items():
        metric_values: dict[str, list[float]] = defaultdict(list)
        for result in results:
            for name, value in result.metrics.items():
                metric_values[name].append(value)
        cells.append(
            CellResult(
                dataset=dataset_name,
                student=student,
                settings=settings,
                method=method,
                data_variant=variant,
                runs=results,
                accuracy=Summary.of([result.accuracy for result in results], interval=True),
                metrics={name: Summary.of(values) for name, values in metric_values.items()},
                chance=1 / results[0].run.dataset.spec.option_count,
            )
        )
    metric_names = sorted({name for row in rows for name in row.metrics}, key=_metric_sort_key)
    return TrainingResults(
        rows=rows,
        cells=cells,
        metric_names=metric_names,
        datasets=sorted({run.dataset.name for run in training_runs}),
    )


def experiment_key(run: TrainingRun) -> tuple:
    """What one training grid shares: the dataset, the hyperparameters and the teacher data (generation runs)."""
    return (
        run.dataset_id,
        json.dumps(run.hyperparameters, sort_keys=True),
        frozenset(g.pk for g in run.generation_runs.all()),
    )


def experiment_results(*, training_runs: Sequence[TrainingRun]) -> list[RunResult]:
    """The runs of the experiments `training_runs` belong to, for their methods × data variants, with accuracies.

    An experiment is what one training grid launches (`experiment_key`): every student and seed of it is
    included, restricted to the methods and data variants that occur among `training_runs` (crossed, so that
    each method can be compared on each variant). Runs whose test accuracy is not known yet are included with
    `accuracy` None.
    """
    return _run_results(_experiment_runs(training_runs))


def experiment_training_results(*, training_runs: Sequence[TrainingRun]) -> TrainingResults:
    """`training_results` of the experiments `training_runs` belong to (see `experiment_results`)."""
    return _tabulate(_experiment_runs(training_runs))


def _experiment_runs(training_runs: Sequence[TrainingRun]) -> list[TrainingRun]:
    if not training_runs:
        return []
    keys = {experiment_key(run) for run in training_runs}
    candidates = (
        TrainingRun.objects.select_related("dataset")
        .prefetch_related("generation_runs")
        .filter(
            dataset__in={run.dataset_id for run in training_runs},
            method__in={run.method for run in training_runs},
            data_variant__in={run.data_variant for run in training_runs},
        )
    )
    return [run for run in candidates if experiment_key(run) in keys]
