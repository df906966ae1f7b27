"""Importing CQA questions and recorded teacher outputs: all or nothing, problems by line, no duplicates."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from models_app.data_import import import_questions, import_teacher_outputs
from models_app.models import Dataset, GenerationRun, Question, Run, Teacher, TeacherOutput
from tests.models_app.factories import cqa_row, recorded_row, write_jsonl
from training.cqa import DataError
from training.teacher_outputs import TeacherOutput as OutputRecord
from training.teacher_outputs import write_outputs

pytestmark = pytest.mark.django_db


def table_counts() -> dict[str, int]:
    models = (Dataset, Question, Teacher, GenerationRun, TeacherOutput)
    return {model.__name__: model.objects.count() for model in models}


def test_questions_import_in_both_layouts_and_twice_without_duplicates(tmp_path):
    hf = write_jsonl(tmp_path / "cqa_train.jsonl", [cqa_row("q1", "A"), cqa_row("q2", "E")])
    cose = write_jsonl(
        tmp_path / "cose.jsonl",
        [
            {
                "id": "v1",
                "question": "Where do fish live?",
                "choices": ["sea", "sky", "car", "tree", "desk"],
                "answer": "sea",
            }
        ],
    )

    first = import_questions(path=hf, dataset_name="cqa")
    assert (first.created, first.unchanged) == (2, 0)
    assert import_questions(path=cose, dataset_name="cqa", split="validation").created == 1
    again = import_questions(path=hf, dataset_name="cqa")
    assert (again.created, again.unchanged) == (0, 2)

    assert Question.objects.count() == 3
    q1 = Question.objects.get(external_id="q1")
    assert (q1.split, q1.answer_key, q1.choices[0]) == ("train", "A", "shelf")
    v1 = Question.objects.get(external_id="v1")
    assert (v1.split, v1.answer_key, v1.answer_text) == ("validation", "A", "sea")


def test_bad_question_file_lists_its_lines_and_changes_nothing(tmp_path):
    import_questions(path=write_jsonl(tmp_path / "cqa_train.jsonl", [cqa_row("q1")]), dataset_name="cqa")
    before = table_counts()
    bad = write_jsonl(
        tmp_path / "cqa_train.jsonl",
        [cqa_row("q2"), "{not json", cqa_row("q3"), cqa_row("q4", answer="F"), cqa_row("q2")],
    )

    with pytest.raises(DataError) as caught:
        import_questions(path=bad, dataset_name="cqa")

    lines = [(p.line, p.field) for p in caught.value.problems]
    assert lines == [(2, ""), (4, "answerKey"), (5, "id")]
    assert table_counts() == before  # q2 and q3 were valid, yet nothing was stored


def test_a_file_that_would_change_stored_questions_is_refused_by_line(tmp_path):
    import_questions(
        path=write_jsonl(tmp_path / "cqa_train.jsonl", [cqa_row("q1"), cqa_row("q2")]), dataset_name="cqa"
    )
    changed = write_jsonl(tmp_path / "cqa_train.jsonl", [cqa_row("q3"), cqa_row("q2", answer="C")])

    with pytest.raises(DataError) as caught:
        import_questions(path=changed, dataset_name="cqa")

    [problem] = caught.value.problems
    assert problem.line == 2 and "q2 is already stored" in problem.message and "answer" in problem.message
    assert not Question.objects.filter(external_id="q3").exists()
    assert Question.objects.get(external_id="q2").answer_key == "B"


def test_split_must_be_said_when_the_file_name_does_not_tell(tmp_path):
    path = write_jsonl(tmp_path / "my_questions.jsonl", [cqa_row("q1")])
    with pytest.raises(DataError, match="say which split"):
        import_questions(path=path, dataset_name="cqa")
    assert not Dataset.objects.exists()


@pytest.fixture
def cqa_dataset(tmp_path) -> Dataset:
    path = write_jsonl(tmp_path / "cqa_validation.jsonl", [cqa_row("q1"), cqa_row("q2"), cqa_row("q3")])
    return import_questions(path=path, dataset_name="cqa").dataset


def test_recorded_outputs_become_a_succeeded_generation_run_of_a_recorded_teacher(tmp_path, cqa_dataset):
    path = write_jsonl(
        tmp_path / "teacher_llama2_validation.jsonl",
        [recorded_row("q1", critique=True), recorded_row("q2"), {"id": "q3", "explanation": ""}],
    )

    summary = import_teacher_outputs(path=path, dataset=cqa_dataset, teacher_name="llama2")

    run = summary.generation_run
    assert run.status == Run.Status.SUCCEEDED and run.method == GenerationRun.Method.RECORDED
    assert run.split == "validation" and run.teacher.backend == Teacher.Backend.RECORDED
    assert (run.progress_done, run.progress_total) == (3, 3)
    assert run.config["imports"][0]["file"] == str(path) and len(run.config["imports"][0]["sha256"]) == 64
    kinds = sorted(run.outputs.filter(question__external_id="q1").values_list("kind", "option_label"))
    assert kinds == [
        ("critique", ""),
        ("explanation", ""),
        *[("option_explanation", label) for label in "ABCDE"],
        ("revised_explanation", ""),
    ]
    assert run.outputs.filter(question__external_id="q2", kind="critique").count() == 0
    # The library's post-processing: the first line of the teacher's text.
    assert run.outputs.get(question__external_id="q1", kind="explanation").text == "A box holds q1."
    assert run.outputs.get(question__external_id="q2", option_label="C").text == "car for q2"
    assert summary.created == 8 + 7 + 1


def test_importing_teacher_outputs_twice_creates_no_duplicates(tmp_path, cqa_dataset):
    path = write_jsonl(tmp_path / "teacher.jsonl", [recorded_row("q1"), recorded_row("q2")])
    first = import_teacher_outputs(path=path, dataset=cqa_dataset, teacher_name="llama2")
    again = import_teacher_outputs(path=path, dataset=cqa_dataset, teacher_name="llama2")

    assert (first.created, again.created, again.unchanged) == (14, 0, 14)
    assert again.generation_run == first.generation_run
    assert TeacherOutput.objects.count() == 14 and GenerationRun.objects.count() == 1
    assert len(again.generation_run.config["imports"]) == 2


def test_teacher_outputs_of_unknown_questions_are_refused_by_line_and_nothing_is_stored(
    tmp_path, cqa_dataset
):
    before = table_counts()
    path = write_jsonl(
        tmp_path / "teacher.jsonl", [recorded_row("q1"), recorded_row("nope"), recorded_row("q2")]
    )

    with pytest.raises(DataError) as caught:
        import_teacher_outputs(path=path, dataset=cqa_dataset, teacher_name="llama2")

    assert [(p.line, p.field) for p in caught.value.problems] == [(2, "id")]
    assert "question nope is not in dataset cqa" in str(caught.value)
    assert table_counts() == before  # not even the teacher was created


def test_teacher_outputs_that_differ_from_stored_ones_are_refused(tmp_path, cqa_dataset):
    import_teacher_outputs(
        path=write_jsonl(tmp_path / "a.jsonl", [recorded_row("q1")]),
        dataset=cqa_dataset,
        teacher_name="llama2",
    )
    changed = recorded_row("q1") | {"explanation": "Something else entirely."}
    with pytest.raises(DataError, match="differs from the one stored"):
        import_teacher_outputs(
            path=write_jsonl(tmp_path / "b.jsonl", [recorded_row("q2"), changed]),
            dataset=cqa_dataset,
            teacher_name="llama2",
        )
    assert TeacherOutput.objects.filter(question__external_id="q2").count() == 0


def test_generated_output_records_import_with_their_provenance(tmp_path, cqa_dataset):
    path = tmp_path / "generated.jsonl"
    write_outputs(
        [
            OutputRecord(
                id="q1",
                kind="explanation",
                text="Boxes hold things.",
                prompt="Q: ...",
                params={"model": "smollm2"},
                flags=("empty",),
                usage={"prompt_tokens": 120, "completion_tokens": 9},
                cache_key="abc123",
            )
        ],
        path,
    )
    import_teacher_outputs(path=path, dataset=cqa_dataset, teacher_name="smollm2")
    output = TeacherOutput.objects.get()
    assert (output.prompt, output.params, output.flags) == ("Q: ...", {"model": "smollm2"}, ["empty"])
    assert (output.prompt_tokens, output.completion_tokens, output.cache_key) == (120, 9, "abc123")


def test_management_commands_import_and_report_bad_lines(tmp_path, capsys):
    questions = write_jsonl(tmp_path / "cqa_train.jsonl", [cqa_row("q1"), cqa_row("q2")])
    teacher = write_jsonl(tmp_path / "teacher.jsonl", [recorded_row("q1"), recorded_row("q2")])
    call_command("import_questions", str(questions), "--dataset", "cqa")
    call_command("import_teacher_outputs", str(teacher), "--dataset", "cqa", "--teacher", "llama2")
    out = capsys.readouterr().out
    assert "2 new and 0 already stored in dataset cqa" in out
    assert "14 new and 0 already stored in generation run" in out

    bad = write_jsonl(
        tmp_path / "bad.jsonl", [recorded_row("q1"), {"id": "q2", "option_explanations": ["one"]}]
    )
    with pytest.raises(CommandError, match=r"bad.jsonl:2: option_explanations"):
        call_command("import_teacher_outputs", str(bad), "--dataset", "cqa", "--teacher", "llama2")
    with pytest.raises(CommandError, match="import its questions first"):
        call_command("import_teacher_outputs", str(teacher), "--dataset", "other", "--teacher", "llama2")


def test_admin_upload_imports_questions_and_lists_bad_lines(staff_client):
    good = SimpleUploadedFile("cqa_train.jsonl", (json.dumps(cqa_row("q1")) + "\n").encode())
    response = staff_client.post(
        "/admin/models_app/dataset/import/", {"file": good, "dataset": "cqa", "split": ""}
    )
    assert response.status_code == 302
    assert Question.objects.get().split == "train"

    bad = SimpleUploadedFile("upload.jsonl", b'{"id": "q9"}\n{broken\n')
    page = staff_client.post(
        "/admin/models_app/dataset/import/", {"file": bad, "dataset": "cqa", "split": "train"}
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "nothing was imported" in text and "line 1:" in text and "line 2:" in text
    assert "/tmp/" not in text  # problems name the uploaded file, not where it was kept
    assert Question.objects.count() == 1


def test_admin_upload_of_teacher_outputs_makes_a_generation_run(staff_client, cqa_dataset):
    upload = SimpleUploadedFile("teacher.jsonl", (json.dumps(recorded_row("q1")) + "\n").encode())
    response = staff_client.post(
        "/admin/models_app/generationrun/import/",
        {"file": upload, "dataset": cqa_dataset.pk, "teacher": "llama2"},
        follow=True,
    )
    assert b"Imported teacher.jsonl: 7 new" in response.content
    run = GenerationRun.objects.get()
    assert run.config["imports"][0]["file"] == "teacher.jsonl"
