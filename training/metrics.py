"""Metrics of a student's predictions, each reported per run.

- accuracy: share of questions whose predicted option is the gold one, with its 95% bootstrap interval;
- explanation length: mean number of words;
- answer–explanation consistency: share of explanations whose most similar option (MiniLM sentence embeddings,
  cosine) is the predicted option;
- counterfactual flip rate: share of `[counterfactual]` probes in which the student follows the wrong option's
  explanation;
- ROUGE-L: mean F-measure of the longest common subsequence of words with the teacher's explanation
  (lower-cased, runs of letters and digits as words, no stemming).
"""

import re
from collections import Counter
from collections.abc import Mapping, Sequence

from .config import DATA_VARIANTS
from .cqa import LABELS, Question
from .inference import CounterfactualProbe, PredictionRecord
from .intervals import share_interval
from .teacher_outputs import TeacherExplanations

_WORD = re.compile(r"[a-z0-9]+")


def share(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def word_count(text: str) -> int:
    return len(text.split())


def rouge_tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (dynamic programming, one row at a time)."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F-measure of a candidate against one reference."""
    c, r = rouge_tokens(candidate), rouge_tokens(reference)
    lcs = lcs_length(c, r)
    if not lcs:
        return 0.0
    precision, recall = lcs / len(c), lcs / len(r)
    return 2 * precision * recall / (precision + recall)


def consistent_with_prediction(
    explanations: Sequence[str], questions: Sequence[Question], labels: Sequence[str], encoder
) -> list[bool]:
    """For each (explanation, question, predicted label): is the predicted option the one the explanation is
    most similar to? Two batched encoder calls for all items."""
    if not explanations:
        return []
    explained = encoder.encode(list(explanations))
    options = encoder.encode([choice for q in questions for choice in q.choices])
    closest, start = [], 0
    for i, question in enumerate(questions):  # questions of several datasets have different option counts
        count = len(question.choices)
        closest.append(int((options[start : start + count] @ explained[i]).argmax()))
        start += count
    return [LABELS[index] == label for index, label in zip(closest, labels, strict=True)]


def prediction_metrics(
    predictions: Sequence[PredictionRecord],
    questions: Mapping[str, Question],
    *,
    teacher: Mapping[str, TeacherExplanations] | None = None,
    data_variant: str | None = None,
    probes: Sequence[CounterfactualProbe] | None = None,
    encoder=None,
) -> dict:
    """Every metric of a run's predictions; a metric without the data it needs is None.

    `teacher` + `data_variant` enable ROUGE-L; `probes`, the flip rate; `encoder` (a SentenceEncoder), consistency.
    """
    explained = [p for p in predictions if p.explanation]
    metrics = {
        "questions": len(predictions),
        "accuracy": share([p.correct for p in predictions]),
        # 95% percentile bootstrap interval of the accuracy over questions, 10,000 resamples.
        "accuracy_interval": list(share_interval(sum(p.correct for p in predictions), len(predictions)))
        if predictions
        else None,
        "answer_rules": dict(Counter(p.parse_rule for p in predictions)),
        "explanations": len(explained),
        "explanation_words": mean([word_count(p.explanation) for p in explained]),
        "consistency": None,
        "consistency_questions": 0,
        "rouge_l": None,
        "rouge_l_questions": 0,
        "counterfactual_flip_rate": share([p.followed for p in probes]) if probes is not None else None,
        "counterfactual_probes": len(probes) if probes is not None else 0,
    }
    judged = [p for p in explained if p.predicted_label]
    if encoder is not None and judged:
        flags = consistent_with_prediction(
            [p.explanation for p in judged],
            [questions[p.question_id] for p in judged],
            [p.predicted_label for p in judged],
            encoder,
        )
        metrics["consistency"], metrics["consistency_questions"] = share(flags), len(flags)
    if teacher is not None and data_variant is not None:
        field = DATA_VARIANTS[data_variant]
        pairs = [
            (p.explanation, getattr(teacher[p.question_id], field))
            for p in explained
            if p.question_id in teacher and getattr(teacher[p.question_id], field)
        ]
        metrics["rouge_l"] = mean([rouge_l(candidate, reference) for candidate, reference in pairs])
        metrics["rouge_l_questions"] = len(pairs)
    return metrics
