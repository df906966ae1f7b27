"""The exact input and target strings of each task, for both data variants, and reading outputs back."""

import pytest

from training.answers import match_option
from training.config import TrainConfig
from training.cqa import Question
from training.examples import question_segments
from training.formats import read_output

CHOICES = "Choices: (a) spoon (b) scissors (c) cup (d) hat (e) rope"
QUESTION = "Question: What do you use to cut paper?"
EXPLANATIONS = {
    "unrevised": "Scissors have two sharp blades made for cutting paper.",
    "revised": "Paper is cut with scissors, whose two sharp blades slide past each other.",
}


@pytest.mark.parametrize("variant", ["unrevised", "revised"])
def test_every_task_format_on_one_question(variant, questions, teacher):
    scissors = questions[1]
    config = TrainConfig(method="multitask_counterfactual", data_variant=variant)
    segments, problems = question_segments(scissors, teacher["q02"], config)
    explanation = EXPLANATIONS[variant]
    assert not problems
    assert [(s.task, s.input, s.target) for s in segments] == [
        ("predict", f"[predict] {QUESTION}\n{CHOICES}", "The answer is scissors"),
        ("explain", f"[explain] {QUESTION}\n{CHOICES}", explanation),
        ("factual", f"[factual] {QUESTION}\n{CHOICES}", f"{explanation} So the answer is scissors."),
        (
            "counterfactual",
            f"[counterfactual] {QUESTION}\n{CHOICES}\nExplanation: A spoon has an edge that might tear paper.",
            "So the answer is spoon.",
        ),
    ]


@pytest.mark.parametrize(
    ("method", "tasks"),
    [
        ("standard", ["predict"]),
        ("multitask", ["predict", "explain"]),
        ("counterfactual", ["factual", "counterfactual"]),
    ],
)
def test_each_method_trains_on_its_tasks(method, tasks, questions, teacher):
    segments, _ = question_segments(questions[1], teacher["q02"], TrainConfig(method=method))
    assert [s.task for s in segments] == tasks


def test_a_zero_loss_weight_drops_its_task(questions, teacher):
    segments, _ = question_segments(questions[1], teacher["q02"], TrainConfig(method="multitask", alpha=1.0))
    assert [s.task for s in segments] == ["predict"]


def test_outputs_read_back_into_answer_and_explanation():
    assert read_output("predict", "The answer is scissors") == ("scissors", "")
    assert read_output("predict", "scissors.") == ("scissors", "")
    assert read_output("explain", " Blades cut paper. ") == ("", "Blades cut paper.")
    assert read_output("factual", "Blades cut. So the answer is scissors.") == ("scissors", "Blades cut.")
    # The last marker separates the answer; without one, the whole output is the explanation.
    assert read_output("factual", "So the answer is x. So the answer is hat.") == (
        "hat",
        "So the answer is x.",
    )
    assert read_output("factual", "Blades cut paper") == ("", "Blades cut paper")
    assert read_output("counterfactual", "So the answer is spoon.") == ("spoon", "")


PAPER = Question("p", "What do you use to cut paper?", ("spoon", "scissors", "cup", "hat", "rope"), "B")
TWICE = Question("t", "Where is a bed?", ("bedroom", "hotel", "bedroom", "barn", "store"), "C")


@pytest.mark.parametrize(
    ("text", "question", "label", "rule"),
    [
        ("Scissors.", PAPER, "B", "exact"),
        ("  the   HAT ", PAPER, "D", "closest"),
        ("(b)", PAPER, "B", "letter"),
        ("E", PAPER, "E", "letter"),
        ("sissors", PAPER, "B", "closest"),
        ("a kitchen knife", PAPER, "", "none"),
        ("", PAPER, "", "none"),
        ("bedroom", TWICE, "C", "exact"),  # the same text twice: the gold copy
    ],
)
def test_answers_map_to_options_with_the_rule_that_matched(text, question, label, rule):
    match = match_option(text, question)
    assert (match.label, match.rule) == (label, rule)
