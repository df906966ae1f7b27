"""What job handlers read from the store and write back: library records in, library records out."""

import pytest

from models_app import records, selectors
from models_app.data_import import import_questions, import_teacher_outputs
from models_app.models import Checkpoint, InferenceRun, Prediction, Question, TeacherOutput
from tests.models_app.factories import (
    add_questions,
    cqa_row,
    make_dataset,
    make_generation_run,
    make_trained_run,
    make_training_run,
    recorded_row,
    write_jsonl,
)
from training.cqa import load_questions
from training.teacher_outputs import TeacherOutput as OutputRecord
from training.teacher_outputs import load_teacher_explanations, write_outputs

pytestmark = pytest.mark.django_db


def test_questions_for_a_split_are_the_library_records_of_the_file(tmp_path):
    path = write_jsonl(tmp_path / "cqa_train.jsonl", [cqa_row("q2", "E"), cqa_row("q1", "A"), cqa_row("q3")])
    dataset = import_questions(path=path, dataset_name="cqa").dataset
    add_questions(dataset, ["v1"], split=Question.Split.VALIDATION)

    stored = selectors.questions_for_split(dataset=dataset, split="train")

    assert stored == sorted(load_questions(path), key=lambda q: q.id)
    assert [q.id for q in selectors.questions_for_split(dataset=dataset, split="validation")] == ["v1"]


def test_teacher_explanations_of_a_training_run_match_what_the_library_reads_from_the_files(tmp_path):
    dataset = import_questions(
        path=write_jsonl(tmp_path / "cqa_train.jsonl", [cqa_row(f"q{i}") for i in range(3)]),
        dataset_name="cqa",
    ).dataset
    recorded = write_jsonl(
        tmp_path / "recorded.jsonl", [recorded_row("q0", critique=True), recorded_row("q1")]
    )
    generated = tmp_path / "generated.jsonl"
    write_outputs(
        [
            OutputRecord(id="q2", kind="explanation", text="Boxes hold q2.\nmore text"),
            OutputRecord(id="q1", kind="revised_explanation", text="A better one for q1."),
            OutputRecord(id="q2", kind="option_explanation", option_label="D", text="A desk for q2."),
        ],
        generated,
    )
    first = import_teacher_outputs(path=recorded, dataset=dataset, teacher_name="llama2").generation_run
    second = import_teacher_outputs(path=generated, dataset=dataset, teacher_name="smollm2").generation_run
    training_run = make_training_run(dataset=dataset, generation_runs=[first, second])

    from_store = selectors.teacher_explanations(training_run=training_run)

    assert from_store == load_teacher_explanations([recorded, generated])
    assert from_store["q1"].revised_explanation == "A better one for q1."  # the later run wins


def test_storing_teacher_outputs_is_idempotent_and_skips_what_is_stored():
    dataset = make_dataset(n_questions=2)
    run = make_generation_run(dataset=dataset)
    batch = [
        OutputRecord(
            id="q0", kind="explanation", text="first", usage={"prompt_tokens": 5, "completion_tokens": 2}
        ),
        OutputRecord(id="q1", kind="option_explanation", option_label="A", text="a shelf"),
    ]

    assert records.store_teacher_outputs(generation_run=run, outputs=batch) == 2
    resumed = [*batch, OutputRecord(id="q1", kind="explanation", text="new")]
    assert records.store_teacher_outputs(generation_run=run, outputs=resumed) == 1

    assert TeacherOutput.objects.count() == 3
    assert TeacherOutput.objects.get(question__external_id="q0").text == "first"
    assert TeacherOutput.objects.get(question__external_id="q0").prompt_tokens == 5
    stored = selectors.stored_teacher_outputs(generation_run=run)
    assert {(r.id, r.kind, r.option_label, r.text) for r in stored} == {
        ("q0", "explanation", "", "first"),
        ("q1", "option_explanation", "A", "a shelf"),
        ("q1", "explanation", "", "new"),
    }


