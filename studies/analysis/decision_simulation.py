"""Simulated decision studies, for tests, pilots and power: decisions that arise from a known reliance pattern.

A participant answers `items_per_condition` items in every condition, each a different question, `wrong` of them
(the design's share) with wrong advice. The first answer is right with probability

    expit(logit(initial_accuracy) + u[participant] + v[question]),

and a wrong first answer is one of the other options at random; wrong advice is another random wrong option.
Then, where advice is shown:

- first answer wrong, advice right: the participant takes the advice with probability expit(logit(RAIR[c]) + r[p]);
- first answer right, advice wrong: they keep their answer with probability expit(logit(RSR[c]) + s[p]), and take
  the advice otherwise;
- both wrong and different: they take the advice with probability `follow_wrong`; both the same or both right:
  they keep their answer.

In a control condition (no advice) they change their answer to another option at random with probability
`revise`. u, v, r and s are normal on the log-odds scale. Confidence rises with a right first answer and with
agreeing advice; seconds are log-normal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from training.cqa import LABELS

from .decisions import COMPARED, compare, with_outcomes


@dataclass(frozen=True)
class DecisionDesign:
    conditions: Sequence[tuple[str, str]]  # (name, advice: none | answer | answer_explanation)
    items_per_condition: int = 10
    wrong_advice_share: float = 0.3
    questions: int = 60
    options: int = 5
    two_step: bool = True

    def __post_init__(self):
        if len(self.conditions) < 2:
            raise ValueError("a decision study compares two or more conditions")
        wrong = self.wrong_advice_share * self.items_per_condition
        if abs(wrong - round(wrong)) > 1e-6:
            raise ValueError(
                f"a wrong-advice share of {self.wrong_advice_share:g} of {self.items_per_condition} items is "
                f"{wrong:g} items; it must be a whole number"
            )
        if self.questions < self.items_per_condition * len(self.conditions):
            raise ValueError("each participant needs a different question for every item")

    @property
    def wrong_per_condition(self) -> int:
        return round(self.wrong_advice_share * self.items_per_condition)


@dataclass(frozen=True)
class RelianceModel:
    """Rates on the probability scale, SDs on the log-odds scale; RAIR and RSR by condition name."""

    rair: Mapping[str, float] = field(default_factory=dict)
    rsr: Mapping[str, float] = field(default_factory=dict)
    initial_accuracy: float = 0.6
    follow_wrong: float = 0.3
    revise: float = 0.05
    sd_participant: float = 0.5
    sd_question: float = 0.8
    sd_reliance: float = 0.5

    def rate(self, which: str, condition: str) -> float:
        rates = self.rair if which == "rair" else self.rsr
        return rates.get(condition, 0.5 if which == "rair" else 0.8)


def simulate_decisions(
    design: DecisionDesign, model: RelianceModel, participants: int, rng: np.random.Generator
) -> pd.DataFrame:
    """A decisions table in the export's columns (typed), as `participants` completed participants answer it."""
    n_c, k, n_q = len(design.conditions), design.items_per_condition, design.questions
    n = participants * n_c * k
    gold = rng.integers(0, design.options, n_q)
    v = rng.normal(0, model.sd_question, n_q)
    # Each participant: n_c * k different questions; each condition's first `wrong` items get wrong advice.
    questions = np.argsort(rng.random((participants, n_q)), axis=1)[:, : n_c * k].reshape(-1)
    participant = np.repeat(np.arange(participants), n_c * k)
    condition = np.tile(np.repeat(np.arange(n_c), k), participants)
    advice_right = np.tile(np.tile(np.arange(k) >= design.wrong_per_condition, n_c), participants)
    u = rng.normal(0, model.sd_participant, participants)[participant]
    r = rng.normal(0, model.sd_reliance, participants)[participant]
    s = rng.normal(0, model.sd_reliance, participants)[participant]
    g = gold[questions]

    def other_than(answer: np.ndarray) -> np.ndarray:
        return (answer + rng.integers(1, design.options, len(answer))) % design.options

    first_right = rng.random(n) < expit(logit(model.initial_accuracy) + u + v[questions])
    first = np.where(first_right, g, other_than(g))
    advice = np.where(advice_right, g, other_than(g))
    names = [name for name, _ in design.conditions]
    kinds = np.array([kind for _, kind in design.conditions])[condition]
    rair = np.array([model.rate("rair", c) for c in names])[condition]
    rsr = np.array([model.rate("rsr", c) for c in names])[condition]
    take = np.zeros(n, dtype=bool)
    take |= ~first_right & advice_right & (rng.random(n) < expit(logit(rair) + r))
    take |= first_right & ~advice_right & (rng.random(n) >= expit(logit(rsr) + s))
    take |= ~first_right & ~advice_right & (first != advice) & (rng.random(n) < model.follow_wrong)
    final = np.where(take, advice, first)
    control = kinds == "none"
    revised = control & (rng.random(n) < model.revise)
    final = np.where(control, np.where(revised, other_than(first), first), final)
    if not design.two_step:  # one answer, with the advice: the same process, only the first answer is unseen
        first_shown = np.full(n, "", dtype=object)
        initial_confidence = np.full(n, np.nan)
    else:
        first_shown = np.array(list(LABELS))[first].astype(object)
        initial_confidence = np.clip(np.round(2.5 + 1.2 * first_right + rng.normal(0, 0.8, n)), 1, 5)
    agrees = final == advice
    base = initial_confidence if design.two_step else np.full(n, 3.0)
    final_confidence = np.clip(np.round(base + 0.6 * (agrees & ~control) + rng.normal(0, 0.5, n)), 1, 5)
    labels = np.array(list(LABELS))
    return pd.DataFrame(
        {
            "study_id": "simulated",
            "participant_id": [f"sim{p:04d}" for p in participant],
            "condition": np.array(names)[condition],
            "advice": kinds,
            "question_id": [f"q{q:04d}" for q in questions],
            "gold_answer": labels[g],
            "advice_answer": labels[advice],
            "advice_correct": advice_right,
            "initial_answer": first_shown,
            "initial_confidence": initial_confidence,
            "final_answer": labels[final],
            "final_confidence": final_confidence,
            "seconds_initial": np.where(design.two_step, rng.lognormal(math.log(20), 0.4, n), np.nan),
            "seconds_final": rng.lognormal(math.log(12), 0.4, n),
            "position": np.tile(np.arange(1, n_c * k + 1), participants),
            "participant_status": "completed",
            "test_response": False,
        }
    )


