"""CSV tables: an inference run's predictions, and the run table of the results page."""

import json
from collections.abc import Iterator

from .models import OPTION_LABELS, InferenceRun
from .selectors import TrainingResults, prediction_rows

PREDICTION_COLUMNS = (
    "question_id",
    "question",
    *(f"choice_{label.lower()}" for label in OPTION_LABELS),
    "gold_label",
    "gold_answer",
    "predicted_label",
    "predicted_answer",
    "correct",
    "parse_rule",
    "explanation",
    "inference_run_id",
    "training_run_id",
    "student",
    "method",
    "data_variant",
    "seed",
    "checkpoint_role",
    "split",
)


def prediction_table(inference_run: InferenceRun) -> Iterator[list]:
    """Header, then one row per prediction, each with the run it came from."""
    training_run = inference_run.training_run
    run_columns = [
        inference_run.pk,
        training_run.pk,
        training_run.student,
        training_run.method,
        training_run.data_variant,
        training_run.seed,
        inference_run.checkpoint_role,
        inference_run.split,
    ]
    yield list(PREDICTION_COLUMNS)
    for prediction in prediction_rows(inference_run=inference_run):
        question = prediction.question
        yield [
            question.external_id,
            question.text,
            *question.choices,
            *[""] * (len(OPTION_LABELS) - len(question.choices)),  # StrategyQA has 2 options, e-SNLI 3
            question.answer_key,
            question.answer_text,
            prediction.predicted_label,
            prediction.predicted_text,
            int(prediction.correct),
            prediction.parse_rule,
            prediction.explanation,
            *run_columns,
        ]


RUN_COLUMNS = (
    "training_run_id",
    "name",
    "status",
    "dataset",
    "student",
    "method",
    "data_variant",
    "seed",
    "settings",
    "hyperparameters",
    "generation_run_ids",
    "eval_accuracy",
    "inference_run_id",
    "test_accuracy",
    "n_predictions",
)
RUN_COLUMNS_AFTER_METRICS = (
    "steps_per_second",
    "wall_seconds",
    "peak_memory_bytes",
    "divergence_reason",
    "error",
    "created_at",
    "finished_at",
)


def run_table(results: TrainingResults) -> Iterator[list]:
    """Header, then one row per training run: its settings, status, test result and metrics."""
    yield [*RUN_COLUMNS, *results.metric_names, *RUN_COLUMNS_AFTER_METRICS]
    for row in results.rows:
        run = row.run
        yield [
            run.pk,
            run.name,
            run.status,
            run.dataset.name,
            run.student,
            run.method,
            run.data_variant,
            run.seed,
            row.settings,
            json.dumps(run.hyperparameters, sort_keys=True),
            " ".join(str(g.pk) for g in run.generation_runs.all()),
            _blank_if_none(run.eval_accuracy),
            row.inference_run.pk if row.inference_run else "",
            _blank_if_none(row.accuracy),
            row.n_predictions,
            *(_blank_if_none(row.metrics.get(name)) for name in results.metric_names),
            _blank_if_none(run.steps_per_second),
            _blank_if_none(run.wall_seconds),
            _blank_if_none(run.peak_memory_bytes),
            run.divergence_reason,
            run.error.strip().splitlines()[0] if run.error.strip() else "",
            run.created_at.isoformat(),
            run.finished_at.isoformat() if run.finished_at else "",
        ]


def _blank_if_none(value):
    return "" if value is None else value
