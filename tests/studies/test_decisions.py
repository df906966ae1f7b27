"""Decision studies: design checks, the wrong-advice share per participant, and the two steps through the pages."""

import csv
import io
from collections import Counter
from types import SimpleNamespace

import pandas as pd
import pytest

from models_app.models import Dataset, Question
from studies import deciding, participation, pipeline, reports, services
from studies.analysis.__main__ import main as analysis_main
from studies.models import Decision, Explanation, Participant, Study

from .factories import answer_right, make_decision_study, make_open_study
from .flow import through_to_items

pytestmark = pytest.mark.django_db


def answer_url(participant, position, advice=False):
    return f"/s/p/{participant.token}/item/{position}/" + ("advice/" if advice else "")


def test_every_participant_gets_the_wrong_advice_share_in_every_condition_and_items_balance():
    study = make_decision_study(items_per_condition=4, wrong_advice_share=0.25)
    loads = Counter()
    for _ in range(6):
        participant = participation.enter_study(study=study, is_test=True)
        participation.start_items(participant=participant)
        slots = list(participant.assignments.select_related("explanation__condition"))
        assert len(slots) == 12
        per_condition = Counter((a.explanation.condition.name, a.explanation.correct) for a in slots)
        for condition in study.conditions.all():
            assert per_condition[(condition.name, False)] == 1
            assert per_condition[(condition.name, True)] == 3
        assert len({a.explanation.question_id for a in slots}) == 12  # each question once per participant
        loads.update(a.explanation_id for a in slots)
    # 10 wrong and 14 right items per condition: 6 participants spread over them (at most one apart).
    for condition in study.conditions.all():
        for correct in (True, False):
            counts = [loads[e.pk] for e in condition.explanations.filter(correct=correct)]
            assert max(counts) - min(counts) <= 1, (condition.name, correct, counts)


def test_design_problems_name_an_uneven_share_and_too_few_wrong_items():
    study = make_decision_study()
    study.status = Study.Status.DRAFT
    study.wrong_advice_share = 0.3
    study.save()
    assert any("0.6 items" in p for p in services.design_problems(study))
    study.wrong_advice_share = 1.0
    study.items_per_condition = 11
    study.save()
    problems = services.design_problems(study)
    assert any("10 items where the model is wrong but each participant needs 11" in p for p in problems)


def test_a_rating_study_refuses_advice_without_explanations(study):
    with pytest.raises(ValueError, match="only a decision study"):
        services.add_inference_run_condition(
            study=Study.objects.create(title="x", consent_text="c", instructions="i"),
            inference_run=study.conditions.first().inference_run,
            advice="answer",
        )


def test_two_steps_in_order_once_each_and_nothing_changes_after_the_advice(client):
    study = make_decision_study(ask_confidence=True)
    participant = through_to_items(client, study, "DEC1")
    page = client.get(f"/s/p/{participant.token}/item/", follow=True)
    assert page.redirect_chain[-1][0] == answer_url(participant, 1)
    assert b"Step 1 of 2" in page.content and b"model\xe2\x80\x99s advice" not in page.content
    # The advice page is not shown before the first answer; a final answer sent early is refused.
    assert client.get(answer_url(participant, 1, advice=True))["Location"] == answer_url(participant, 1)
    early = client.post(answer_url(participant, 1, advice=True), {"answer": "A"})
    assert early.status_code == 409
    events = '[{"t": 1200, "kind": "answer", "value": "B"}, {"t": 1900, "kind": "submit", "value": ""}]'
    first = client.post(answer_url(participant, 1), {"answer": "B", "confidence": "2", "events": events})
    assert first["Location"] == answer_url(participant, 1, advice=True)
    # Back to step 1: the first answer, read-only; sending another one keeps the first.
    back = client.get(answer_url(participant, 1))
    assert b"Your first answer is saved" in back.content and b'name="answer"' not in back.content
    again = client.post(answer_url(participant, 1), {"answer": "C", "confidence": "5"})
    assert again["Location"] == answer_url(participant, 1, advice=True)
    decision = Decision.objects.get(assignment__participant=participant, assignment__position=1)
    assert (decision.initial_answer, decision.initial_confidence) == ("B", 2)
    assert decision.events["initial"] == [
        {"t": 1200, "kind": "answer", "value": "B"},
        {"t": 1900, "kind": "submit", "value": ""},
    ]
    advice = client.get(answer_url(participant, 1, advice=True))
    assert b"Step 2 of 2" in advice.content and b"Your first answer: <strong>B" in advice.content
    done = client.post(answer_url(participant, 1, advice=True), {"answer": "D", "events": "not json"})
    assert done["Location"] == answer_url(participant, 2)
    client.post(answer_url(participant, 1, advice=True), {"answer": "E"})  # a stale tab: kept as it was
    decision.refresh_from_db()
    assert (decision.final_answer, decision.final_confidence, decision.events["final"]) == ("D", None, [])
    assert decision.seconds_initial >= 0 and decision.seconds_final >= 0
    assert decision.advice_served_at >= decision.initial_at
    review = client.get(answer_url(participant, 1, advice=True))
    assert b"You have answered this item" in review.content and b'name="answer"' not in review.content


