"""Teacher data is checked before training: what is missing is named; counterfactual draws follow the seed."""

import dataclasses

import pytest

from training.config import TrainConfig
from training.cqa import LABELS, DataError
from training.examples import build_training_data, counterfactual_labels
from training.trainer import train


def test_a_missing_teacher_field_names_the_question_and_the_field(tmp_path, questions, teacher, tiny_config):
    broken = dict(teacher)
    broken["q03"] = dataclasses.replace(teacher["q03"], revised_explanation=None)
    broken["q07"] = dataclasses.replace(
        teacher["q07"], option_explanations=("", "Bees make honey.", "", "", "")
    )
    del broken["q09"]
    with pytest.raises(DataError) as error:
        train(
            tiny_config(method="multitask_counterfactual", data_variant="revised"),
            train_questions=questions,
            eval_questions=[],
            teacher=broken,
            output_dir=tmp_path / "run",
        )
    message = str(error.value)
    assert (
        "revised_explanation: question 'q03': missing or empty (needed by data variant 'revised')" in message
    )
    assert "option_explanations: question 'q07': fewer than 1 wrong options have an explanation" in message
    assert "question 'q09': no teacher outputs at all" in message
    assert not (tmp_path / "run").exists()  # nothing was written


def test_skip_policy_leaves_out_and_reports_questions_without_teacher_data(questions, teacher):
    partial = {qid: t for qid, t in teacher.items() if qid != "q04"}
    data = build_training_data(questions, partial, TrainConfig(method="multitask", missing_teacher="skip"))
    assert "q04" not in data.question_ids and len(data.question_ids) == len(questions) - 1
    assert "no teacher outputs" in data.skipped["q04"]


def test_the_standard_method_needs_no_teacher(questions):
    data = build_training_data(questions, {}, TrainConfig(method="standard"))
    assert len(data.examples) == len(questions)


def test_counterfactual_options_are_wrong_ones_drawn_with_the_seed(questions, teacher):
    draws = {
        seed: [counterfactual_labels(q, teacher[q.id], count=1, seed=seed)[0] for q in questions]
        for seed in (0, 1)
    }
    assert all(label != q.answer_key for q, label in zip(questions, draws[0], strict=True))
    assert draws[0] == [counterfactual_labels(q, teacher[q.id], count=1, seed=0)[0] for q in questions]
    assert draws[0] != draws[1]
    two = counterfactual_labels(questions[0], teacher["q01"], count=2, seed=0)
    assert len(set(two)) == 2 and set(two) <= set(LABELS) - {questions[0].answer_key}
