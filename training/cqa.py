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

LABELS = ("A", "B", "C", "D", "E")  # option letters; a dataset of k options uses the first k
SPLITS = (
    "train",
    "validation",
    "test",
)  # which of them a dataset has, and which is its test set: its registry entry


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    choices: tuple[str, ...]  # k options, in order A, B, ... (five for CQA)
    answer_key: str  # one of `labels`
    dataset: str = "cqa"  # its entry in the dataset registry (training.datasets)
    extra: tuple[tuple[str, str], ...] = ()  # the dataset's own fields (premise, hypothesis, facts, ...)

    @property
    def labels(self) -> tuple[str, ...]:
        return LABELS[: len(self.choices)]

    @property
    def fields(self) -> dict[str, str]:
        return dict(self.extra)

    @property
    def answer_index(self) -> int:
        return LABELS.index(self.answer_key)

    @property
    def answer_text(self) -> str:
        return self.choices[self.answer_index]

    def to_json(self) -> dict:
        """The Hugging Face `commonsense_qa` layout, plus the dataset's own fields."""
        return {
            "id": self.id,
            "question": self.question,
            **self.fields,
            "choices": {"label": list(self.labels), "text": list(self.choices)},
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
    obj: dict, *, file: str = "<data>", line: int = 0, dataset=None
) -> tuple[Question | None, list[Problem]]:
    """Validate one row in either layout, for `dataset` (a `training.datasets.DatasetSpec`; CQA when None).
    Returns the question, or None and the problems found."""
    from .datasets import dataset_spec

    spec = dataset or dataset_spec("cqa")
    problems: list[Problem] = []

    def problem(field: str, message: str) -> None:
        problems.append(Problem(file, line, field, message))

    obj = spec.complete_row(obj)
    for field in ("id", "question", *spec.fields):
        value = obj.get(field)
        if value is None:
            problem(field, "missing field")
        elif not isinstance(value, str) or not value.strip():
            problem(field, "must be a non-empty string")

    choices, answer_key = _parse_choices_and_answer(obj, problem, LABELS[: spec.option_count])
    if spec.options and choices and tuple(choices) != spec.options:
        problem("choices", f"{spec.title} has the options {list(spec.options)}, got {list(choices)}")
    if problems:
        return None, problems
    extra = tuple((field, obj[field]) for field in spec.fields)
    return Question(
        id=obj["id"],
        question=obj["question"],
        choices=choices,
        answer_key=answer_key,
        dataset=spec.name,
        extra=extra,
    ), []


def _parse_choices_and_answer(obj: dict, problem, expected: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    k = len(expected)
    raw = obj.get("choices")
    if raw is None:
        problem("choices", "missing field")
        return (), ""
    if isinstance(raw, dict):  # commonsense_qa layout
        labels, texts = raw.get("label"), raw.get("text")
        if not isinstance(texts, list) or not isinstance(labels, list):
            problem("choices", "must have 'label' and 'text' lists")
            return (), ""
        if len(texts) != len(expected) or len(labels) != len(expected):
            problem("choices", f"expected {k} choices, got {len(texts)}")
            return (), ""
        if list(labels) != list(expected):
            problem("choices.label", f"labels must be {list(expected)}, got {labels}")
        answer_key = obj.get("answerKey")
        if answer_key is None:
            problem("answerKey", "missing field")
        elif answer_key not in labels:
            problem("answerKey", f"{answer_key!r} is not among the labels {labels}")
    elif isinstance(raw, list):  # CoS-E layout
        texts = raw
        if len(texts) != len(expected):
            problem("choices", f"expected {k} choices, got {len(texts)}")
            return (), ""
        answer = obj.get("answer")
        answer_key = ""
        if answer is None:
            problem("answer", "missing field")
        elif answer not in texts:
            problem("answer", f"{answer!r} is not one of the choices")
        else:
            answer_key = expected[texts.index(answer)]
    else:
        problem(
            "choices",
            f"must be an object with label/text lists or a list of {k} strings, got {type(raw).__name__}",
        )
        return (), ""
    bad = [i for i, text in enumerate(texts) if not isinstance(text, str) or not text.strip()]
    if bad:
        problem("choices", f"choice(s) {', '.join(expected[i] for i in bad)} must be non-empty strings")
    return tuple(texts), answer_key or ""


def parse_questions(
    rows: Iterable[tuple[int, dict]], *, file: str, problems: list[Problem], dataset=None
) -> list[Question]:
    """Validate rows of `dataset` (CQA when None); collect problems (including duplicate ids) into `problems`."""
    questions: list[Question] = []
    first_line: dict[str, int] = {}
    for line, obj in rows:
        question, found = parse_question(obj, file=file, line=line, dataset=dataset)
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


def load_questions(path: str | Path, dataset: str | None = None) -> list[Question]:
    """Load and validate a JSONL file of questions of `dataset` (a registry name; by default the one the file's
    name or first row says). Raises DataError listing every problem."""
    from .datasets import dataset_of_file, dataset_spec

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no question file at {path}")
    spec = dataset_spec(dataset or dataset_of_file(path))
    problems: list[Problem] = []
    questions = parse_questions(read_jsonl(path, problems), file=str(path), problems=problems, dataset=spec)
    if not questions and not problems:
        problems.append(Problem(str(path), 0, "", "the file holds no questions"))
    if problems:
        raise DataError(sorted(problems, key=lambda p: p.line))
    return questions


def split_file(folder: str | Path, split: str, dataset: str | None = None) -> Path:
    """The file of `split` in a data folder (e.g. cqa_train.jsonl, strategyqa_test.jsonl)."""
    from .datasets import dataset_of_folder, dataset_spec

    spec = dataset_spec(dataset or dataset_of_folder(folder))
    names = spec.split_files(split)
    folder = Path(folder)
    for name in names:
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"no {split} file in {folder}: expected one of {', '.join(names)}")


def load_split(source: str | Path, split: str, dataset: str | None = None) -> list[Question]:
    """Questions of a split from a JSONL file, a data folder, or `hub` (the dataset's hub copy, when online).
    `dataset` names the registry entry; by default the folder's or file's names say which (CQA for `hub`)."""
    if str(source) == "hub" or str(source).startswith("hub:"):
        from .hub import load_from_hub

        return load_from_hub(dataset or str(source).partition(":")[2] or "cqa", split)
    source = Path(source)
    if source.is_dir():
        return load_questions(split_file(source, split, dataset), dataset)
    return load_questions(source, dataset)


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
