"""Student input and target formats: the exact strings of the study, written once, and read back.

| task           | input                                                              | target                                  |
|----------------|--------------------------------------------------------------------|-----------------------------------------|
| predict        | `[predict] Question: {q}\\nChoices: {choices}`                      | `The answer is {answer}`                |
| explain        | `[explain] Question: {q}\\nChoices: {choices}`                      | `{explanation}`                         |
| factual        | `[factual] Question: {q}\\nChoices: {choices}`                      | `{explanation} So the answer is {answer}.` |
| counterfactual | `[counterfactual] ...\\nChoices: {choices}\\nExplanation: {wrong}`   | `So the answer is {wrong option}.`      |

`{choices}` is `(a) c1 (b) c2 (c) c3 (d) c4 (e) c5`; `{answer}` is the text of an option.
"""

import re

from .cqa import LABELS, Question

TASKS = ("predict", "explain", "factual", "counterfactual")

QUESTION_INPUT = "[{task}] Question: {question}\nChoices: {choices}"
EXPLANATION_INPUT = "\nExplanation: {explanation}"  # appended to the counterfactual input
CHOICE = "({letter}) {text}"
PREDICT_TARGET = "The answer is {answer}"
SO_THE_ANSWER_IS = "So the answer is {answer}."
FACTUAL_TARGET = "{explanation} " + SO_THE_ANSWER_IS

_PREDICT_PREFIX = PREDICT_TARGET.split("{")[0].strip()  # "The answer is"
_SO_PREFIX = SO_THE_ANSWER_IS.split("{")[0].strip()  # "So the answer is"


def format_choices(choices: tuple[str, ...]) -> str:
    return " ".join(
        CHOICE.format(letter=label.lower(), text=text) for label, text in zip(LABELS, choices, strict=True)
    )


def task_input(task: str, question: Question, explanation: str | None = None) -> str:
    """The student's input for `task`; the counterfactual task also takes a (wrong option's) explanation."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")
    text = QUESTION_INPUT.format(
        task=task, question=question.question, choices=format_choices(question.choices)
    )
    if task == "counterfactual":
        if explanation is None:
            raise ValueError("the counterfactual input needs the explanation of a wrong option")
        text += EXPLANATION_INPUT.format(explanation=explanation)
    return text


def task_target(task: str, *, answer: str = "", explanation: str = "") -> str:
    """The student's target for `task`: `answer` is an option's text, `explanation` the teacher's."""
    if task == "predict":
        return PREDICT_TARGET.format(answer=answer)
    if task == "explain":
        return explanation
    if task == "factual":
        return FACTUAL_TARGET.format(explanation=explanation, answer=answer)
    if task == "counterfactual":
        return SO_THE_ANSWER_IS.format(answer=answer)
    raise ValueError(f"unknown task {task!r}; expected one of {TASKS}")


def _strip_prefix(text: str, prefix: str) -> str:
    if text.lower().startswith(prefix.lower()):
        text = text[len(prefix) :]
    return text.strip()


def _strip_final_period(text: str) -> str:
    return text[:-1].rstrip() if text.endswith(".") else text


def read_output(task: str, output: str) -> tuple[str, str]:
    """Split a generated output into (answer text, explanation), the inverse of `task_target`.

    `predict`: the text after "The answer is"; `explain`: the whole output is the explanation; `factual`: the
    explanation before the last "So the answer is" and the answer after it (no marker: all explanation, no answer);
    `counterfactual`: the text after "So the answer is".
    """
    output = output.strip()
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


def format_strings() -> list[str]:
    """Every fixed piece of text the formats add, for building a tokenizer that knows them."""
    return [QUESTION_INPUT.format(task=task, question="", choices="") for task in TASKS] + [
        EXPLANATION_INPUT.format(explanation=""),
        PREDICT_TARGET.format(answer=""),
        SO_THE_ANSWER_IS.format(answer=""),
        format_choices(("",) * len(LABELS)),
    ]
