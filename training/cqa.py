"""CommonsenseQA questions: loading, validation, and the paper's train/eval split.

Two layouts are read:
- the Hugging Face `commonsense_qa` schema: `id`, `question`, `choices: {label: [A..E], text: [...]}`, `answerKey`;
- the CoS-E layout: `id`, `question`, `choices` as a list of 5 strings, `answer` as the answer text.

A file is validated whole: every problem is reported with file, line and field, and nothing is loaded unless the
whole file is clean.
"""

import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

LABELS = ("A", "B", "C", "D", "E")
SPLITS = ("train", "validation")
# File names looked for in a data folder, per split, in order.
SPLIT_FILES = {split: (f"cqa_{split}.jsonl", f"{split}.jsonl") for split in SPLITS}


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    choices: tuple[str, ...]  # five options, in order A–E
    answer_key: str  # one of LABELS

    @property
    def answer_index(self) -> int:
        return LABELS.index(self.answer_key)

    @property
    def answer_text(self) -> str:
        return self.choices[self.answer_index]

    def to_json(self) -> dict:
        """The Hugging Face `commonsense_qa` layout."""
        return {
            "id": self.id,
            "question": self.question,
            "choices": {"label": list(LABELS), "text": list(self.choices)},
            "answerKey": self.answer_key,
        }


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class DataError(ValueError):
    """A data file has problems; `problems` lists each one with file, line and field."""

    MAX_SHOWN = 50

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[: self.MAX_SHOWN])
        more = f"\n  ... and {len(problems) - self.MAX_SHOWN} more" if len(problems) > self.MAX_SHOWN else ""
        super().__init__(f"{len(problems)} problem(s); nothing was loaded:\n{shown}{more}")


def read_jsonl(path: Path, problems: list[Problem]) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for each non-blank line; record invalid JSON as problems."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(
                    Problem(str(path), number, "", f"invalid JSON ({exc.msg} at column {exc.colno})")
                )
                continue
            if not isinstance(obj, dict):
                problems.append(
                    Problem(str(path), number, "", f"expected a JSON object, got {type(obj).__name__}")
                )
                continue
            yield number, obj


def parse_question(
    obj: dict, *, file: str = "<data>", line: int = 0
) -> tuple[Question | None, list[Problem]]:
    """Validate one row in either layout. Returns the question, or None and the problems found."""
    problems: list[Problem] = []

    def problem(field: str, message: str) -> None:
        problems.append(Problem(file, line, field, message))

    for field in ("id", "question"):
        value = obj.get(field)
        if value is None:
            problem(field, "missing field")
        elif not isinstance(value, str) or not value.strip():
            problem(field, "must be a non-empty string")

    choices, answer_key = _parse_choices_and_answer(obj, problem)
    if problems:
        return None, problems
    return Question(id=obj["id"], question=obj["question"], choices=choices, answer_key=answer_key), []


def _parse_choices_and_answer(obj: dict, problem) -> tuple[tuple[str, ...], str]:
    raw = obj.get("choices")
    if raw is None:
        problem("choices", "missing field")
        return (), ""
    if isinstance(raw, dict):  # commonsense_qa layout
        labels, texts = raw.get("label"), raw.get("text")
        if not isinstance(texts, list) or not isinstance(labels, list):
            problem("choices", "must have 'label' and 'text' lists")
            return (), ""
        if len(texts) != len(LABELS) or len(labels) != len(LABELS):
            problem("choices", f"expected 5 choices, got {len(texts)}")
            return (), ""
        if list(labels) != list(LABELS):
            problem("choices.label", f"labels must be {list(LABELS)}, got {labels}")
        answer_key = obj.get("answerKey")
        if answer_key is None:
            problem("answerKey", "missing field")
        elif answer_key not in labels:
            problem("answerKey", f"{answer_key!r} is not among the labels {labels}")
    elif isinstance(raw, list):  # CoS-E layout
        texts = raw
        if len(texts) != len(LABELS):
            problem("choices", f"expected 5 choices, got {len(texts)}")
            return (), ""
        answer = obj.get("answer")
        answer_key = ""
        if answer is None:
            problem("answer", "missing field")
        elif answer not in texts:
            problem("answer", f"{answer!r} is not one of the choices")
        else:
            answer_key = LABELS[texts.index(answer)]
    else:
        problem(
            "choices",
            f"must be an object with label/text lists or a list of 5 strings, got {type(raw).__name__}",
        )
        return (), ""
    bad = [i for i, text in enumerate(texts) if not isinstance(text, str) or not text.strip()]
    if bad:
        problem("choices", f"choice(s) {', '.join(LABELS[i] for i in bad)} must be non-empty strings")
    return tuple(texts), answer_key or ""


def parse_questions(
    rows: Iterable[tuple[int, dict]], *, file: str, problems: list[Problem]
) -> list[Question]:
    """Validate rows; collect problems (including duplicate ids) into `problems`."""
    questions: list[Question] = []
    first_line: dict[str, int] = {}
    for line, obj in rows:
        question, found = parse_question(obj, file=file, line=line)
        problems.extend(found)
        if question is None:
            continue
        if question.id in first_line:
            problems.append(
                Problem(
                    file,
                    line,
                    "id",
                    f"duplicate id {question.id!r} (first on line {first_line[question.id]})",
                )
            )
            continue
        first_line[question.id] = line
        questions.append(question)
    return questions


def load_questions(path: str | Path) -> list[Question]:
    """Load and validate a JSONL file of questions. Raises DataError listing every problem."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no question file at {path}")
    problems: list[Problem] = []
    questions = parse_questions(read_jsonl(path, problems), file=str(path), problems=problems)
    if not questions and not problems:
        problems.append(Problem(str(path), 0, "", "the file holds no questions"))
    if problems:
        raise DataError(sorted(problems, key=lambda p: p.line))
    return questions


def split_file(folder: str | Path, split: str) -> Path:
    """The file of `split` in a data folder (e.g. cqa_train.jsonl)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    folder = Path(folder)
    for name in SPLIT_FILES[split]:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"no {split} file in {folder}: expected one of {', '.join(SPLIT_FILES[split])}")


def load_split(source: str | Path, split: str) -> list[Question]:
    """Questions of a split from a JSONL file, a data folder, or `hub` (tau/commonsense_qa, when online)."""
    if str(source) == "hub":
        from .hub import load_cqa_from_hub

        return load_cqa_from_hub(split)
    source = Path(source)
    return load_questions(split_file(source, split) if source.is_dir() else source)


EVAL_FRACTION = 0.1  # the paper's held-out share of the train questions


def train_eval_split(
    questions: list[Question], *, eval_fraction: float = EVAL_FRACTION, seed: int = 0
) -> tuple[list[Question], list[Question]]:
    """The paper's deterministic 90/10 split of the train file into train and held-out eval questions."""
    if not 0 < eval_fraction < 1:
        raise ValueError(f"eval_fraction must be between 0 and 1, got {eval_fraction}")
    order = sorted(range(len(questions)), key=lambda i: questions[i].id)
    random.Random(seed).shuffle(order)
    n_eval = max(1, round(len(questions) * eval_fraction)) if len(questions) > 1 else 0
    eval_ids = set(order[:n_eval])
    train = [q for i, q in enumerate(questions) if i not in eval_ids]
    held_out = [q for i, q in enumerate(questions) if i in eval_ids]
    return train, held_out


def write_questions(questions: Iterable[Question], path: str | Path) -> Path:
    """Write questions as JSONL in the commonsense_qa layout."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for question in questions:
            handle.write(json.dumps(question.to_json(), ensure_ascii=False) + "\n")
    return path