@dataclass(frozen=True)
class DecisionPower:
    participants: int | None  # the smallest count reaching the target (None: not within the counts tried)
    curve: pd.DataFrame  # participants, power, ci_low, ci_high
    measure: str
    a: str
    b: str
    target_power: float
    alpha: float
    n_simulations: int
    statement: str


def decision_power(
    design: DecisionDesign,
    model: RelianceModel,
    *,
    measure: str = "rair",
    a: str,
    b: str,
    counts: Sequence[int] = (10, 20, 40, 80, 160),
    n_simulations: int = 200,
    n_permutations: int = 300,
    target_power: float = 0.8,
    alpha: float = 0.05,
    seed: int = 20250101,
) -> DecisionPower:
    """Power of the permutation test of `measure` (rair, rsr or final_accuracy) between conditions a and b.

    Each simulated study gets the permutation test `analyze_decisions` runs on a real one (uncorrected: the
    planned comparison); power is the share of studies where the difference is significant in the planted
    direction, with a 95% Wilson interval for the Monte Carlo error. Planting a difference in final accuracy is not
    supported (it follows from the reliance rates): `measure="final_accuracy"` gives the false-positive rate.
    """
    if measure not in COMPARED:
        raise ValueError(f"power is simulated for {', '.join(COMPARED)}, not {measure!r}")
    names = [name for name, _ in design.conditions]
    if a not in names or b not in names or a == b:
        raise ValueError(
            f"compare two different conditions of the design ({', '.join(names)}); got {a!r}, {b!r}"
        )
    rng = np.random.default_rng(seed)
    rows, reached = [], None
    planted = model.rate(measure, a) - model.rate(measure, b) if measure in ("rair", "rsr") else 0.0
    for count in counts:
        found = 0
        for _ in range(n_simulations):
            # The test the analysis runs, on the outcomes it derives; nothing else of the report is needed here.
            decisions = with_outcomes(simulate_decisions(design, model, count, rng))
            difference, p, _ = compare(decisions, measure, a, b, n_permutations, rng)
            if p < alpha and np.sign(difference) == np.sign(planted):
                found += 1
        low, high = wilson(found, n_simulations)
        rows.append({"participants": count, "power": found / n_simulations, "ci_low": low, "ci_high": high})
        if reached is None and found / n_simulations >= target_power:
            reached = count
            break
    curve = pd.DataFrame(rows)
    statement = (
        f"{reached} participants (the first count tried to reach {target_power:.0%}) give "
        f"{curve['power'].iloc[-1]:.0%} power to find a {measure} difference of {planted:+.2f} between {a} and {b} "
        f"(alpha {alpha}, {n_simulations} simulations per count)."
        if reached is not None
        else f"Even {counts[-1]} participants stay below {target_power:.0%} power for this difference."
    )
    return DecisionPower(reached, curve, measure, a, b, target_power, alpha, n_simulations, statement)


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion."""
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half
