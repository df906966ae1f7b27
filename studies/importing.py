"""Read a condition's explanations from JSONL: one object per line with a question id, an answer, an explanation.

Accepted keys: `id` or `question_id`; `answer` or `predicted_answer` (a label A–E or the option's text);
`explanation`. This reads the student and teacher files of the shared CQA data as they are.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from models_app.models import OPTION_LABELS, Question

ID_KEYS = ("id", "question_id")
ANSWER_KEYS = ("answer", "predicted_answer")


class ExplanationFileError(ValueError):
    """The file cannot be imported; `problems` lists each bad line."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        shown = "\n".join(problems[:20]) + (
            f"\n… and {len(problems) - 20} more" if len(problems) > 20 else ""
        )
        super().__init__(f"{source}: {len(problems)} problem(s), nothing imported:\n{shown}")


@dataclass(frozen=True)
class ExplanationRecord:
    question: Question
    answer_label: str
    text: str

    @property
    def correct(self) -> bool:
        return self.answer_label == self.question.answer_key


@dataclass
class ParsedExplanations:
    records: list[ExplanationRecord]
    # Lines that hold no usable explanation, by reason: they are reported, not shown to annotators.
    skipped: dict[str, list[int]] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{len(self.records)} explanations"]
        for reason, lines in self.skipped.items():
            listed = ", ".join(map(str, lines[:10])) + (", …" if len(lines) > 10 else "")
            parts.append(f"{len(lines)} skipped ({reason}: line {listed})")
        return "; ".join(parts)


def answer_label(question: Question, answer: str) -> str | None:
    """The option label an answer names: one of the question's labels (A–E for CQA, A–B for StrategyQA), or an
    option's text (the gold one when it appears twice)."""
    answer = answer.strip()
    labels = OPTION_LABELS[: len(question.choices)]
    if answer in labels:
        return answer
    wanted = answer.lower()
    matches = [
        label for label, text in zip(labels, question.choices, strict=True) if text.strip().lower() == wanted
    ]
    if question.answer_key in matches:
        return question.answer_key
    return matches[0] if matches else None


def _first(obj: Mapping, keys: tuple[str, ...]):
    return next((obj[key] for key in keys if key in obj), None)


def parse_explanations(
    lines: Iterable[str | bytes], questions: Mapping[str, Question], source: str = "JSONL file"
) -> ParsedExplanations:
    """Parse every line; raise `ExplanationFileError` listing all bad lines, or return the records."""
    problems: list[str] = []
    parsed = ParsedExplanations(records=[])
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict):
            problems.append(f"line {number}: expected a JSON object")
            continue
        qid, answer, text = _first(obj, ID_KEYS), _first(obj, ANSWER_KEYS), obj.get("explanation")
        missing = [
            name
            for name, value in (("id", qid), ("answer", answer), ("explanation", text))
            if not isinstance(value, str)
        ]
        if missing:
            problems.append(f"line {number}: missing or non-text {', '.join(missing)}")
            continue
        question = questions.get(qid)
        if question is None:
            problems.append(f"line {number}: unknown question id {qid!r} (not in the chosen dataset)")
            continue
        if qid in seen:
            problems.append(f"line {number}: question {qid!r} again (first on line {seen[qid]})")
            continue
        seen[qid] = number
        label = answer_label(question, answer)
        if label is None:
            parsed.skipped.setdefault("answer matches no option", []).append(number)
        elif not text.strip():
            parsed.skipped.setdefault("empty explanation", []).append(number)
        else:
            parsed.records.append(ExplanationRecord(question, label, text.strip()))
    if problems:
        raise ExplanationFileError(source, problems)
    if not parsed.records:
        raise ExplanationFileError(source, ["no usable explanation in the file"])
    return parsed