def test_one_step_shows_the_advice_at_once_and_reveal_shows_the_correct_answer(client):
    study = make_decision_study(protocol=Study.Protocol.ONE_STEP, reveal_answer=True, ask_confidence=False)
    participant = through_to_items(client, study, "DEC2")
    while participant.status == Participant.Status.IN_PROGRESS:
        page = client.get(f"/s/p/{participant.token}/item/", follow=True)
        position = int(page.redirect_chain[-1][0].rstrip("/").rsplit("/", 1)[1])
        assert b"Step 1 of 2" not in page.content and b"model\xe2\x80\x99s advice" in page.content
        assert b'name="confidence"' not in page.content
        response = client.post(answer_url(participant, position), {"answer": "A"})
        assert response["Location"] == answer_url(participant, position, advice=True)
        shown = client.get(response["Location"])
        assert b"The correct answer is" in shown.content
        participant.refresh_from_db()
    decisions = Decision.objects.filter(assignment__participant=participant)
    assert decisions.count() == 6
    assert all(d.initial_answer == "" and d.final_answer == "A" for d in decisions)
    assert all(d.advice_served_at == d.assignment.served_at for d in decisions)
    assert client.get(f"/s/p/{participant.token}/done/").status_code == 200


def test_answers_off_the_options_are_refused():
    study = make_decision_study()
    participant = participation.enter_study(study=study, is_test=True)
    participation.start_items(participant=participant)
    participation.serve_next_item(participant=participant)
    with pytest.raises(deciding.InvalidDecision):
        deciding.submit_initial(participant=participant, position=1, answer="F")
    with pytest.raises(deciding.InvalidDecision):
        deciding.submit_initial(participant=participant, position=1, answer="A", confidence=6)
    with pytest.raises(participation.NotHandedOut):
        deciding.submit_initial(participant=participant, position=2, answer="A")


def test_the_export_holds_what_was_chosen_on_each_step(client, admin_client):
    study = make_decision_study(ask_confidence=True)
    participant = through_to_items(client, study, "DEC3")
    chosen = {}
    for position in range(1, 7):
        client.get(answer_url(participant, position))
        first, final = "ABCDE"[position % 5], "ABCDE"[(position * 2) % 5]
        client.post(answer_url(participant, position), {"answer": first, "confidence": str(1 + position % 5)})
        client.get(answer_url(participant, position, advice=True))
        client.post(answer_url(participant, position, advice=True), {"answer": final})
        chosen[position] = (first, str(1 + position % 5), final, "")
    response = admin_client.get(f"/studies/{study.pk}/export/decisions.csv?include_test_responses=1")
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert len(rows) == 6
    slots = {
        a.position: a
        for a in participant.assignments.select_related("explanation__question", "explanation__condition")
    }
    for row in rows:
        position = int(row["position"])
        explanation = slots[position].explanation
        gold = explanation.question.answer_key
        first, confidence, final, final_confidence = chosen[position]
        assert (row["initial_answer"], row["initial_confidence"]) == (first, confidence)
        assert (row["final_answer"], row["final_confidence"]) == (final, final_confidence)
        assert row["initial_correct"] == str(first == gold).lower()
        assert row["final_correct"] == str(final == gold).lower()
        assert row["switched"] == str(first != final).lower()
        assert (
            row["advice"] == explanation.condition.advice and row["condition"] == explanation.condition.name
        )
        assert row["advice_answer"] == explanation.answer_label
        assert row["advice_correct"] == str(explanation.correct).lower()
        assert (row["method"], row["data_variant"]) == ("multitask_counterfactual", "revised")
        assert row["participant_status"] == "completed" and float(row["seconds_final"]) >= 0
    assert admin_client.get(f"/studies/{study.pk}/export/ratings.csv").status_code == 404
    people = admin_client.get(f"/studies/{study.pk}/export/participants.csv").getvalue().decode()
    assert list(csv.DictReader(io.StringIO(people)))[0]["items_rated"] == "6"


