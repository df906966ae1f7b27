"""Planning a study before launch: its design as the analysis sees it, and the participants 80% power needs."""

import base64
import tempfile
from pathlib import Path

from .analysis import (
    DecisionDesign,
    DecisionPower,
    PlannedDesign,
    PowerResult,
    RelianceModel,
    decision_power,
    participants_for_power,
    plot_power_curve,
)
from .analysis.power import MAX_PARTICIPANTS
from .models import Study

TARGET_POWER = 0.8


def planned_design(study: Study) -> PlannedDesign:
    """Conditions, items per condition per participant, scales and questions of the study; ValueError if unfit."""
    conditions = study.conditions.count()
    ranges = set(study.scales.values_list("min_value", "max_value"))
    if conditions < 2:
        raise ValueError(f"the study has {conditions} condition(s); power is about comparing two or more")
    if not ranges:
        raise ValueError("the study has no rating scale yet")
    if len(ranges) > 1:
        raise ValueError(
            "the study's scales have different ranges ("
            + ", ".join(f"{low}-{high}" for low, high in sorted(ranges))
            + "); the simulation assumes one range"
        )
    questions = (
        study.items.filter(excluded=False).count() if study.items_sampled_at is not None else study.item_count
    )
    return PlannedDesign(
        conditions=conditions,
        items_per_condition=study.items_per_condition,
        scales=study.scales.count(),
        questions=questions,
        scale_range=ranges.pop(),
    )


def plan_power(
    *, study: Study, expected: float, unit: str, test: str, outcome: str, n_simulations: int
) -> PowerResult:
    """Participants needed for 80% power for the study's design and an expected difference (points or A)."""
    difference = {"difference": expected} if unit == "points" else {"a": expected}
    return participants_for_power(
        planned_design(study),
        test=test,
        outcome=outcome,
        target_power=TARGET_POWER,
        n_simulations=n_simulations,
        max_participants=MAX_PARTICIPANTS,
        **difference,
    )


DECISION_COUNTS = (8, 16, 32, 64, 128, 256)


def decision_design(study: Study) -> DecisionDesign:
    """A decision study's design as the simulation sees it; ValueError if it is not complete."""
    conditions = list(study.conditions.values_list("name", "advice"))
    questions = (
        study.items.filter(excluded=False).count() if study.items_sampled_at is not None else study.item_count
    )
    return DecisionDesign(
        conditions=conditions,
        items_per_condition=study.items_per_condition,
        wrong_advice_share=study.wrong_advice_share,
        questions=questions,
        two_step=study.two_step,
    )


def plan_decision_power(
    *,
    study: Study,
    measure: str,
    a: str,
    b: str,
    rate_a: float,
    rate_b: float,
    initial_accuracy: float,
    n_simulations: int,
) -> DecisionPower:
    """Participants needed for 80% power to find RAIR (or RSR) `rate_a` in condition a against `rate_b` in b."""
    rates = {a: rate_a, b: rate_b}
    model = RelianceModel(
        rair=rates if measure == "rair" else {},
        rsr=rates if measure == "rsr" else {},
        initial_accuracy=initial_accuracy,
    )
    return decision_power(
        decision_design(study),
        model,
        measure=measure,
        a=a,
        b=b,
        counts=DECISION_COUNTS,
        n_simulations=n_simulations,
        target_power=TARGET_POWER,
    )


def power_curve_data_uri(result: PowerResult | DecisionPower) -> str:
    """The power curve as an inline PNG (a data: URI), so the page needs no file."""
    with tempfile.TemporaryDirectory() as folder:
        png = plot_power_curve(result, Path(folder) / "power.png").read_bytes()
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
