"""The decision analysis: measures against hand counts, a planted reliance pattern recovered, the null case at the
nominal false-positive rate, the permutation test against full enumeration, bad input named, the CLI."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from studies.analysis.__main__ import main
from studies.analysis.decision_simulation import (
    DecisionDesign,
    RelianceModel,
    decision_power,
    simulate_decisions,
)
from studies.analysis.decisions import (
    analyze_decisions,
    compare,
    permutation_p,
    validate_decisions,
    with_outcomes,
)
from studies.analysis.inputs import InputError

THREE = [("control", "none"), ("answer", "answer"), ("explained", "answer_explanation")]
PLANTED = RelianceModel(rair={"answer": 0.4, "explained": 0.6}, rsr={"answer": 0.85, "explained": 0.6})


def row(pid, condition, advice, question, gold, advice_answer, first, final, **extra):
    return {
        "participant_id": pid,
        "condition": condition,
        "advice": advice,
        "question_id": question,
        "gold_answer": gold,
        "advice_answer": advice_answer,
        "advice_correct": "true" if advice_answer == gold else "false",
        "initial_answer": first,
        "final_answer": final,
        "participant_status": "completed",
        "test_response": "false",
        **extra,
    }


def estimate(analysis, measure, condition):
    table = analysis.conditions
    return table[(table["measure"] == measure) & (table["condition"] == condition)].iloc[0]


def test_the_measures_match_hand_counts():
    rows = [
        # p1 in "answer": wrong first + right advice (took it), wrong first + right advice (kept), right first + wrong
        # advice (kept), right first + wrong advice (took it), right + right (kept).
        row("p1", "answer", "answer", "q1", "A", "A", "B", "A", initial_confidence="2", final_confidence="4"),
        row("p1", "answer", "answer", "q2", "A", "A", "C", "C"),
        row("p1", "answer", "answer", "q3", "A", "D", "A", "A"),
        row("p1", "answer", "answer", "q4", "A", "E", "A", "E"),
        row("p1", "answer", "answer", "q5", "A", "A", "A", "A", initial_confidence="3", final_confidence="2"),
        row("p1", "control", "none", "q6", "B", "B", "C", "C"),
        row("p1", "control", "none", "q7", "B", "A", "B", "B"),
    ]
    analysis = analyze_decisions(pd.DataFrame(rows), mixed_model=False, n_bootstrap=10, n_permutations=10)
    assert estimate(analysis, "rair", "answer")["estimate"] == pytest.approx(1 / 2)
    assert estimate(analysis, "rsr", "answer")["estimate"] == pytest.approx(1 / 2)
    assert estimate(analysis, "initial_accuracy", "answer")["estimate"] == pytest.approx(3 / 5)
    assert estimate(analysis, "final_accuracy", "answer")["estimate"] == pytest.approx(3 / 5)
    assert estimate(analysis, "switch_rate", "answer")["estimate"] == pytest.approx(2 / 5)
    assert estimate(analysis, "over_reliance", "answer")["estimate"] == pytest.approx(1 / 2)  # q4 of q3, q4
    assert estimate(analysis, "under_reliance", "answer")["estimate"] == pytest.approx(
        1 / 3
    )  # q2 of q1, q2, q5
    assert estimate(analysis, "confidence_change", "answer")["estimate"] == pytest.approx((2 - 1) / 2)
    assert estimate(analysis, "rair", "control")["estimate"] == 0 and estimate(analysis, "rsr", "control")[
        "estimate"
    ] == pytest.approx(1)
    per_participant = analysis.measures.set_index("condition").loc["answer"]
    assert (per_participant["rair_n"], per_participant["rsr_n"]) == (2, 2)


def test_the_permutation_test_matches_full_enumeration():
    participant = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    in_a = np.array([1, 1, 0, 0, 1, 0, 0, 1, 1, 0], dtype=bool)
    hit = np.array([1, 1, 0, 1, 1, 0, 0, 1, 0, 0], dtype=float)
    observed, p = permutation_p(participant, in_a, hit, 40000, np.random.default_rng(0))
    n_a, n_b = in_a.sum(), (~in_a).sum()
    assert observed == pytest.approx(hit[in_a].mean() - hit[~in_a].mean())
    # Every relabelling that keeps each participant's number of A items, equally likely.
    blocks = [np.flatnonzero(participant == k) for k in range(3)]
    choices = [list(itertools.combinations(b, int(in_a[b].sum()))) for b in blocks]
    extreme = total = 0
    for combo in itertools.product(*choices):
        labels = np.zeros(len(hit), dtype=bool)
        labels[list(itertools.chain(*combo))] = True
        difference = hit[labels].sum() / n_a - hit[~labels].sum() / n_b
        extreme += abs(difference) >= abs(observed) - 1e-12
        total += 1
    assert p == pytest.approx(extreme / total, abs=0.01)


def test_a_planted_reliance_pattern_is_recovered():
    design = DecisionDesign(conditions=THREE, items_per_condition=10, wrong_advice_share=0.3, questions=60)
    decisions = simulate_decisions(design, PLANTED, 80, np.random.default_rng(11))
    analysis = analyze_decisions(decisions, n_bootstrap=1000, n_permutations=1000)
    for condition, rair, rsr in (("answer", 0.4, 0.85), ("explained", 0.6, 0.6)):
        for measure, truth in (("rair", rair), ("rsr", rsr)):
            found = estimate(analysis, measure, condition)
            assert found["ci_low"] <= truth <= found["ci_high"], (condition, measure, found.to_dict())
            assert abs(found["estimate"] - truth) < 0.1
    pairs = analysis.pairwise.set_index(["measure", "a", "b"])
    rair = pairs.loc[("rair", "answer", "explained")]
    rsr = pairs.loc[("rsr", "answer", "explained")]
    assert rair["difference"] < 0 and rair["significant"]  # explanations raise RAIR ...
    assert rsr["difference"] > 0 and rsr["significant"]  # ... and lower RSR
    effects = analysis.mixed.set_index("term")
    # Advice correctness matters more for final correctness with explanations than with the answer alone.
    assert (
        effects.loc["explained x advice_correct", "posterior_mean"]
        > effects.loc["answer x advice_correct", "ci_high"]
    )
    assert effects.loc["answer x advice_correct", "excludes_zero"]
    assert any(
        "RAIR is lower in answer than in explained" in line
        for lines in analysis.summary.values()
        for line in lines
    )


def test_the_null_case_stays_near_the_nominal_false_positive_rate():
    # 200 studies with no difference between the two advice conditions: the RAIR and RSR tests reject about 5%.
    two = [("answer", "answer"), ("explained", "answer_explanation")]
    design = DecisionDesign(conditions=two, items_per_condition=6, wrong_advice_share=0.5, questions=30)
    same = RelianceModel(rair={"answer": 0.5, "explained": 0.5}, rsr={"answer": 0.7, "explained": 0.7})
    rng = np.random.default_rng(5)
    rejected = {"rair": 0, "rsr": 0}
    n = 200
    for _ in range(n):
        # The comparison analyze_decisions makes for each pair (its other tables do not enter the test).
        decisions = with_outcomes(validate_decisions(simulate_decisions(design, same, 20, rng)))
        for measure in rejected:
            _, p, _ = compare(decisions, measure, "answer", "explained", 199, rng)
            rejected[measure] += p < 0.05
    band = 3 * math.sqrt(0.05 * 0.95 / n)  # 3 SD of Binomial(200, .05) / 200
    for measure, count in rejected.items():
        assert abs(count / n - 0.05) <= band, (measure, count / n)


def test_power_of_the_design_grows_to_the_target():
    two = [("answer", "answer"), ("explained", "answer_explanation")]
    design = DecisionDesign(conditions=two, items_per_condition=10, wrong_advice_share=0.3, questions=40)
    result = decision_power(
        design,
        PLANTED,
        measure="rair",
        a="explained",
        b="answer",
        counts=(6, 60),
        n_simulations=30,
        n_permutations=199,
    )
    assert result.curve["power"].iloc[0] < 0.8
    assert result.participants == 60 and result.curve["power"].iloc[-1] >= 0.8
    assert "60 participants" in result.statement


def test_a_design_whose_wrong_share_is_not_whole_is_refused():
    with pytest.raises(ValueError, match="whole number"):
        DecisionDesign(conditions=THREE, items_per_condition=4, wrong_advice_share=0.3)


def test_bad_rows_are_named_with_their_lines(tmp_path):
    path = tmp_path / "decisions.csv"
    frame = pd.DataFrame(
        [
            row("p1", "answer", "answer", "q1", "A", "A", "B", "A"),
            row("p1", "x", "shown", "q2", "A", "B", "A", "A"),
        ]
    )
    frame.loc[1, "advice_correct"] = "true"
    frame.to_csv(path, index=False)
    from studies.analysis.inputs import read_ratings_csv

    with pytest.raises(InputError) as caught:
        validate_decisions(read_ratings_csv(path))
    message = str(caught.value)
    assert "advice is not one of none, answer, answer_explanation: line 3 ('shown')" in message
    assert "advice_correct disagrees with advice_answer and gold_answer: line 3" in message
    with pytest.raises(InputError, match="missing column"):
        validate_decisions(frame.drop(columns=["final_answer"]))


def test_the_cli_writes_the_decision_report(tmp_path, capsys):
    design = DecisionDesign(conditions=THREE, items_per_condition=4, wrong_advice_share=0.5, questions=20)
    path = tmp_path / "decisions.csv"
    simulate_decisions(design, PLANTED, 12, np.random.default_rng(3)).to_csv(path, index=False)
    assert main([str(path), "--out", str(tmp_path / "report")]) == 0
    printed = capsys.readouterr().out
    assert "== Decisions per condition ==" in printed and "RAIR" in printed
    for name in ("report.md", "report.html", "plots/rair_rsr_plane.png", "plots/accuracy_before_after.png"):
        assert (tmp_path / "report" / name).is_file(), name
    tables = pd.read_csv(tmp_path / "report" / "tables" / "decision_reliance.csv")
    assert set(tables["measure"]) == {"rair", "rsr", "over_reliance", "under_reliance"}
