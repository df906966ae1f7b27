"""StrategyQA and e-SNLI beside CommonsenseQA: the registry, loading folders laid out like ../shared/data/*, the
student formats of each, answers of k options, teacher prompts, and each dataset through generation (tiny
teacher), training (random:t5-tiny) and inference, on samples the tests write."""

import json

import pytest

from tests.dataset_samples import write_esnli, write_strategyqa
from training.answers import match_option
from training.config import TrainConfig
from training.cqa import DataError, load_split
from training.datasets import DATASETS, dataset_of_folder, dataset_spec
from training.evaluation import evaluate
from training.formats import read_output, task_input, task_target
from training.generation import Generation, GenerationConfig
from training.inference import predict
from training.prompts import critique_revision_draws, explain_draws, explain_prompt, revision_prompt
from training.teacher import TeacherSpec
from training.teacher_factory import build_teacher
from training.teacher_outputs import load_teacher_explanations
from training.trainer import train


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return {"strategyqa": write_strategyqa(root / "strategyqa"), "esnli": write_esnli(root / "esnli")}


def test_each_folder_is_known_by_its_files_and_loads_its_test_split(folders):
    strategyqa = load_split(folders["strategyqa"], "test")
    assert dataset_of_folder(folders["strategyqa"]) == "strategyqa"
    assert [(q.choices, q.labels) for q in strategyqa][0] == (("yes", "no"), ("A", "B"))
    assert strategyqa[0].fields == {"facts": "Fish live in water and have fins."}
    esnli = load_split(folders["esnli"], "test")
    assert {q.dataset for q in esnli} == {"esnli"} and esnli[0].labels == ("A", "B", "C")
    assert esnli[0].fields == {
        "premise": "A dog catches a ball in a park.",
        "hypothesis": "An animal is outside.",
    }
    assert [dataset_spec(name).test_split for name in DATASETS] == ["validation", "test", "test"]
    with pytest.raises(ValueError, match="unknown split 'validation' for StrategyQA"):
        load_split(folders["strategyqa"], "validation")


