"""Teacher outputs: the records generation yields and the per-question explanations training reads.

Two file layouts hold teacher outputs:
- *output records* (what `python -m training generate` writes): one JSON object per teacher output, with its
  provenance: `{"id", "kind", "option_label", "text", "prompt", "params", "flags", "usage", "cache_key", "created_at"}`;
- *recorded* (outputs produced elsewhere, the layout of `teacher_llama2_*.jsonl`): one object per question,
  `{"id", "answer", "explanation", "revised_explanation", "option_explanations": [one string per option, in
  order: 5 for CQA, 2 for StrategyQA, 3 for e-SNLI], "critique", ...}`.

`load_teacher_explanations` reads either (or several files mixed) into one `TeacherExplanations` per question.
Every text goes through `first_line`, the post-processing the paper applied to live teacher outputs.
"""

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from itertools import zip_longest
from pathlib import Path

from .cqa import LABELS, DataError, Problem, read_jsonl

KINDS = ("explanation", "critique", "revised_explanation", "option_explanation")
# Fields of the recorded layout, by output kind.
RECORDED_FIELDS = {
    "explanation": "explanation",
    "critique": "critique",
    "revised_explanation": "revised_explanation",
}


def first_line(text: str | None) -> str:
    """Keep the first non-empty line, stripped: teachers often run on past the explanation."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


@dataclass(frozen=True)
class TeacherOutput:
    """One teacher output with everything needed to trace and reproduce it."""

    id: str  # question id
    kind: str  # one of KINDS
    text: str
    option_label: str = ""  # A–E for option explanations, else ""
    prompt: str = ""
    params: dict = field(default_factory=dict)  # backend, model, decoding parameters, seed, random draws
    flags: tuple[str, ...] = ()
    usage: dict = field(default_factory=dict)  # prompt_tokens, completion_tokens
    cache_key: str = ""
    created_at: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown teacher output kind {self.kind!r}; expected one of {KINDS}")
        if (self.kind == "option_explanation") != (self.option_label in LABELS):
            raise ValueError(f"option_label {self.option_label!r} does not fit kind {self.kind!r}")

    def to_json(self) -> dict:
        return {**asdict(self), "flags": list(self.flags)}

    @classmethod
    def from_json(cls, obj: dict) -> "TeacherOutput":
        return cls(**{**obj, "flags": tuple(obj.get("flags", ()))})


@dataclass(frozen=True)
class TeacherExplanations:
    """What training needs from the teacher for one question. None where the teacher output is absent."""

    id: str
    explanation: str | None = None  # few-shot (data variant `unrevised`)
    revised_explanation: str | None = None  # after critique-revision (data variant `revised`)
    option_explanations: tuple[str | None, ...] | None = None  # one per option, in order A, B, ...
    critique: str | None = None


def explanations_from_outputs(outputs: Iterable[TeacherOutput]) -> dict[str, TeacherExplanations]:
    """Gather output records by question (a later record of the same kind wins)."""
    gathered: dict[str, dict] = {}
    for output in outputs:
        entry = gathered.setdefault(output.id, {"id": output.id})
        text = first_line(output.text)
        if output.kind == "option_explanation":
            options = list(entry.get("option_explanations") or [None] * len(LABELS))
            options[LABELS.index(output.option_label)] = text
            entry["option_explanations"] = tuple(options)
        else:
            entry[output.kind] = text
    return {qid: TeacherExplanations(**entry) for qid, entry in gathered.items()}


def _explanations_from_recorded(obj: dict) -> TeacherExplanations:
    options = obj.get("option_explanations")
    return TeacherExplanations(
        id=obj["id"],
        **{
            kind: first_line(obj[name]) if obj.get(name) is not None else None
            for kind, name in RECORDED_FIELDS.items()
        },
        option_explanations=tuple(first_line(o) for o in options) if options is not None else None,
    )


def _check_recorded(obj: dict, file: str, line: int) -> list[Problem]:
    problems = []
    for name in RECORDED_FIELDS.values():
        if obj.get(name) is not None and not isinstance(obj[name], str):
            problems.append(Problem(file, line, name, "must be a string"))
    options = obj.get("option_explanations")
    if options is not None and (
        not isinstance(options, list)
        or not 2 <= len(options) <= len(LABELS)
        or not all(isinstance(o, str) for o in options)
    ):
        problems.append(
            Problem(
                file,
                line,
                "option_explanations",
                f"must be a list of 2 to {len(LABELS)} strings, one per option in order",
            )
        )
    return problems


def read_teacher_file(path: str | Path) -> tuple[list[TeacherOutput], list[TeacherExplanations]]:
    """Read a teacher file in either layout, validating every line. Raises DataError listing the problems."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no teacher output file at {path}")
    problems: list[Problem] = []
    outputs: list[TeacherOutput] = []
    recorded: list[TeacherExplanations] = []
    for line, obj in read_jsonl(path, problems):
        if not isinstance(obj.get("id"), str) or not obj["id"]:
            problems.append(Problem(str(path), line, "id", "missing or not a string"))
            continue
        if "kind" in obj:
            try:
                outputs.append(TeacherOutput.from_json(obj))
            except (TypeError, ValueError) as exc:
                problems.append(Problem(str(path), line, "kind", str(exc)))
        else:
            found = _check_recorded(obj, str(path), line)
            problems.extend(found)
            if not found:
                recorded.append(_explanations_from_recorded(obj))
    if problems:
        raise DataError(problems)
    return outputs, recorded


def load_teacher_explanations(paths: Iterable[str | Path]) -> dict[str, TeacherExplanations]:
    """Teacher explanations per question id, merged over files (a later file fills or overrides fields)."""
    merged: dict[str, TeacherExplanations] = {}
    for path in paths:
        outputs, recorded = read_teacher_file(path)
        for item in [*recorded, *explanations_from_outputs(outputs).values()]:
            merged[item.id] = _merge(merged.get(item.id), item)
    return merged


def _merge(old: TeacherExplanations | None, new: TeacherExplanations) -> TeacherExplanations:
    if old is None:
        return new
    updates = {name: value for name, value in asdict(new).items() if value is not None and name != "id"}
    if old.option_explanations and new.option_explanations:
        updates["option_explanations"] = tuple(
            n if n is not None else o
            for o, n in zip_longest(old.option_explanations, new.option_explanations)
        )
    return replace(old, **updates)


def write_outputs(outputs: Iterable[TeacherOutput], path: str | Path, *, append: bool = True) -> int:
    """Append output records to a JSONL file (the CLI's store). Returns how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(path, "a" if append else "w", encoding="utf-8") as handle:
        for output in outputs:
            handle.write(json.dumps(output.to_json(), ensure_ascii=False) + "\n")
            count += 1
        handle.flush()
    return count
