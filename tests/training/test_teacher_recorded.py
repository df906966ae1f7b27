"""The recorded teacher: outputs produced elsewhere, read from a JSONL file keyed by question id."""

import json

import pytest

from training.cqa import DataError
from training.generation import Generation, GenerationConfig
from training.teacher import TeacherSpec
from training.teacher_factory import build_teacher


@pytest.fixture
def recorded_file(tmp_path):
    rows = [
        {
            "id": "q-cup",
            "answer": "cupboard",
            "explanation": "Cups are kept in a cupboard.\nQuestion: run-on",
            "critique": "It does not say why.",
            "revised_explanation": "Clean cups go back in the cupboard so they are found again.",
            "option_explanations": [f"Option {label} fits." for label in "ABCDE"],
        },
        {
            "id": "q-scissors",
            "answer": "scissors",
            "explanation": "Scissors cut paper.",
            "revised_explanation": "Scissors have two blades that cut paper cleanly.",
            "option_explanations": [f"Option {label} cuts." for label in "ABCDE"],
        },
    ]
    path = tmp_path / "teacher_recorded.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def recorded_teacher(path):
    return build_teacher(TeacherSpec(backend="recorded", model=str(path)))


def test_recorded_explanations_and_option_explanations_are_imported(recorded_file, sample_questions):
    teacher = recorded_teacher(recorded_file)
    explain = Generation(sample_questions[:2], teacher, GenerationConfig("explain"))
    records = [r for batch in explain for r in batch]
    assert [r.text for r in records] == ["Cups are kept in a cupboard.", "Scissors cut paper."]
    assert records[0].params["teacher"]["backend"] == "recorded" and records[0].prompt.endswith(
        "Explanation:"
    )
    options = [
        r
        for batch in Generation(sample_questions[:2], teacher, GenerationConfig("option_explanations"))
        for r in batch
    ]
    assert [r.text for r in options[:5]] == [f"Option {label} fits." for label in "ABCDE"]


def test_missing_outputs_fail_alone_and_the_revision_still_comes(recorded_file, sample_questions):
    generation = Generation(
        sample_questions, recorded_teacher(recorded_file), GenerationConfig("critique_revise")
    )
    records = {(r.id, r.kind): r.text for batch in generation for r in batch}
    assert (
        records[("q-scissors", "revised_explanation")] == "Scissors have two blades that cut paper cleanly."
    )
    assert ("q-scissors", "critique") not in records
    assert generation.stats.errors[:2] == [
        "question q-bike, explanation: teacher_recorded.jsonl has no explanation for question q-bike",
        "question q-scissors, critique: teacher_recorded.jsonl has no critique for question q-scissors",
    ]
    assert generation.stats.failures == 4  # q-scissors' critique and all three of q-bike's


def test_a_malformed_recorded_file_is_refused_with_its_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": "q1", "option_explanations": ["only one"]}) + "\n")
    with pytest.raises(DataError, match="bad.jsonl:1: option_explanations"):
        recorded_teacher(path)