def test_a_bad_row_is_named_with_its_line_and_nothing_loads(folders, tmp_path):
    lines = (folders["esnli"] / "esnli_test.jsonl").read_text().splitlines()
    wrong = json.loads(lines[1]) | {"choices": {"label": ["A", "B", "C"], "text": ["yes", "no", "maybe"]}}
    missing = {k: v for k, v in json.loads(lines[2]).items() if k != "premise"}
    (tmp_path / "esnli_test.jsonl").write_text("\n".join([lines[0], json.dumps(wrong), json.dumps(missing)]))
    with pytest.raises(DataError) as caught:
        load_split(tmp_path, "test")
    assert [(p.line, p.field) for p in caught.value.problems] == [(2, "choices"), (3, "premise")]
    assert "e-SNLI has the options ['entailment', 'neutral', 'contradiction']" in str(caught.value)
    row = json.loads((folders["strategyqa"] / "strategyqa_train.jsonl").read_text().splitlines()[0])
    row["choices"] = {"label": list("ABC"), "text": ["yes", "no", "maybe"]}
    (tmp_path / "strategyqa_train.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match=r"strategyqa_train.jsonl:1: choices: expected 2 choices, got 3"):
        load_split(tmp_path / "strategyqa_train.jsonl", "train")


def test_strategyqa_formats_are_the_study_code_s(folders):
    question = load_split(folders["strategyqa"], "test")[0]  # "Can a fish climb a tree?", no
    q = "Can a fish climb a tree?"
    assert task_input("predict", question, formats="paper") == f"[predict] Question: {q}"
    assert task_input("explain", question, formats="paper") == f"[explain] Question: {q}"
    assert task_input("factual", question, formats="paper") == f"[factual] Question: {q}"
    assert (
        task_input("counterfactual", question, "Fish grip bark.", formats="paper")
        == f"[counterfactual] Question: {q}\nRationale: Fish grip bark."
    )
    target = {"formats": "paper", "dataset": "strategyqa"}
    assert task_target("predict", answer="no", **target) == "The answer is no"
    assert task_target("factual", answer="no", explanation="Fins.", **target) == (
        "[factual] Answer: Fins. So the answer is no."
    )
    assert task_target("counterfactual", answer="yes", **target) == "[counterfactual] So the answer is yes."
    assert read_output("factual", "[factual] Answer: Fins. So the answer is no.", **target) == ("no", "Fins.")
    assert match_option("No.", question).label == "B" and match_option("(c)", question).label == ""


def test_esnli_input_lists_the_three_labels_as_cqa_does(folders):
    question = load_split(folders["esnli"], "test")[0]
    expected = (
        "[predict] Question: Premise: A dog catches a ball in a park. Hypothesis: An animal is outside. "
        "What is the relationship?\nChoices: (a) entailment (b) neutral (c) contradiction"
    )
    assert task_input("predict", question) == expected
    assert task_input("predict", question, formats="paper") == expected  # no trailing space, unlike CQA's
    assert match_option("contradiction", question).label == "C"


def test_teacher_prompts_use_each_dataset_s_instruction_and_worked_examples(folders):
    strategyqa = load_split(folders["strategyqa"], "train")[0]
    draws = explain_draws(0, strategyqa.id, dataset="strategyqa")
    prompt = explain_prompt(strategyqa, strategyqa.answer_key, draws)
    assert prompt.instruction == dataset_spec("strategyqa").explain_instruction
    assert {turn.splitlines()[-1] for turn, _ in prompt.turns} == {
        "The answer is (a) yes.",
        "The answer is (b) no.",
    }
    assert prompt.query.endswith("Answer choices: (a) yes (b) no\nThe answer is (b) no.")
    esnli = load_split(folders["esnli"], "train")[0]
    prompt = explain_prompt(esnli, "A", explain_draws(0, esnli.id, dataset="esnli"))
    answers = {turn.splitlines()[-1] for turn, _ in prompt.turns}
    assert answers == {
        f"The answer is ({x}) {label}." for x, label in zip("abc", dataset_spec("esnli").options, strict=True)
    }
    revision = revision_prompt(
        esnli, "draft", "critique", critique_revision_draws(0, esnli.id, dataset="esnli")
    )
    assert len(revision.turns) == 4 and revision.prefix == "The answer is (a) entailment."
    with pytest.raises(ValueError, match="1 to 6 worked examples, not 8"):
        explain_draws(0, esnli.id, examples=8, dataset="esnli")


@pytest.mark.parametrize("name", ["strategyqa", "esnli"])
def test_each_dataset_through_generation_training_and_inference(
    name, folders, tiny_lm_dir, tokenizer_cache, tmp_path
):
    train_questions = load_split(folders[name], "train")
    test_questions = load_split(folders[name], dataset_spec(name).test_split)
    # Generation: a tiny teacher explains each of a question's options (two for StrategyQA, three for e-SNLI).
    teacher = build_teacher(
        TeacherSpec(
            backend="transformers",
            model=str(tiny_lm_dir),
            decoding={"max_new_tokens": 4},
            options={"prompt_format": "completion"},
        )
    )
    records = [
        r
        for batch in Generation(
            test_questions[:2], teacher, GenerationConfig("option_explanations", explain_examples=2)
        )
        for r in batch
    ]
    k = dataset_spec(name).option_count
    assert [r.option_label for r in records] == list("ABC"[:k]) * 2
    assert dataset_spec(name).explain_instruction in records[0].prompt
    # Training on the recorded teacher's outputs, and inference on the test split.
    recorded = load_teacher_explanations(
        [folders[name] / "teacher_llama_train.jsonl", folders[name] / "teacher_llama_test.jsonl"]
    )
    config = TrainConfig(
        student="random:t5-tiny",
        method="multitask_counterfactual",
        batch_size=4,
        learning_rate=3e-3,
        max_steps=6,
        eval_every=6,
        logging_every=3,
        max_new_tokens=12,
        answer_max_new_tokens=8,
        tokenizer_cache_dir=tokenizer_cache,
        formats="paper",
    )
    result = train(
        config,
        train_questions=train_questions,
        eval_questions=train_questions[:2],
        teacher=recorded,
        output_dir=tmp_path / "run",
    )
    predictions = predict(result.best_checkpoint, test_questions)
    assert [p.question_id for p in predictions] == [q.id for q in test_questions]
    assert all(p.predicted_label in ("", *test_questions[0].labels) for p in predictions)
    metrics = evaluate(result.best_checkpoint, test_questions, teacher=recorded).metrics
    assert metrics["questions"] == len(test_questions) and 0 <= metrics["accuracy"] <= 1
    # Consistency compares an explanation with each of the question's own options (2 or 3, not 5).
    assert metrics["consistency_questions"] == sum(1 for p in predictions if p.predicted_label)
    assert metrics["counterfactual_probes"] == len(test_questions)
