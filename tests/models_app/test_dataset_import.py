"""Importing StrategyQA and e-SNLI files (samples the tests write): the dataset is read from the file, its own
fields are kept, its test split is `test`, and files of another dataset or with too many options are refused."""

import json

import pytest

from models_app.data_import import import_questions, import_teacher_outputs
from models_app.models import Dataset, Question
from tests.dataset_samples import write_esnli, write_strategyqa
from training.cqa import DataError

pytestmark = pytest.mark.django_db


def test_the_dataset_and_split_come_from_the_file_and_its_own_fields_are_kept(tmp_path):
    folder = write_esnli(tmp_path / "esnli")
    summary = import_questions(path=folder / "esnli_test.jsonl", dataset_name="pairs")
    assert (summary.dataset.kind, summary.dataset.test_split, summary.created) == ("esnli", "test", 6)
    question = Question.objects.filter(dataset__name="pairs").order_by("external_id").first()
    assert question.split == "test" and set(question.fields) == {"premise", "hypothesis"}
    assert question.as_library("esnli").fields == question.fields
    # An upload is known by its own name: the kind comes from it, not from the temporary path.
    upload = tmp_path / "upload.tmp"
    upload.write_bytes((folder / "esnli_train.jsonl").read_bytes())
    import_questions(path=upload, dataset_name="pairs", source_name="esnli_train.jsonl")
    assert Question.objects.filter(dataset__name="pairs", split="train").count() == 15


def test_questions_of_another_dataset_are_refused(tmp_path):
    import_questions(path=write_esnli(tmp_path / "esnli") / "esnli_train.jsonl", dataset_name="mixed")
    with pytest.raises(DataError, match="holds e-SNLI questions, not StrategyQA"):
        import_questions(
            path=write_strategyqa(tmp_path / "strategyqa") / "strategyqa_train.jsonl", dataset_name="mixed"
        )
    with pytest.raises(DataError, match="say which split the file holds: train or test"):
        import_questions(
            path=tmp_path / "strategyqa" / "strategyqa_train.jsonl", dataset_name="yes-no", split="validation"
        )


def test_teacher_outputs_with_more_options_than_the_dataset_has_are_refused(tmp_path):
    folder = write_strategyqa(tmp_path / "strategyqa")
    dataset = import_questions(path=folder / "strategyqa_train.jsonl", dataset_name="sq").dataset
    lines = (folder / "teacher_llama_train.jsonl").read_text().splitlines()
    row = json.loads(lines[2]) | {"option_explanations": ["yes because", "no because", "maybe"]}
    bad = tmp_path / "teacher.jsonl"
    bad.write_text("\n".join([*lines[:2], json.dumps(row)]) + "\n")
    with pytest.raises(DataError) as caught:
        import_teacher_outputs(path=bad, dataset=dataset, teacher_name="llama")
    assert [(p.line, p.field) for p in caught.value.problems] == [(3, "option_explanations")]
    summary = import_teacher_outputs(
        path=folder / "teacher_llama_train.jsonl", dataset=dataset, teacher_name="llama"
    )
    assert summary.generation_run.outputs.filter(kind="option_explanation").count() == 8 * 2
    assert Dataset.objects.get(name="sq").kind == "strategyqa"