@pytest.fixture
def artifacts(settings, tmp_path):
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    return settings.ARTIFACTS_DIR


def test_the_results_page_computes_the_cli_report_of_the_export(admin_client, artifacts, tmp_path):
    study = make_decision_study(items_per_condition=4, wrong_advice_share=0.5, n_questions=24, right=12)
    services.fill_with_test_responses(study=study, participants=8, seed=2)
    assert Decision.objects.filter(final_at__isnull=False).count() == 8 * 12
    response = admin_client.post(
        f"/studies/{study.pk}/results/compute/",
        {"include_test_responses": "on", "reference": ""},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]][0].startswith("Computing the report"), [
        str(m) for m in response.context["messages"]
    ]
    report = study.analysis_reports.get()
    if report.status == "queued":  # no broker in this test: compute it here, as the worker would
        reports.compute_report(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == "succeeded", report.error
    assert (report.ratings_analysed, report.participants_analysed) == (96, 8)
    page = admin_client.get(f"/studies/{study.pk}/results/").content.decode()
    assert "Reliance: RAIR, RSR, over- and under-reliance" in page and "rair_rsr_plane.png" in page

    # The same numbers from the CLI on the exported CSV.
    export = admin_client.get(f"/studies/{study.pk}/export/decisions.csv?include_test_responses=1")
    path = tmp_path / "decisions.csv"
    path.write_bytes(export.getvalue())
    assert analysis_main([str(path), "--out", str(tmp_path / "cli"), "--include-test-responses"]) == 0
    stored = pd.read_csv(report.directory / "tables" / "decision_conditions.csv")
    cli = pd.read_csv(tmp_path / "cli" / "tables" / "decision_conditions.csv")
    pd.testing.assert_frame_equal(stored, cli)
    assert dict(report.summary)["Decisions per condition"][1] in (tmp_path / "cli" / "report.md").read_text()


def test_the_demo_pipeline_opens_a_decision_study_beside_the_rating_study():
    rating = make_open_study(allow_anonymous=True)
    runs = [c.inference_run for c in rating.conditions.all()]
    said = []
    assert (
        pipeline.ensure_decision_study(
            plan=SimpleNamespace(study_options={}), rating_study=rating, echo=said.append
        )
        is None
    )
    assert "not opened" in said[-1] and "items where the model is right" in said[-1]
    assert Study.objects.filter(kind=Study.Kind.DECISION).count() == 0  # nothing left behind

    answer_right(runs[2], 12)  # the student right most often gives the advice
    plan = SimpleNamespace(study_options={"allow_anonymous": True})
    study = pipeline.ensure_decision_study(plan=plan, rating_study=rating, echo=said.append)
    assert study.status == Study.Status.OPEN and study.allow_anonymous and study.is_decision
    assert list(study.conditions.values_list("advice", "inference_run")) == [
        ("none", runs[2].pk),
        ("answer", runs[2].pk),
        ("answer_explanation", runs[2].pk),
    ]
    assert pipeline.ensure_decision_study(plan=plan, rating_study=rating, echo=said.append) == study
    assert "reused" in said[-1]
    assert pipeline._study_over(runs) == rating  # the rating study is still the one over the four runs


def test_the_admin_plans_a_decision_study_by_power_and_its_dashboard_shows(admin_client):
    study = make_decision_study(items_per_condition=10, wrong_advice_share=0.3, n_questions=40, right=26)
    url = f"/admin/studies/study/{study.pk}/power/"
    page = admin_client.get(url).content.decode()
    assert "3 conditions" in page and "<strong>3</strong> of them with wrong advice" in page
    names = list(study.conditions.values_list("name", flat=True))
    query = {
        "measure": "rair",
        "a": names[2],
        "rate_a": "0.7",
        "b": names[1],
        "rate_b": "0.3",
        "initial_accuracy": "0.6",
        "simulations": "20",
    }
    page = admin_client.get(url, query).content.decode()
    assert "participants</strong> are needed for 80% power" in page and "data:image/png;base64," in page
    same = admin_client.get(url, {**query, "b": names[2]}).content.decode()
    assert "Choose two different conditions." in same
    dashboard = admin_client.get(f"/studies/{study.pk}/").content.decode()
    assert "decisions.csv" in dashboard and "ratings.csv" not in dashboard


def test_a_decision_study_is_designed_in_the_admin(admin_client):
    inference = make_decision_study().conditions.first().inference_run  # 14 of 24 answers right
    inline = ("scales", "demographic_questions", "attention_checks", "conditions", "items")
    response = admin_client.post(
        "/admin/studies/study/add/",
        {
            "title": "Decide from the admin",
            "kind": "decision",
            "protocol": "two_step",
            "ask_confidence": "on",
            "wrong_advice_share": 0.25,
            "consent_text": "Agree?",
            "instructions": "Answer, then see advice.",
            "items_per_condition": 4,
            "item_count": 24,
            "target_ratings_per_item": 3,
            "attention_max_failures": 0,
            "abandon_after_minutes": 60,
            "completion_code": "C0DE1",
            "screen_out_code": "OUT1",
            "completion_url": "",
            **{f"{prefix}-TOTAL_FORMS": 0 for prefix in inline},
            **{f"{prefix}-INITIAL_FORMS": 0 for prefix in inline},
        },
        follow=True,
    )
    assert b"default five rating scales" not in response.content
    study = Study.objects.get(title="Decide from the admin")
    assert study.is_decision and not study.scales.exists() and study.wrong_advice_per_condition == 1
    for advice in ("none", "answer", "answer_explanation"):
        added = admin_client.post(
            "/admin/studies/condition/add/",
            {"study": study.pk, "inference_run": inference.pk, "advice": advice},
            follow=True,
        )
        assert b"24 explanations from inference run" in added.content
    assert list(study.conditions.values_list("name", "advice")) == [
        ("control (multitask_counterfactual/revised)", "none"),
        ("multitask_counterfactual/revised (answer only)", "answer"),
        ("multitask_counterfactual/revised", "answer_explanation"),
    ]
    actions = "/admin/studies/study/"
    admin_client.post(actions, {"action": "sample_items", "_selected_action": [study.pk]})
    response = admin_client.post(
        actions, {"action": "open_selected", "_selected_action": [study.pk]}, follow=True
    )
    assert b"is open" in response.content
    # A rating study refuses advice without an explanation.
    rating = make_open_study()
    refused = admin_client.post(
        "/admin/studies/condition/add/", {"study": rating.pk, "inference_run": inference.pk, "advice": "none"}
    )
    assert b"Only a decision study shows advice without explanations." in refused.content


def test_a_study_switched_back_to_rating_names_its_conditions_without_explanations():
    study = make_decision_study()
    study.kind = Study.Kind.RATING
    study.save()
    problems = services.design_problems(study)
    assert "condition control (multitask_counterfactual/revised) shows 'none' advice" in " ".join(problems)


def test_a_decision_item_shows_a_premise_and_hypothesis_as_people_read_them(client):
    """Issue 16 in a decision study: e-SNLI's pair as two labelled blocks and its three labels in plain words."""
    study = make_decision_study(n_questions=12, right=6, wrong_advice_share=0.5)
    questions = Question.objects.filter(
        pk__in=Explanation.objects.filter(condition__study=study).values("question")
    )
    Dataset.objects.filter(questions__in=questions).update(kind="esnli")
    for i, question in enumerate(questions):
        question.choices = ["entailment", "neutral", "contradiction"]
        question.answer_key = "A"
        question.fields = {"premise": f"A dog runs on the beach {i}.", "hypothesis": "An animal is outside."}
        question.save()
    Explanation.objects.filter(condition__study=study, correct=False).update(answer_label="C")
    Explanation.objects.filter(condition__study=study, correct=True).update(answer_label="A")
    participant = through_to_items(client, study, "PAIR1")
    page = client.get(answer_url(participant, 1)).content.decode()
    assert "Two statements" in page and "A dog runs on the beach" in page and "Claim about it" in page
    assert page.count('name="answer"') == 3 and "may or may not be true" in page
    client.post(answer_url(participant, 1), {"answer": "B"})
    advice = client.get(answer_url(participant, 1, advice=True)).content.decode()
    assert "Your first answer: <strong>may or may not be true</strong>" in advice