def test_a_nul_character_a_model_wrote_is_stored_as_the_replacement_character():
    run = make_generation_run(dataset=make_dataset(n_questions=1))
    records.store_teacher_outputs(
        generation_run=run, outputs=[OutputRecord(id="q0", kind="explanation", text="a\x00b", prompt="p\x00")]
    )
    assert TeacherOutput.objects.values_list("text", "prompt").get() == ("a\ufffdb", "p\ufffd")


def test_teacher_outputs_of_unknown_questions_are_refused_whole():
    run = make_generation_run(dataset=make_dataset(n_questions=1))
    with pytest.raises(ValueError, match="not in dataset tiny-cqa: q7"):
        records.store_teacher_outputs(
            generation_run=run,
            outputs=[
                OutputRecord(id="q0", kind="explanation", text="x"),
                OutputRecord(id="q7", kind="critique", text="y"),
            ],
        )
    assert not TeacherOutput.objects.exists()


@pytest.fixture
def inference_run() -> InferenceRun:
    training_run = make_trained_run(dataset=make_dataset(n_questions=0))
    add_questions(training_run.dataset, ["v1", "v2", "v3"], split=Question.Split.VALIDATION, answer_key="C")
    return InferenceRun.objects.create(
        training_run=training_run, dataset=training_run.dataset, split="validation"
    )


def test_predictions_are_stored_once_and_judged_against_the_stored_answer(inference_run):
    first = [
        {
            "id": "v1",
            "predicted_label": "C",
            "explanation": "Cars go.",
            "parse_rule": "exact",
            "raw_output": "car",
        },
        {"id": "v2", "predicted_label": "", "parse_rule": "none"},
    ]
    assert records.store_predictions(inference_run=inference_run, predictions=first) == 2
    assert (
        records.store_predictions(
            inference_run=inference_run, predictions=[*first, {"id": "v3", "predicted_label": "A"}]
        )
        == 1
    )

    stored = {p.question.external_id: p for p in Prediction.objects.select_related("question")}
    assert (stored["v1"].correct, stored["v1"].predicted_text, stored["v1"].explanation) == (
        True,
        "car",
        "Cars go.",
    )
    assert (stored["v2"].correct, stored["v2"].predicted_label) == (False, "")
    assert stored["v3"].correct is False
    resumed = {
        p.question_id: p
        for p in selectors.stored_predictions(inference_run=inference_run, mode="predict_explain")
    }
    assert resumed.keys() == {"v1", "v2", "v3"}
    assert (resumed["v1"].predicted_text, resumed["v1"].correct, resumed["v1"].mode) == (
        "car",
        True,
        "predict_explain",
    )


def test_bad_predictions_are_refused_with_what_is_wrong(inference_run):
    with pytest.raises(ValueError, match="predicted_label must be one of A–E or empty, got 'F'"):
        records.store_predictions(
            inference_run=inference_run, predictions=[{"id": "v1", "predicted_label": "F"}]
        )
    with pytest.raises(ValueError, match="not in dataset"):
        records.store_predictions(
            inference_run=inference_run, predictions=[{"id": "zz", "predicted_label": "A"}]
        )
    with pytest.raises(ValueError, match="got keys"):
        records.store_predictions(inference_run=inference_run, predictions=[{"id": "v1", "label": "A"}])
    assert not Prediction.objects.exists()


def test_storing_a_checkpoint_replaces_the_previous_one_of_its_role():
    run = make_training_run()
    records.store_checkpoint(training_run=run, role="best", step=100, path="/ckpt/100", eval_accuracy=0.4)
    records.store_checkpoint(training_run=run, role="best", step=300, path="/ckpt/300", eval_accuracy=0.5)
    records.store_checkpoint(training_run=run, role="last", step=500, path="/ckpt/500")

    run.refresh_from_db()
    assert (run.best_checkpoint, run.last_checkpoint) == ("/ckpt/300", "/ckpt/500")
    assert Checkpoint.objects.get(training_run=run, role="best").step == 300
    assert Checkpoint.objects.count() == 2
