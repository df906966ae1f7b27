"""Training examples: each question becomes the inputs and targets of its method's tasks.

Teacher data is checked for every question before anything trains: a missing explanation (or too few wrong-option
explanations for the counterfactual task) is reported with the question and the field, all at once.
"""

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from .config import TrainConfig
from .cqa import LABELS, DataError, Problem, Question
from .formats import DEFAULT_FORMATS, TASKS, format_strings, task_input, task_target
from .teacher_outputs import TeacherExplanations

TEACHER_SOURCE = "teacher outputs"


@dataclass(frozen=True)
class Segment:
    """One task's input and target for one question."""

    task: str
    input: str
    target: str


@dataclass
class TrainingData:
    examples: list[list[Segment]]  # one list of segments per question, in the order of its method's tasks
    question_ids: list[str]
    skipped: dict[str, str] = field(default_factory=dict)  # question id -> why it was left out


def counterfactual_labels(
    question: Question, teacher: TeacherExplanations, *, count: int, seed: int, rule: str = "random"
) -> list[str]:
    """Options (with a teacher explanation) for the counterfactual task, chosen by `rule` (see
    `config.WRONG_OPTIONS`): wrong ones drawn per question with the seed, the first wrong ones in option order,
    or the first ones whatever they are. [] when too few have an explanation."""
    options = teacher.option_explanations or ()
    labels = question.labels
    explained = [label for label, text in zip(labels, options, strict=False) if text and text.strip()]
    if rule == "first":
        return list(labels[:count]) if all(label in explained for label in labels[:count]) else []
    available = [label for label in explained if label != question.answer_key]
    if len(available) < count:
        return []
    if rule == "first_wrong":
        return available[:count]
    return sorted(random.Random(f"{seed}/{question.id}").sample(available, count))


def question_segments(
    question: Question, teacher: TeacherExplanations | None, config: TrainConfig
) -> tuple[list[Segment], list[Problem]]:
    """The segments of one question, or the problems that prevent them."""

    def problem(name: str, message: str) -> list[Problem]:
        return [Problem(TEACHER_SOURCE, 0, name, f"question {question.id!r}: {message}")]

    tasks = config.active_tasks
    needs = config.required_teacher_outputs
    if teacher is None and needs:
        return [], problem(needs[0], "no teacher outputs at all for this question")
    explanation = ""
    if config.explanation_field in needs:
        explanation = (getattr(teacher, config.explanation_field) or "").strip()
        if not explanation:
            return [], problem(
                config.explanation_field, f"missing or empty (needed by data variant {config.data_variant!r})"
            )
    texts = {task: explanation for task in tasks}
    if "factual" in tasks and config.factual_explanation == "gold_option":
        texts["factual"] = option_explanation(teacher, question.answer_key)
        if not texts["factual"]:
            return [], problem(
                "option_explanations", "the gold option has no explanation (needed by the factual task)"
            )
    wrong: list[str] = []
    if "counterfactual" in tasks:
        wrong = counterfactual_labels(
            question,
            teacher,
            count=config.counterfactuals_per_question,
            seed=config.seed,
            rule=config.wrong_option,
        )
        if not wrong:
            count = config.counterfactuals_per_question
            missing = (
                f"the first {count} option(s) lack an explanation"
                if config.wrong_option == "first"
                else f"fewer than {count} wrong options have an explanation"
            )
            return [], problem("option_explanations", f"{missing} (needed by the counterfactual task)")
    answer = question.answer_text
    formats = config.formats
    segments = []
    for task in tasks:
        if task == "counterfactual":
            for label in wrong:
                option = question.choices[LABELS.index(label)]
                text = option_explanation(teacher, label)
                segments.append(
                    Segment(
                        task,
                        task_input(task, question, text, formats=formats),
                        task_target(task, answer=option, formats=formats, dataset=question.dataset),
                    )
                )
        else:
            segments.append(
                Segment(
                    task,
                    task_input(task, question, formats=formats),
                    task_target(
                        task,
                        answer=answer,
                        explanation=texts[task],
                        formats=formats,
                        dataset=question.dataset,
                    ),
                )
            )
    return segments, []


def option_explanation(teacher: TeacherExplanations, label: str) -> str:
    options = teacher.option_explanations or ()
    index = LABELS.index(label)
    return (options[index] or "").strip() if index < len(options) else ""


def build_training_data(
    questions: list[Question], teacher: Mapping[str, TeacherExplanations], config: TrainConfig
) -> TrainingData:
    """Segments for every question. With `missing_teacher="error"` any problem raises DataError listing all."""
    data = TrainingData(examples=[], question_ids=[])
    problems: list[Problem] = []
    for question in questions:
        segments, found = question_segments(question, teacher.get(question.id), config)
        if found:
            problems.extend(found)
            data.skipped[question.id] = "; ".join(f"{p.field}: {p.message}" for p in found)
            continue
        data.examples.append(segments)
        data.question_ids.append(question.id)
    if problems and config.missing_teacher == "error":
        raise DataError(problems)
    if not data.examples:
        raise DataError(problems or [Problem(TEACHER_SOURCE, 0, "", "no training questions")])
    return data


def fed_examples(
    questions: list[Question], teacher: Mapping[str, TeacherExplanations], config: TrainConfig
) -> tuple[list[dict], dict[str, str]]:
    """What a student of `config` is fed: `{"question_id", "task", "input", "target"}` for each task of each
    question, and the questions left out with the reason."""
    rows: list[dict] = []
    skipped: dict[str, str] = {}
    for question in questions:
        segments, problems = question_segments(question, teacher.get(question.id), config)
        if problems:
            skipped[question.id] = "; ".join(f"{p.field}: {p.message}" for p in problems)
        rows += [
            {"question_id": question.id, "task": s.task, "input": s.input, "target": s.target}
            for s in segments
        ]
    return rows, skipped


def tokenizer_corpus(
    questions: list[Question], teacher: Mapping[str, TeacherExplanations], *, formats: str = DEFAULT_FORMATS
) -> list[str]:
    """The texts a tokenizer built for a run is trained on: the format strings, the questions and their options,
    and every teacher text for them, so that one tokenizer serves every method and data variant."""
    texts = list(format_strings(formats))
    for question in questions:
        texts.append(question.question)
        texts.extend(question.choices)
        texts.extend(text for _, text in question.extra)
        explanations = teacher.get(question.id)
        if explanations is not None:
            texts.extend(t for t in (explanations.explanation, explanations.revised_explanation) if t)
            texts.extend(t for t in explanations.option_explanations or () if t)
    return texts


def task_index(task: str) -> int:
    return TASKS.index(task)
