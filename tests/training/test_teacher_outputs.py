"""Teacher output files: the recorded layout and output records both become per-question explanations."""

import json

import pytest

from training.cqa import DataError
from training.teacher_outputs import TeacherOutput, first_line, load_teacher_explanations, write_outputs


def test_first_line_keeps_the_first_non_empty_line():
    assert first_line("\n  The answer fits.  \nQuestion: next one") == "The answer fits."
    assert first_line(None) == "" and first_line("   \n") == ""


def test_recorded_layout_and_output_records_merge_per_question(tmp_path):
    recorded = tmp_path / "recorded.jsonl"
    recorded.write_text(
        json.dumps(
            {
                "id": "q1",
                "answer": "cupboard",
                "explanation": "Cups are kept in cupboards.\nQ: more",
                "revised_explanation": "Clean cups go back in the cupboard.",
                "option_explanations": [
                    "Cupboards hold cups.",
                    "Ovens bake.",
                    "Gardens grow.",
                    "Beds rest.",
                    "Cars drive.",
                ],
            }
        )
        + "\n"
    )
    records = tmp_path / "records.jsonl"
    write_outputs(
        [
            TeacherOutput(id="q2", kind="explanation", text="Scissors cut paper."),
            TeacherOutput(
                id="q2", kind="option_explanation", option_label="C", text="A cup could hold paper."
            ),
            TeacherOutput(id="q1", kind="critique", text="Too short."),
        ],
        records,
    )

    explanations = load_teacher_explanations([recorded, records])
    assert explanations["q1"].explanation == "Cups are kept in cupboards."
    assert explanations["q1"].critique == "Too short."
    assert explanations["q1"].option_explanations[1] == "Ovens bake."
    assert explanations["q2"].explanation == "Scissors cut paper."
    assert explanations["q2"].revised_explanation is None
    assert explanations["q2"].option_explanations == (None, None, "A cup could hold paper.", None, None)


def test_malformed_teacher_file_names_line_and_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps({"id": "q1", "option_explanations": ["only one"]})
        + "\n"
        + json.dumps({"explanation": "no id"})
        + "\n"
        + json.dumps({"id": "q3", "kind": "summary", "text": "x"})
        + "\n"
    )
    with pytest.raises(DataError) as error:
        load_teacher_explanations([path])
    assert [(p.line, p.field) for p in error.value.problems] == [
        (1, "option_explanations"),
        (2, "id"),
        (3, "kind"),
    ]


def test_option_label_must_fit_kind():
    with pytest.raises(ValueError, match="option_label"):
        TeacherOutput(id="q", kind="explanation", option_label="A", text="x")
