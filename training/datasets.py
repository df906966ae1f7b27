"""The dataset registry: every multiple-choice task the pipeline knows, as data.

A `DatasetSpec` says all that differs between datasets: where the hub keeps it and how its rows map to the
project's layout, how many options a question has (and their texts when they are the same for every question),
the dataset's own fields (StrategyQA's `facts`, e-SNLI's `premise` and `hypothesis`), how the question reads,
whether the student sees the choices, which split is the test set, the teacher's instruction and worked
examples, format overrides per named formats, and the wording a study page gives the options.

Adding a dataset of this kind is one entry in `DATASETS`.

| dataset      | options                                  | own fields            | test split  | hub id              |
|--------------|------------------------------------------|-----------------------|-------------|---------------------|
| `cqa`        | five per question                        | —                     | validation  | tau/commonsense_qa  |
| `strategyqa` | yes, no                                  | facts                 | test        | ChilleD/StrategyQA  |
| `esnli`      | entailment, neutral, contradiction       | premise, hypothesis   | test        | esnli               |
"""

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .worked_examples import ESNLI_EXAMPLES, ESNLI_LABELS, STRATEGYQA_EXAMPLES, WORKED_EXAMPLES, WorkedExample

DISPLAYS = ("choices", "yes_no", "premise_hypothesis")  # how a study page shows a question


@dataclass(frozen=True)
class DatasetSpec:
    name: str  # the registry key, e.g. "strategyqa"
    title: str  # for people, e.g. "StrategyQA"
    option_count: int
    splits: tuple[str, ...]  # splits with answers
    test_split: str  # the split that serves as the test set
    file_prefix: str  # a local folder holds {prefix}_{split}.jsonl (or {split}.jsonl)
    hub_id: str
    hub_row: Callable[
        [dict], dict
    ]  # a hub row in the project's layout (id, question, fields, choices, answerKey)
    explain_instruction: str  # the few-shot explanation prompt's instruction to the teacher
    worked_examples: tuple[WorkedExample, ...]
    options: tuple[str, ...] | None = None  # the option texts when every question has the same ones
    fields: tuple[str, ...] = ()  # the dataset's own fields, kept with each question
    question_template: str = ""  # builds the question from `fields` where a row has no `question`
    show_choices: bool = True  # whether the student's input lists the choices
    display: str = "choices"  # one of DISPLAYS
    option_wording: tuple[str, ...] = ()  # the options as a study page words them for lay people
    field_labels: tuple[tuple[str, str], ...] = ()  # field -> label on a study page
    hub_config: str | None = None
    # Per named formats (training.formats.FORMATS), the settings this dataset's student formats change.
    format_overrides: Mapping[str, Mapping] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.test_split not in self.splits:
            raise ValueError(f"{self.name}: test split {self.test_split!r} is not among {self.splits}")
        if self.options is not None and len(self.options) != self.option_count:
            raise ValueError(f"{self.name}: {len(self.options)} option texts for {self.option_count} options")
        if self.display not in DISPLAYS:
            raise ValueError(f"{self.name}: display {self.display!r} is not one of {DISPLAYS}")
        if self.option_wording and len(self.option_wording) != self.option_count:
            raise ValueError(f"{self.name}: option_wording needs {self.option_count} texts")

    def split_files(self, split: str) -> tuple[str, ...]:
        """The file names looked for in a data folder for `split`, in order."""
        if split not in self.splits:
            raise ValueError(f"unknown split {split!r} for {self.title}; expected one of {self.splits}")
        return (f"{self.file_prefix}_{split}.jsonl", f"{split}.jsonl")

    def complete_row(self, row: dict) -> dict:
        """A row with its question built from the dataset's fields where the row has none."""
        if row.get("question") is None and self.question_template:
            try:
                return {**row, "question": self.question_template.format(**row)}
            except (KeyError, IndexError, ValueError):
                return row  # the missing fields are reported by the validation
        return row

    def field_label(self, name: str) -> str:
        return dict(self.field_labels).get(name, name.capitalize())


def _cqa_row(row: dict) -> dict:
    return {key: row[key] for key in ("id", "question", "choices", "answerKey") if key in row}


def _strategyqa_row(row: dict) -> dict:
    facts = row.get("facts")
    answer = row.get("answer")
    return {
        "id": row.get("qid", row.get("id")),
        "question": row.get("question"),
        "facts": " ".join(facts) if isinstance(facts, list) else facts,
        "choices": {"label": ["A", "B"], "text": ["yes", "no"]},
        "answerKey": {True: "A", False: "B"}.get(answer, answer),
    }


def esnli_id(premise: str, hypothesis: str) -> str:
    """The id the project gives an e-SNLI pair (the hub copy has none): a hash of premise and hypothesis."""
    return hashlib.sha1(f"{premise}\t{hypothesis}".encode()).hexdigest()[:20]


