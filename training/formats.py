"""Student input and target formats, written once, and read back: the project's and the study's (`paper`).

| task           | input (project)                                                   | target (project)                           |
|----------------|-------------------------------------------------------------------|--------------------------------------------|
| predict        | `[predict] Question: {q}\\nChoices: {choices}`                     | `The answer is {answer}`                   |
| explain        | `[explain] Question: {q}\\nChoices: {choices}`                     | `{explanation}`                            |
| factual        | `[factual] Question: {q}\\nChoices: {choices}`                     | `{explanation} So the answer is {answer}.` |
| counterfactual | `[counterfactual] ...\\nChoices: {choices}\\nExplanation: {wrong}` | `So the answer is {wrong option}.`         |

The `paper` formats are the study's code's: every input ends with a space, the targets carry a prefix
(`[answer] `, `[factual] Answer: `, `[counterfactual] `), and the counterfactual input joins the explanation with
a literal backslash, `...{choices}\\Rationale: {wrong} ` (a typo the study's students trained with).
`{choices}` is `(a) c1 (b) c2 (c) c3 (d) c4 (e) c5` (as many as the question has options); `{answer}` is the
text of an option.

Datasets (`training.datasets`) change two things: whether the input lists the choices (StrategyQA's does not:
`[predict] Question: {q}`), and, per named formats, any of the settings of `Formats` (StrategyQA's `paper`
formats are the study's StrategyQA code's: no trailing space, no `[answer] ` prefix, `\nRationale: {wrong}`).
"""

import re
from dataclasses import dataclass, replace

from .cqa import LABELS, Question
from .datasets import DATASETS, DEFAULT_DATASET, dataset_spec

TASKS = ("predict", "explain", "factual", "counterfactual")

QUESTION_ONLY_INPUT = "[{task}] Question: {question}"
QUESTION_INPUT = QUESTION_ONLY_INPUT + "\nChoices: {choices}"
CHOICE = "({letter}) {text}"
PREDICT_TARGET = "The answer is {answer}"
SO_THE_ANSWER_IS = "So the answer is {answer}."
FACTUAL_TARGET = "{explanation} " + SO_THE_ANSWER_IS

_PREDICT_PREFIX = PREDICT_TARGET.split("{")[0].strip()  # "The answer is"
_SO_PREFIX = SO_THE_ANSWER_IS.split("{")[0].strip()  # "So the answer is"


@dataclass(frozen=True)
class Formats:
    """What one set of formats adds around the shared strings above."""

    explanation_input: str  # appended to the counterfactual input
    input_end: str = ""  # appended to every input
    target_prefixes: tuple[tuple[str, str], ...] = ()  # (task, prefix) put before a task's target

    def prefix(self, task: str) -> str:
        return dict(self.target_prefixes).get(task, "")


FORMATS = {
    "project": Formats(explanation_input="\nExplanation: {explanation}"),
    "paper": Formats(
        explanation_input="\\Rationale: {explanation}",
        input_end=" ",
        target_prefixes=(
            ("predict", "[answer] "),
            ("factual", "[factual] Answer: "),
            ("counterfactual", "[counterfactual] "),
        ),
    ),
}
DEFAULT_FORMATS = "project"


def formats_named(name: str, dataset: str = DEFAULT_DATASET) -> Formats:
    """The formats `name` as `dataset` (a registry name) uses them."""
    if name not in FORMATS:
        raise ValueError(f"unknown formats {name!r}; expected one of {tuple(FORMATS)}")
    return replace(FORMATS[name], **dataset_spec(dataset).format_overrides.get(name, {}))


def format_choices(choices: tuple[str, ...]) -> str:
    return " ".join(
        CHOICE.format(letter=label.lower(), text=text)
        for label, text in zip(LABELS[: len(choices)], choices, strict=True)
    )


def task_input(
    task: str, question: Question, explanation: str | None = None, *, formats: str = DEFAULT_FORMATS
) -> str:
    """The student's input for `task`; the counterfactual task also takes a (wrong option's) explanation."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")
    style = formats_named(formats, question.dataset)
    layout = QUESTION_INPUT if dataset_spec(question.dataset).show_choices else QUESTION_ONLY_INPUT
    text = layout.format(task=task, question=question.question, choices=format_choices(question.choices))
    if task == "counterfactual":
        if explanation is None:
            raise ValueError("the counterfactual input needs the explanation of a wrong option")
        text += style.explanation_input.format(explanation=explanation)
    return text + style.input_end


def task_target(
    task: str,
    *,
    answer: str = "",
    explanation: str = "",
    formats: str = DEFAULT_FORMATS,
    dataset: str = DEFAULT_DATASET,
) -> str:
    """The student's target for `task`: `answer` is an option's text, `explanation` the teacher's."""
    if task == "predict":
        target = PREDICT_TARGET.format(answer=answer)
    elif task == "explain":
        target = explanation
    elif task == "factual":
        target = FACTUAL_TARGET.format(explanation=explanation, answer=answer)
    elif task == "counterfactual":
        target = SO_THE_ANSWER_IS.format(answer=answer)
    else:
        raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")
    return formats_named(formats, dataset).prefix(task) + target


def _strip_prefix(text: str, prefix: str) -> str:
    if text.lower().startswith(prefix.lower()):
        text = text[len(prefix) :]
    return text.strip()


def _strip_final_period(text: str) -> str:
    return text[:-1].rstrip() if text.endswith(".") else text


def read_output(
    task: str, output: str, *, formats: str = DEFAULT_FORMATS, dataset: str = DEFAULT_DATASET
) -> tuple[str, str]:
    """Split a generated output into (answer text, explanation), the inverse of `task_target`.

    The formats' target prefix is dropped first. `predict`: the text after "The answer is"; `explain`: the whole
    output is the explanation; `factual`: the explanation before the last "So the answer is" and the answer
    after it (no marker: all explanation, no answer); `counterfactual`: the text after "So the answer is".
    """
    output = _strip_prefix(output.strip(), formats_named(formats, dataset).prefix(task).strip())
    if task == "predict":
        return _strip_final_period(_strip_prefix(output, _PREDICT_PREFIX)), ""
    if task == "explain":
        return "", output
    if task == "factual":
        matches = list(re.finditer(re.escape(_SO_PREFIX), output, flags=re.IGNORECASE))
        if not matches:
            return "", output
        last = matches[-1]
        return _strip_final_period(output[last.end() :].strip()), output[: last.start()].strip()
    if task == "counterfactual":
        return _strip_final_period(_strip_prefix(output, _SO_PREFIX)), ""
    raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")


def format_strings(formats: str = DEFAULT_FORMATS) -> list[str]:
    """Every fixed piece of text the formats add, for any dataset, for building a tokenizer that knows them."""
    texts = [QUESTION_INPUT.format(task=task, question="", choices="") for task in TASKS] + [
        PREDICT_TARGET.format(answer=""),
        SO_THE_ANSWER_IS.format(answer=""),
        format_choices(("",) * len(LABELS)),
    ]
    for name in DATASETS:
        style = formats_named(formats, name)
        texts += [style.explanation_input.format(explanation=""), *(p for _, p in style.target_prefixes)]
    return list(dict.fromkeys(texts))
