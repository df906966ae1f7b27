"""Evaluating a trained student on a split: predictions, counterfactual probes and every metric, in one call."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .cqa import Question
from .embeddings import SentenceEncoder, default_encoder
from .inference import (
    CounterfactualProbe,
    PredictionRecord,
    inference_mode_of,
    load_checkpoint,
    predict_questions,
    probe_counterfactuals,
    settings_from_info,
)
from .metrics import prediction_metrics
from .teacher_outputs import TeacherExplanations


@dataclass
class Evaluation:
    metrics: dict
    predictions: list[PredictionRecord]
    probes: list[CounterfactualProbe]


def evaluate(
    checkpoint_dir,
    questions: list[Question],
    *,
    teacher: Mapping[str, TeacherExplanations] | None = None,
    data_variant: str | None = None,
    mode: str | None = None,
    encoder: SentenceEncoder | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Evaluation:
    """Predict every question, probe counterfactuals (when `teacher` has option explanations) and compute the
    metrics. ROUGE-L compares with the teacher's explanation of `data_variant` (default: the one trained on)."""
    student, info = load_checkpoint(checkpoint_dir, device=device)
    settings = settings_from_info(info, batch_size=batch_size)
    mode = inference_mode_of(info, mode)
    predictions = predict_questions(
        student.model, student.tokenizer, questions, mode=mode, settings=settings, progress=progress
    )
    probes = (
        probe_counterfactuals(
            student.model, student.tokenizer, questions, teacher, seed=info["seed"], settings=settings
        )
        if teacher
        else []
    )
    explained = any(p.explanation for p in predictions)
    metrics = prediction_metrics(
        predictions,
        {q.id: q for q in questions},
        teacher=teacher,
        data_variant=data_variant or info["data_variant"],
        probes=probes if teacher else None,
        encoder=(encoder or default_encoder()) if explained else None,
    )
    return Evaluation(metrics | {"mode": mode, "checkpoint": str(checkpoint_dir)}, predictions, probes)
