"""Metric functions on crafted inputs with known answers, and MiniLM consistency on crafted explanations."""

import pytest
import torch

from training.cqa import Question
from training.embeddings import default_encoder
from training.inference import CounterfactualProbe, PredictionRecord
from training.metrics import consistent_with_prediction, lcs_length, prediction_metrics, rouge_l
from training.teacher_outputs import TeacherExplanations

PAPER = Question("p", "What do you use to cut paper?", ("spoon", "scissors", "cup", "hat", "rope"), "B")
FISH = Question("f", "Where do fish live?", ("desert", "tree", "water", "attic", "office"), "C")
RAIN = Question("r", "What keeps you dry in the rain?", ("umbrella", "sandal", "window", "radio", "fan"), "A")


def record(question, label, explanation="", rule="exact"):
    text = question.choices["ABCDE".index(label)] if label else ""
    return PredictionRecord(
        question.id, label, text, label == question.answer_key, explanation, text, rule, "m"
    )


def test_longest_common_subsequence_and_rouge_l():
    assert lcs_length(["a", "b", "c", "d", "e"], ["a", "c", "e"]) == 3
    assert lcs_length([], ["a"]) == 0
    assert rouge_l("The cat sat on the mat.", "the cat sat on the mat") == 1.0
    # LCS "the cat on the mat" = 5 of 6 words each way: P = R = F = 5/6.
    assert rouge_l("the cat sat on the mat", "the cat lay on the mat") == pytest.approx(5 / 6)
    # LCS 2 ("a", "b"): P = 2/2, R = 2/4, F = 2PR/(P+R) = 2/3.
    assert rouge_l("a b", "a x b y") == pytest.approx(2 / 3)
    assert rouge_l("nothing shared", "at all") == 0.0 and rouge_l("", "x") == 0.0


def test_run_metrics_on_crafted_predictions():
    predictions = [
        record(PAPER, "B", "Scissors cut paper."),
        record(FISH, "A", "Fish live in the desert sand today."),
        record(RAIN, "", "", rule="none"),
    ]
    teacher = {
        "p": TeacherExplanations(
            "p", explanation="Scissors cut paper.", revised_explanation="Blades cut paper."
        ),
        "f": TeacherExplanations(
            "f", explanation="Fish live in water.", revised_explanation="Fish need water."
        ),
    }
    probes = [CounterfactualProbe("p", "A", "A", True, ""), CounterfactualProbe("f", "B", "C", False, "")]
    metrics = prediction_metrics(
        predictions,
        {q.id: q for q in (PAPER, FISH, RAIN)},
        teacher=teacher,
        data_variant="unrevised",
        probes=probes,
    )
    assert metrics["accuracy"] == pytest.approx(1 / 3)
    # 95% bootstrap interval over the 3 questions: 0 or 3 correct each have probability (2/3)³ or (1/3)³ > 2.5%.
    assert metrics["accuracy_interval"] == [0.0, 1.0]
    assert metrics["answer_rules"] == {"exact": 2, "none": 1}
    assert (metrics["explanations"], metrics["explanation_words"]) == (2, 5)  # 3 and 7 words
    # Against "Scissors cut paper." (1.0) and "Fish live in water." (LCS 3: P = 3/7, R = 3/4, F = 6/11).
    assert metrics["rouge_l"] == pytest.approx((1 + 6 / 11) / 2) and metrics["rouge_l_questions"] == 2
    assert metrics["counterfactual_flip_rate"] == 0.5 and metrics["counterfactual_probes"] == 2
    assert metrics["consistency"] is None  # no encoder given

    revised = prediction_metrics(predictions[:1], {"p": PAPER}, teacher=teacher, data_variant="revised")
    assert revised["rouge_l"] == pytest.approx(
        2 * (2 / 3) * (2 / 3) / (4 / 3)
    )  # LCS "cut paper": P = R = 2/3
    empty = prediction_metrics([], {})
    assert (
        empty["accuracy"] is None
        and empty["explanation_words"] is None
        and empty["accuracy_interval"] is None
    )


@pytest.mark.slow
def test_minilm_finds_the_option_an_explanation_supports():
    encoder = default_encoder()
    explanations = [
        "Scissors have two sharp blades made for cutting paper.",
        "Scissors have two sharp blades made for cutting paper.",
        "Fish breathe through gills, so they need to live in water.",
        "An umbrella held over your head stops the rain from soaking you.",
    ]
    flags = consistent_with_prediction(
        explanations, [PAPER, PAPER, FISH, RAIN], ["B", "A", "C", "D"], encoder
    )
    assert flags == [True, False, True, False]

    embeddings = encoder.encode(
        ["A cat sleeps on the sofa.", "A kitten naps on the couch.", "Stock prices fell."]
    )
    assert torch.allclose(embeddings.norm(dim=1), torch.ones(3), atol=1e-5)
    assert embeddings[0] @ embeddings[1] > 0.6 > 0.2 > embeddings[0] @ embeddings[2]

    metrics = prediction_metrics(
        [record(PAPER, "B", explanations[0]), record(FISH, "A", explanations[2])],
        {"p": PAPER, "f": FISH},
        encoder=encoder,
    )
    assert (metrics["consistency"], metrics["consistency_questions"]) == (0.5, 2)
