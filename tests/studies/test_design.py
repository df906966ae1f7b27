"""Designing a study: conditions from inference runs or JSONL, seeded items, exclusions, freezing, launch."""

import json

import pytest

from models_app.models import Prediction
from studies import participation, services
from studies.defaults import AGREEMENT_ANCHORS, ScaleSpec
from studies.importing import ExplanationFileError
from studies.models import Explanation, Study

from .factories import make_inference_runs, make_questions

pytestmark = pytest.mark.django_db


def test_a_study_from_inference_runs_has_one_condition_per_method_and_variant_and_the_paper_scales():
    runs = make_inference_runs()
    study = services.create_study(title="Pilot", inference_runs=runs)
    assert [c.name for c in study.conditions.all()] == [
        "counterfactual/unrevised",
        "multitask/unrevised",
        "multitask_counterfactual/unrevised",
        "multitask_counterfactual/revised",
    ]
    assert [s.name for s in study.scales.all()] == [
        "plausibility",
        "understandability",
        "completeness",
        "satisfaction",
        "contrastiveness",
    ]
    assert all(s.points == list(enumerate(AGREEMENT_ANCHORS, start=1)) for s in study.scales.all())
    check = study.attention_checks.get()
    assert check.position == 7  # the middle of 12 items + 1 check
    assert '"Disagree" (2)' in check.instruction
    first = study.conditions.first()
    assert first.explanations.count() == 24
    explanation = first.explanations.select_related("prediction").first()
    assert explanation.text == explanation.prediction.explanation
    assert study.status == Study.Status.DRAFT and study.completion_code != study.screen_out_code


def test_predictions_without_an_answer_or_explanation_are_not_shown():
    runs = make_inference_runs()
    Prediction.objects.filter(inference_run=runs[0], question__external_id="cqa-000").update(explanation=" ")
    Prediction.objects.filter(inference_run=runs[0], question__external_id="cqa-001").update(
        predicted_label=""
    )
    study = services.create_study(title="Pilot", inference_runs=runs[:1], attention_checks=0)
    shown = set(study.conditions.get().explanations.values_list("question__external_id", flat=True))
    assert "cqa-000" not in shown and "cqa-001" not in shown and len(shown) == 22


def test_an_answer_only_run_cannot_be_a_condition():
    runs = make_inference_runs()
    runs[0].predictions.update(explanation="")
    study = services.create_study(title="Pilot", attention_checks=0)
    with pytest.raises(ValueError, match="no prediction with both an answer and an explanation"):
        services.add_inference_run_condition(study=study, inference_run=runs[0])


def test_items_are_sampled_reproducibly_with_the_seed_recorded():
    study = services.create_study(title="Pilot", inference_runs=make_inference_runs(), item_count=12)
    first = [i.question.external_id for i in services.sample_items(study=study, seed=3)]
    assert study.item_seed == 3 and len(first) == 12
    again = [i.question.external_id for i in services.sample_items(study=study, seed=3)]
    other = [i.question.external_id for i in services.sample_items(study=study, seed=4)]
    assert first == again and first != other
    check_question = study.attention_checks.get().question.external_id
    assert check_question not in first + other


def test_sampling_more_items_than_exist_takes_all_and_too_few_is_an_error():
    study = services.create_study(title="Pilot", inference_runs=make_inference_runs(), item_count=100)
    assert len(services.sample_items(study=study, seed=0)) == 23  # 24 questions, one on the attention check
    small = services.create_study(title="Small", inference_runs=make_inference_runs(n_questions=10))
    with pytest.raises(ValueError, match="each participant needs 12 different ones"):
        services.sample_items(study=small, seed=0)


def test_excluded_items_are_never_handed_out(study):
    excluded = list(study.items.values_list("question__external_id", flat=True)[:4])
    study.status = Study.Status.DRAFT
    services.set_items_excluded(study=study, question_ids=excluded, reason="offensive")
    services.open_study(study=study)
    for _ in range(4):
        participant = participation.enter_study(study=study, is_test=True)
        participation.start_items(participant=participant)
    shown = set(
        Explanation.objects.filter(assignments__participant__study=study).values_list(
            "question__external_id", flat=True
        )
    )
    assert shown and not shown & set(excluded)
    with pytest.raises(ValueError, match="not items of study"):
        study.participants.all().delete()
        services.set_items_excluded(study=study, question_ids=["nope"])


