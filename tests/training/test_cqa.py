"""Loading CommonsenseQA: both layouts, every problem reported, the paper's split."""

import json

import pytest

from training.cqa import DataError, load_questions, load_split, train_eval_split, write_questions

HF_ROW = {
    "id": "q1",
    "question": "Where would you put a cup after washing it?",
    "choices": {"label": ["A", "B", "C", "D", "E"], "text": ["cupboard", "oven", "garden", "bed", "car"]},
    "answerKey": "A",
}
COSE_ROW = {
    "id": "q2",
    "question": "What do you use to cut paper?",
    "choices": ["spoon", "scissors", "cup", "hat", "rope"],
    "answer": "scissors",
}


def write_lines(path, lines):
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return path


def test_both_layouts_load_to_the_same_questions(tmp_path):
    questions = load_questions(write_lines(tmp_path / "q.jsonl", [HF_ROW, COSE_ROW]))
    assert [(q.id, q.answer_key, q.answer_text) for q in questions] == [
        ("q1", "A", "cupboard"),
        ("q2", "B", "scissors"),
    ]
    assert questions[1].choices == ("spoon", "scissors", "cup", "hat", "rope")


def test_bad_file_lists_every_problem_with_line_and_field_and_loads_nothing(tmp_path):
    missing = {k: v for k, v in HF_ROW.items() if k != "question"} | {"id": "q3"}
    bad_key = HF_ROW | {"id": "q4", "answerKey": "F"}
    four = HF_ROW | {"id": "q5", "choices": {"label": list("ABCD"), "text": ["a", "b", "c", "d"]}}
    path = write_lines(tmp_path / "bad.jsonl", [HF_ROW, missing, bad_key, four, "{not json", HF_ROW])
    with pytest.raises(DataError) as error:
        load_questions(path)
    lines = [(p.line, p.field) for p in error.value.problems]
    assert lines == [(2, "question"), (3, "answerKey"), (4, "choices"), (5, ""), (6, "id")]
    message = str(error.value)
    assert f"{path}:3: answerKey: 'F' is not among the labels" in message
    assert "duplicate id 'q1' (first on line 1)" in message
    assert "invalid JSON" in message and "nothing was loaded" in message


def test_cose_answer_must_be_one_of_the_choices(tmp_path):
    path = write_lines(tmp_path / "cose.jsonl", [COSE_ROW | {"answer": "knife"}])
    with pytest.raises(DataError, match="answer: 'knife' is not one of the choices"):
        load_questions(path)


def test_folder_split_files_and_missing_split_named(tmp_path):
    write_questions(
        load_questions(write_lines(tmp_path / "x.jsonl", [HF_ROW])), tmp_path / "data" / "cqa_train.jsonl"
    )
    assert [q.id for q in load_split(tmp_path / "data", "train")] == ["q1"]
    with pytest.raises(FileNotFoundError, match="no validation file in .*cqa_validation.jsonl"):
        load_split(tmp_path / "data", "validation")


def test_train_eval_split_is_deterministic_ninety_ten_and_disjoint(tmp_path):
    rows = [HF_ROW | {"id": f"q{i:03d}"} for i in range(200)]
    questions = load_questions(write_lines(tmp_path / "q.jsonl", rows))
    train, held_out = train_eval_split(questions)
    assert (len(train), len(held_out)) == (180, 20)
    assert not {q.id for q in train} & {q.id for q in held_out}
    # The split depends on the ids and the seed only, not on the order of the file.
    assert {q.id for q in train_eval_split(list(reversed(questions)))[1]} == {q.id for q in held_out}
    assert {q.id for q in train_eval_split(questions, seed=1)[1]} != {q.id for q in held_out}
