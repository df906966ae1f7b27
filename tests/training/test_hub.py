"""The datasets from the hub: hub rows (as `datasets` hands them over) become validated questions of each
registry entry; offline is a clear error."""

import datasets
import pytest

from training.cqa import DataError, load_split
from training.datasets import esnli_id
from training.hub import HubUnavailableError, load_from_hub, questions_from_rows


def cqa_row(qid, answer_key="A"):
    return {
        "id": qid,
        "question": "Where would you put a clean cup?",
        "question_concept": "cup",
        "choices": {"label": list("ABCDE"), "text": ["cupboard", "oven", "garden", "bed", "car"]},
        "answerKey": answer_key,
    }


def test_cqa_hub_rows_become_questions():
    rows = datasets.Dataset.from_list([cqa_row("q1"), cqa_row("q2", "C")])
    sample_questions = questions_from_rows(rows, "cqa", source="tau/commonsense_qa (validation)")
    assert [(q.id, q.answer_text, q.dataset) for q in sample_questions] == [
        ("q1", "cupboard", "cqa"),
        ("q2", "garden", "cqa"),
    ]


def test_a_bad_hub_row_is_named_and_nothing_loads():
    rows = datasets.Dataset.from_list([cqa_row("q1"), cqa_row("q2", "")])
    with pytest.raises(DataError, match=r"hub \(train\):2: answerKey: '' is not among the labels"):
        questions_from_rows(rows, "cqa", source="hub (train)")


def test_strategyqa_hub_rows_map_a_boolean_answer_and_a_list_of_facts():
    rows = datasets.Dataset.from_list(
        [
            {
                "qid": "s1",
                "term": "Kettle",
                "description": "a pot",
                "question": "Can a kettle boil water?",
                "answer": True,
                "facts": ["A kettle heats water.", "Water boils at 100 degrees."],
            },
            {"qid": "s2", "question": "Is ice hot?", "answer": False, "facts": ["Ice is frozen water."]},
        ]
    )
    first, second = questions_from_rows(rows, "strategyqa", source="hub")
    assert (first.choices, first.answer_text, second.answer_text) == (("yes", "no"), "yes", "no")
    assert first.fields == {"facts": "A kettle heats water. Water boils at 100 degrees."}


def test_esnli_hub_rows_get_the_question_the_id_and_the_label_text():
    rows = datasets.Dataset.from_list(
        [
            {"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": 0, "explanation_1": "x"},
            {"premise": "A dog runs.", "hypothesis": "A cat sleeps.", "label": 2, "explanation_1": "y"},
            {"premise": "A dog runs.", "hypothesis": "It is noon.", "label": -1, "explanation_1": ""},
        ]
    )
    with pytest.raises(DataError) as caught:
        questions_from_rows(rows, "esnli", source="esnli (test)")
    assert [(p.line, p.field) for p in caught.value.problems] == [(3, "answerKey")]
    first, second = questions_from_rows(rows.select([0, 1]), "esnli", source="esnli (test)")
    assert first.question == "Premise: A dog runs. Hypothesis: An animal moves. What is the relationship?"
    assert (first.answer_text, second.answer_text) == ("entailment", "contradiction")
    assert first.id == esnli_id("A dog runs.", "An animal moves.") and len(first.id) == 20


def test_offline_hub_is_a_clear_error_that_says_how_to_use_a_local_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubUnavailableError, match="pass a local folder holding esnli_test.jsonl"):
        load_from_hub("esnli", "test", cache_dir=tmp_path)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "empty-datasets")
    with pytest.raises(HubUnavailableError, match="cannot load tau/commonsense_qa"):
        load_split("hub", "train")
    with pytest.raises(ValueError, match="unknown split 'validation' for StrategyQA"):
        load_from_hub("strategyqa", "validation")