def test_a_study_with_participants_is_frozen_until_its_test_responses_are_deleted(study):
    services.fill_with_test_responses(study=study, participants=1)
    assert study.is_frozen
    with pytest.raises(services.StudyFrozen, match="already has participants"):
        services.sample_items(study=study, seed=1)
    with pytest.raises(services.StudyFrozen):
        services.add_scales(study=study, scales=[ScaleSpec("clarity", "Clarity", "It is clear.")])
    assert services.delete_test_responses(study=study) == 1
    assert not study.is_frozen
    services.sample_items(study=study, seed=1)


def test_opening_an_incomplete_study_lists_what_is_missing():
    study = services.create_study(title="Empty", attention_checks=0, scales=[])
    with pytest.raises(services.StudyDesignError) as error:
        services.open_study(study=study)
    assert error.value.problems == [
        "it has no condition",
        "it has no rating scale",
        "its items have not been sampled",
    ]
    study.refresh_from_db()
    assert study.status == Study.Status.DRAFT


def test_scales_need_one_anchor_per_point():
    study = services.create_study(title="Custom", attention_checks=0, scales=[])
    with pytest.raises(ValueError, match="3 anchors for 7 points"):
        services.add_scales(
            study=study, scales=[ScaleSpec("trust", "Trust", "I trust it.", ["a", "b", "c"], 1, 7)]
        )


def write_jsonl(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_a_jsonl_condition_maps_answers_by_label_or_text_and_reports_skipped_lines(tmp_path):
    questions = make_questions(12)
    q0, q1, q2 = questions[:3]
    path = write_jsonl(
        tmp_path / "student.jsonl",
        [
            {"id": q0.external_id, "predicted_answer": q0.choices[2], "explanation": "Because of reasons."},
            {"id": q1.external_id, "answer": "B", "explanation": "  It fits best.  "},
            {"id": q2.external_id, "answer": "somewhere else", "explanation": "Unmatched."},
            "",
        ],
    )
    study = services.create_study(title="Imported", attention_checks=0)
    with path.open() as lines:
        parsed = services.parse_condition_file(lines=lines, dataset=q0.dataset, source=path.name)
    assert parsed.summary() == "2 explanations; 1 skipped (answer matches no option: line 3)"
    condition = services.add_jsonl_condition(
        study=study, name="teacher/revised", parsed=parsed, source=path.name
    )
    stored = {
        e.question.external_id: (e.answer_label, e.correct, e.text) for e in condition.explanations.all()
    }
    assert stored == {
        q0.external_id: ("C", q0.answer_key == "C", "Because of reasons."),
        q1.external_id: ("B", q1.answer_key == "B", "It fits best."),
    }


def test_a_bad_jsonl_file_is_refused_with_every_bad_line_and_nothing_stored(tmp_path):
    questions = make_questions(3)
    path = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            {"id": questions[0].external_id, "answer": "A", "explanation": "fine"},
            "{not json",
            {"id": "unknown", "answer": "A", "explanation": "x"},
            {"id": questions[1].external_id, "explanation": "no answer"},
            {"id": questions[0].external_id, "answer": "B", "explanation": "again"},
        ],
    )
    with pytest.raises(ExplanationFileError) as error, path.open() as lines:
        services.parse_condition_file(lines=lines, dataset=questions[0].dataset, source="bad.jsonl")
    assert error.value.problems == [
        "line 2: not valid JSON (Expecting property name enclosed in double quotes)",
        "line 3: unknown question id 'unknown' (not in the chosen dataset)",
        "line 4: missing or non-text answer",
        "line 5: question 'cqa-000' again (first on line 1)",
    ]
    assert str(error.value).startswith("bad.jsonl: 4 problem(s), nothing imported")
    assert not Explanation.objects.exists()


def test_test_responses_need_sampled_items_and_leave_nothing_behind_when_refused():
    study = services.create_study(title="Unsampled", inference_runs=make_inference_runs())
    with pytest.raises(ValueError, match="sample them before filling it with test responses"):
        services.fill_with_test_responses(study=study, participants=2)
    assert not study.participants.exists() and not study.is_frozen
