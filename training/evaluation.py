"""Evaluating a trained student on a split: predictions, counterfactual probes and every metric, in one call."""

from collections.abc import Callable, Mapping, Sequence
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

# Questions predicted between two hand-overs to `on_predictions`: a stopped evaluation loses at most these.
CHUNK_QUESTIONS = 256


@dataclass
class Evaluation:
    metrics: dict
    predictions: list[PredictionRecord]
    probes: list[CounterfactualProbe]


def _chunk_progress(progress, offset: int, size: int, total_questions: int):
    """Progress of one chunk's outputs (one or two per question) as questions done out of all."""
    if progress is None:
        return None
    return lambda done, outputs: progress(offset + round(done * size / outputs), total_questions)


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
    stored: Sequence[PredictionRecord] = (),
    on_predictions: Callable[[list[PredictionRecord]], None] | None = None,
) -> Evaluation:
    """Predict every question, probe counterfactuals (when `teacher` has option explanations) and compute the
    metrics. ROUGE-L compares with the teacher's explanation of `data_variant` (default: the one trained on).

    To resume, pass the predictions already made (`stored`): only the other questions are predicted, in chunks
    handed to `on_predictions` as they are done, and the metrics cover all of them.
    """
    student, info = load_checkpoint(checkpoint_dir, device=device)
    settings = settings_from_info(info, batch_size=batch_size)
    mode = inference_mode_of(info, mode)
    by_id = {q.id: q for q in questions}
    predictions = [p for p in stored if p.question_id in by_id]
    done = {p.question_id for p in predictions}
    todo = [q for q in questions if q.id not in done]
    for start in range(0, len(todo), CHUNK_QUESTIONS):
        chunk = todo[start : start + CHUNK_QUESTIONS]
        new = predict_questions(
            student.model,
            student.tokenizer,
            chunk,
            mode=mode,
            settings=settings,
            progress=_chunk_progress(progress, len(predictions), len(chunk), len(questions)),
        )
        if on_predictions:
            on_predictions(new)
        predictions.extend(new)
    if progress:
        progress(len(predictions), len(questions))
    order = {q.id: i for i, q in enumerate(questions)}
    predictions.sort(key=lambda p: order[p.question_id])
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
        by_id,
        teacher=teacher,
        data_variant=data_variant or info["data_variant"],
        probes=probes if teacher else None,
        encoder=(encoder or default_encoder()) if explained else None,
    )
    return Evaluation(metrics | {"mode": mode, "checkpoint": str(checkpoint_dir)}, predictions, probes)