def _esnli_row(row: dict) -> dict:
    label = row.get("label")
    premise, hypothesis = row.get("premise"), row.get("hypothesis")
    return {
        "id": esnli_id(premise or "", hypothesis or ""),
        "premise": premise,
        "hypothesis": hypothesis,
        "choices": {"label": ["A", "B", "C"], "text": list(ESNLI_LABELS)},
        # The hub marks pairs without a gold label with -1: they are reported, not guessed.
        "answerKey": "ABC"[label] if isinstance(label, int) and 0 <= label < 3 else label,
    }


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            name="cqa",
            title="CommonsenseQA",
            option_count=5,
            splits=("train", "validation"),
            test_split="validation",  # the official test split has no answers
            file_prefix="cqa",
            hub_id="tau/commonsense_qa",
            hub_row=_cqa_row,
            explain_instruction=(
                "Each question below has five answer choices and a given answer. Explain in two or three "
                "sentences why the given answer fits the question."
            ),
            worked_examples=WORKED_EXAMPLES,
        ),
        DatasetSpec(
            name="strategyqa",
            title="StrategyQA",
            option_count=2,
            options=("yes", "no"),
            splits=("train", "test"),
            test_split="test",
            file_prefix="strategyqa",
            hub_id="ChilleD/StrategyQA",
            hub_row=_strategyqa_row,
            fields=("facts",),
            show_choices=False,
            display="yes_no",
            option_wording=("Yes", "No"),
            field_labels=(("facts", "Facts"),),
            explain_instruction=(
                "Each yes/no question below needs a few steps of reasoning and comes with a given answer. Explain "
                "in two or three sentences the facts and steps that lead to the given answer."
            ),
            worked_examples=STRATEGYQA_EXAMPLES,
            # The study's StrategyQA code: no choices, no trailing space, no "[answer] " before the prediction,
            # and the counterfactual rationale on a new line.
            format_overrides={
                "paper": {
                    "explanation_input": "\nRationale: {explanation}",
                    "input_end": "",
                    "target_prefixes": (
                        ("factual", "[factual] Answer: "),
                        ("counterfactual", "[counterfactual] "),
                    ),
                }
            },
        ),
        DatasetSpec(
            name="esnli",
            title="e-SNLI",
            option_count=3,
            options=ESNLI_LABELS,
            splits=("train", "validation", "test"),
            test_split="test",
            file_prefix="esnli",
            hub_id="esnli",
            hub_row=_esnli_row,
            fields=("premise", "hypothesis"),
            question_template="Premise: {premise} Hypothesis: {hypothesis} What is the relationship?",
            display="premise_hypothesis",
            option_wording=("follows from it", "may or may not be true", "contradicts it"),
            field_labels=(("premise", "Statement"), ("hypothesis", "Claim about it")),
            # The study's e-SNLI code lays the input out as CQA's (question, then the choices) with no trailing
            # space.
            format_overrides={"paper": {"input_end": ""}},
            explain_instruction=(
                "Each pair below has a premise, a hypothesis and a given relationship between them: entailment "
                "(the hypothesis must be true if the premise is), neutral (it may or may not be true) or "
                "contradiction (it cannot be true). Explain in one or two sentences why the given relationship holds."
            ),
            worked_examples=ESNLI_EXAMPLES,
        ),
    )
}
DEFAULT_DATASET = "cqa"


def dataset_spec(name: "str | DatasetSpec") -> DatasetSpec:
    if isinstance(name, DatasetSpec):
        return name
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {tuple(DATASETS)}")
    return DATASETS[name]


def _by_prefix(name: str) -> str | None:
    return next((spec.name for spec in DATASETS.values() if name.startswith(f"{spec.file_prefix}_")), None)


def _by_row(path: Path) -> str | None:
    """The dataset a JSONL file's first row has the fields of (None when it has none of them)."""
    try:
        with open(path, encoding="utf-8") as handle:
            line = next((line for line in handle if line.strip()), "")
        row = json.loads(line) if line else {}
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(row, dict):
        return None
    return next(
        (spec.name for spec in DATASETS.values() if spec.fields and all(f in row for f in spec.fields)), None
    )


def split_of_file_name(name: str) -> str | None:
    """The split a question file's name says it holds (cqa_train.jsonl, strategyqa_test.jsonl, test.jsonl)."""
    base = Path(name).name
    return next(
        (split for spec in DATASETS.values() for split in spec.splits if base in spec.split_files(split)),
        None,
    )


def dataset_of_file(path: str | Path, name: str | None = None) -> str:
    """The dataset a question file holds: from its name (strategyqa_train.jsonl; `name` for an upload kept under
    another) or its first row's fields."""
    path = Path(path)
    return _by_prefix(Path(name or path).name) or _by_row(path) or DEFAULT_DATASET


def dataset_of_folder(folder: str | Path) -> str:
    """The dataset of a data folder laid out like ../shared/data/*: from the names or first rows of its files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no data folder at {folder}")
    files = sorted(folder.glob("*.jsonl"))
    for path in files:
        if found := _by_prefix(path.name):
            return found
    for path in files:
        if path.stem in ("train", "validation", "test") and (found := _by_row(path)):
            return found
    return DEFAULT_DATASET


def dataset_of_source(source: str | Path, dataset: str | None = None) -> str:
    """The dataset of a `--data` source: `dataset` when given, else what `hub:NAME`, a folder's or a file's names
    say (CQA for plain `hub`)."""
    if dataset:
        return dataset_spec(dataset).name
    text = str(source)
    if text == "hub" or text.startswith("hub:"):
        return dataset_spec(text.partition(":")[2] or DEFAULT_DATASET).name
    path = Path(source)
    return dataset_of_folder(path) if path.is_dir() else dataset_of_file(path)
