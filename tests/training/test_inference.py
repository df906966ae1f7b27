"""Inference with a trained student: batched greedy answers mapped to options, explanations, probes."""

from dataclasses import replace

import pytest

from training.evaluation import evaluate
from training.formats import task_input
from training.inference import (
    GenerationSettings,
    generate_texts,
    load_checkpoint,
    predict,
    predict_questions,
    score_targets,
    settings_from_info,
)


def test_predictions_answer_explain_and_follow_the_question_order(trained_multitask):
    result, handful = trained_multitask
    records = predict(result.best_checkpoint, list(reversed(handful)))
    assert [r.question_id for r in records] == [q.id for q in reversed(handful)]
    assert all(r.correct and r.parse_rule == "exact" and r.mode == "predict_explain" for r in records)
    assert [r.predicted_text for r in records] == [q.answer_text for q in reversed(handful)]
    assert all(r.raw_output.startswith("The answer is") and r.explanation for r in records)

    answers_only = predict(result.best_checkpoint, handful, mode="predict")
    assert [r.predicted_label for r in answers_only] == [q.answer_key for q in handful]
    assert all(r.explanation == "" for r in answers_only)


def test_batched_generation_gives_the_outputs_of_one_at_a_time(trained_multitask, questions):
    result, _ = trained_multitask
    student, _ = load_checkpoint(result.last_checkpoint)
    texts = [task_input("explain", q) for q in questions]
    batched = generate_texts(
        student.model, student.tokenizer, texts, max_new_tokens=20, settings=GenerationSettings(batch_size=5)
    )
    single = generate_texts(
        student.model, student.tokenizer, texts, max_new_tokens=20, settings=GenerationSettings(batch_size=1)
    )
    assert batched == single and len(set(batched)) > 1


def test_a_folder_that_is_not_a_checkpoint_is_named(tmp_path, questions):
    with pytest.raises(FileNotFoundError, match=f"{tmp_path} is not a student checkpoint: distillation.json"):
        predict(tmp_path, questions)


@pytest.mark.slow
def test_evaluation_reports_every_metric_of_a_run(trained_multitask, validation_questions, teacher):
    result, _ = trained_multitask
    evaluation = evaluate(result.best_checkpoint, validation_questions, teacher=teacher)
    metrics = evaluation.metrics
    assert metrics["questions"] == len(evaluation.predictions) == 3
    assert metrics["mode"] == "predict_explain" and 0 <= metrics["accuracy"] <= 1
    assert sum(metrics["answer_rules"].values()) == 3
    assert metrics["explanation_words"] > 0 and metrics["explanations"] == 3
    # Consistency (MiniLM), ROUGE-L (against the unrevised teacher explanations), flip rate (probes).
    assert metrics["consistency_questions"] == sum(1 for p in evaluation.predictions if p.predicted_label)
    assert 0 <= metrics["rouge_l"] <= 1 and metrics["rouge_l_questions"] == 3
    assert metrics["counterfactual_probes"] == len(evaluation.probes) == 3
    assert all(
        p.option_label != q.answer_key for p, q in zip(evaluation.probes, validation_questions, strict=True)
    )
    assert metrics["counterfactual_flip_rate"] == sum(p.followed for p in evaluation.probes) / 3


def test_a_resumed_evaluation_predicts_only_the_rest_and_scores_them_all(
    trained_multitask, validation_questions, monkeypatch
):
    import training.evaluation

    result, _ = trained_multitask
    monkeypatch.setattr(training.evaluation, "CHUNK_QUESTIONS", 1)
    handed, seen = [], []
    first = evaluate(
        result.best_checkpoint,
        validation_questions,
        on_predictions=handed.append,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert [[p.question_id] for p in first.predictions] == [
        [p.question_id] for batch in handed for p in batch
    ]
    assert seen[-1] == (3, 3) and [done for done, _ in seen] == sorted(done for done, _ in seen)

    handed.clear()
    resumed = evaluate(
        result.best_checkpoint,
        list(reversed(validation_questions)),
        stored=first.predictions[:2],
        on_predictions=handed.append,
    )
    assert [p.question_id for batch in handed for p in batch] == [validation_questions[2].id]
    assert [p.question_id for p in resumed.predictions] == [q.id for q in reversed(validation_questions)]
    assert resumed.metrics["accuracy"] == first.metrics["accuracy"]


def test_scoring_finds_the_target_the_student_was_trained_to_write(trained_multitask):
    result, handful = trained_multitask
    student, _ = load_checkpoint(result.best_checkpoint)
    inputs = [task_input("predict", q) for q in handful]
    # Each question's candidates: every option's answer target, in a rotated order so the right one moves.
    candidates = [
        [f"The answer is {q.choices[(q.answer_index + shift) % 5]}" for shift in range(5)][::-1]
        for q in handful
    ]
    picks = score_targets(student.model, student.tokenizer, inputs, candidates, settings=GenerationSettings())
    assert [c[p] for c, p in zip(candidates, picks, strict=True)] == [
        f"The answer is {q.answer_text}" for q in handful
    ]


def test_an_answer_that_names_no_option_is_scored_only_when_asked(trained_multitask):
    result, handful = trained_multitask
    student, info = load_checkpoint(result.best_checkpoint)
    # The student answers with the texts it learned; none of these options is one of them.
    strange = [
        replace(q, id=f"{q.id}-new", choices=tuple(f"zq{i} {q.id}" for i in range(5))) for q in handful
    ]

    def run(score: bool):
        settings = settings_from_info(info, score_unmatched_answers=score)
        return predict_questions(student.model, student.tokenizer, strange, mode="predict", settings=settings)

    assert {(r.predicted_label, r.parse_rule) for r in run(False)} == {("", "none")}
    scored = run(True)
    assert all(
        r.predicted_label in "ABCDE" and r.predicted_label and r.parse_rule == "scored" for r in scored
    )
