"""Prediction files: the JSONL that `predict` writes, and the recorded student outputs in the shared data.

Two layouts are read: our `PredictionRecord` rows (`question_id`, `predicted_label`, ...), and recorded
outputs `{"id", "predicted_answer", "explanation", ...}` whose answer text is mapped to an option here.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import fields
from pathlib import Path

from .answers import match_option
from .cqa import DataError, Problem, Question, read_jsonl
from .inference import PredictionRecord

RECORDED_MODE = "recorded"
_RECORD_FIELDS = {f.name for f in fields(PredictionRecord)}


def write_jsonl(rows: Iterable[dict], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def read_predictions(path: str | Path, questions: Mapping[str, Question]) -> list[PredictionRecord]:
    """Predictions in either layout, for questions of `questions`. Raises DataError listing every problem."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no prediction file at {path}")
    problems: list[Problem] = []
    records = []
    for line, obj in read_jsonl(path, problems):
        question_id = obj.get("question_id", obj.get("id"))
        question = questions.get(question_id)
        if question is None:
            problems.append(Problem(str(path), line, "id", f"{question_id!r} is not a question of the split"))
            continue
        if "question_id" in obj:
            if set(obj) != _RECORD_FIELDS:
                problems.append(Problem(str(path), line, "", f"expected the fields {sorted(_RECORD_FIELDS)}"))
                continue
            records.append(PredictionRecord.from_json(obj))
        elif isinstance(obj.get("predicted_answer"), str):
            match = match_option(obj["predicted_answer"], question)
            records.append(
                PredictionRecord.of_answer(
                    question,
                    match,
                    explanation=(obj.get("explanation") or "").strip(),
                    raw_output=obj["predicted_answer"],
                    mode=RECORDED_MODE,
                )
            )
        else:
            problems.append(
                Problem(str(path), line, "predicted_answer", "missing (and no question_id either)")
            )
    if problems:
        raise DataError(problems)
    return records
