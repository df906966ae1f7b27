"""Power by simulation: how many participants a planned study needs to find an expected difference.

The scenario: one condition is better than all others by `difference` scale points (or by Vargha-Delaney A over
each of them), the others are equal, ratings arise as in `simulation` (participant, question and item effects,
rounded and clipped). Each simulated study is analysed as the paper does, treating ratings as independent:

- `dunn`: Dunn's test of the better condition against one other, Bonferroni-corrected over all pairs; it counts
  as found when significant in the right direction;
- `kruskal_wallis`: the omnibus Kruskal-Wallis test across conditions.

The outcome is one scale or quality (the mean of the design's scales for an item). A mixed model of the same
within-participant design removes the participant variance and so usually has more power; it is not simulated
because one fit takes about a second. A fixed seed makes the answer reproducible; the curve carries the 95%
simulation interval of each estimate, so the Monte Carlo error is visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from .design import SEED
from .simulation import DEFAULT_RATING_MODEL, PlannedDesign, RatingModel, simulate_scores

Test = Literal["dunn", "kruskal_wallis"]
Outcome = Literal["scale", "quality"]

N_SIMULATIONS = 1000
MAX_PARTICIPANTS = 1000
_VALUES_PER_CHUNK = 2_000_000  # simulated ratings held in memory at once


@dataclass(frozen=True)
class PowerResult:
    # The smallest number of participants reaching the target power; None when not within max_participants.
    participants: int | None
    power: float  # estimated power at `participants` (or at max_participants when not reached)
    difference: float  # latent shift of the better condition, in scale points
    a: float  # the Vargha-Delaney A this shift gives on the outcome
    target_power: float
    test: Test
    outcome: Outcome
    alpha: float
    design: PlannedDesign
    model: RatingModel
    n_simulations: int
    seed: int
    curve: pd.DataFrame  # participants, power, ci_low, ci_high for every count simulated
    statement: str


def _outcome_values(
    design: PlannedDesign,
    model: RatingModel,
    difference: float,
    n_participants: int,
    n_simulations: int,
    outcome: Outcome,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(simulations, observations) outcome values and the condition of each observation."""
    effects = np.zeros(design.conditions)
    effects[0] = difference
    scales = design.scales if outcome == "quality" else 1
    values, condition, _ = simulate_scores(design, model, effects, n_participants, n_simulations, scales, rng)
    return values.mean(axis=-1).reshape(n_simulations, -1), condition.reshape(-1)


def a_for_difference(
    design: PlannedDesign,
    difference: float,
    *,
    outcome: Outcome = "scale",
    model: RatingModel = DEFAULT_RATING_MODEL,
) -> float:
    """Vargha-Delaney A of the better condition over another for a latent shift of `difference` scale points.

    Computed as the analysis computes it, over all rated values of the two conditions, on a large simulated
    sample with a fixed seed (so it is a smooth, increasing function of the shift).
    """
    rng = np.random.default_rng(SEED)
    values, condition = _outcome_values(
        design, model, difference, 4000 // design.items_per_condition + 1, 1, outcome, rng
    )
    better, other = values[0, condition == 0], values[0, condition == 1]
    return float(stats.mannwhitneyu(better, other).statistic / (len(better) * len(other)))


def difference_for_a(
    design: PlannedDesign, a: float, *, outcome: Outcome = "scale", model: RatingModel = DEFAULT_RATING_MODEL
) -> float:
    """The latent shift in scale points that gives Vargha-Delaney A = `a` on the outcome (found by bisection)."""
    if not 0.5 < a < 1.0:
        raise ValueError(f"A = {a}: an expected difference as A must lie between 0.5 and 1")
    low, high = 0.0, float(design.scale_range[1] - design.scale_range[0])
    if a_for_difference(design, high, outcome=outcome, model=model) < a:
        raise ValueError(f"A = {a} is out of reach on a {design.scale_range} scale with this rating model")
    for _ in range(30):
        middle = (low + high) / 2
        low, high = (
            (middle, high)
            if a_for_difference(design, middle, outcome=outcome, model=model) < a
            else (low, middle)
        )
    return (low + high) / 2


def dunn_z(values: np.ndarray, condition: np.ndarray, a: int, b: int) -> np.ndarray:
    """Dunn's z of condition a against condition b for each row of `values` (one simulated study per row).

    The statistic scikit-posthocs computes (rank means, tie-corrected variance), vectorised over studies because
    power needs thousands of them; the tests check it against scikit-posthocs.
    """
    n = values.shape[1]
    ranks = stats.rankdata(values, axis=1)
    levels, codes = np.unique(values, return_inverse=True)
    row_codes = codes.reshape(values.shape) + len(levels) * np.arange(len(values))[:, None]
    ties = np.bincount(row_codes.ravel(), minlength=len(levels) * len(values)).reshape(len(values), -1)
    tie_sum = (ties.astype(float) ** 3 - ties).sum(axis=1)
    variance = n * (n + 1) / 12.0 - tie_sum / (12.0 * (n - 1))
    in_a, in_b = condition == a, condition == b
    difference = ranks[:, in_a].mean(axis=1) - ranks[:, in_b].mean(axis=1)
    return difference / np.sqrt(variance * (1 / in_a.sum() + 1 / in_b.sum()))


def _found(
    values: np.ndarray, condition: np.ndarray, conditions: int, test: Test, alpha: float
) -> np.ndarray:
    """For each simulated study (row of `values`), whether the test finds the difference."""
    if test == "kruskal_wallis":
        return stats.kruskal(*[values[:, condition == c] for c in range(conditions)], axis=1).pvalue < alpha
    z = dunn_z(values, condition, 0, 1)
    pairs = conditions * (conditions - 1) // 2
    return (np.minimum(1.0, 2 * stats.norm.sf(np.abs(z)) * pairs) < alpha) & (z > 0)


def simulated_power(
    design: PlannedDesign,
    n_participants: int,
    *,
    difference: float,
    test: Test = "dunn",
    outcome: Outcome = "scale",
    alpha: float = 0.05,
    model: RatingModel = DEFAULT_RATING_MODEL,
    n_simulations: int = N_SIMULATIONS,
    seed: int = SEED,
) -> float:
    """The share of simulated studies of `n_participants` in which `test` finds the difference."""
    rng = np.random.default_rng(seed)
    scales = design.scales if outcome == "quality" else 1
    per_study = n_participants * (
        design.questions + design.items_per_participant * scales
    )  # random draws held
    chunk = max(1, _VALUES_PER_CHUNK // per_study)
    found = 0
    for start in range(0, n_simulations, chunk):
        size = min(chunk, n_simulations - start)
        values, condition = _outcome_values(design, model, difference, n_participants, size, outcome, rng)
        found += int(_found(values, condition, design.conditions, test, alpha).sum())
    return found / n_simulations


def participants_for_power(
    design: PlannedDesign,
    *,
    difference: float | None = None,
    a: float | None = None,
    test: Test = "dunn",
    outcome: Outcome = "scale",
    target_power: float = 0.8,
    alpha: float = 0.05,
    model: RatingModel = DEFAULT_RATING_MODEL,
    n_simulations: int = N_SIMULATIONS,
    seed: int = SEED,
    max_participants: int = MAX_PARTICIPANTS,
) -> PowerResult:
    """The smallest number of participants whose simulated power reaches `target_power`.

    Give the expected difference either in scale points (`difference`) or as Vargha-Delaney A (`a`).
    Counts are searched by doubling from 2, then bisection.
    """
    if (difference is None) == (a is None):
        raise ValueError(
            "give the expected difference either in scale points (difference=) or as A (a=), not both"
        )
    if difference is None:
        difference = difference_for_a(design, a, outcome=outcome, model=model)
    elif difference <= 0:
        raise ValueError(f"difference = {difference}: the expected difference must be above 0 scale points")
    a_value = a_for_difference(design, difference, outcome=outcome, model=model)
    powers: dict[int, float] = {}

    def power_at(n: int) -> float:
        if n not in powers:
            powers[n] = simulated_power(
                design,
                n,
                difference=difference,
                test=test,
                outcome=outcome,
                alpha=alpha,
                model=model,
                n_simulations=n_simulations,
                seed=seed,
            )
        return powers[n]

    low, high = 1, 2
    while power_at(high) < target_power and high < max_participants:
        low, high = high, min(2 * high, max_participants)
    reached = power_at(high) >= target_power
    while reached and high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if power_at(middle) < target_power else (low, middle)
    curve = pd.DataFrame(sorted(powers.items()), columns=["participants", "power"])
    margin = 1.96 * np.sqrt(curve["power"] * (1 - curve["power"]) / n_simulations)
    curve["ci_low"], curve["ci_high"] = (
        (curve["power"] - margin).clip(0, 1),
        (curve["power"] + margin).clip(0, 1),
    )

    what = "one scale" if outcome == "scale" else f"quality (mean of {design.scales} scales)"
    test_name = "Dunn's test (Bonferroni over all pairs)" if test == "dunn" else "the Kruskal-Wallis test"
    setting = (
        f"{design.conditions} conditions x {design.items_per_condition} items each per participant, "
        f"a difference of {difference:.2f} points (A = {a_value:.2f}) on {what}, {test_name} at alpha {alpha}"
    )
    at = high
    row = curve[curve["participants"] == at].iloc[0]
    power_text = f"{row.power:.0%} power (simulation interval {row.ci_low:.0%}-{row.ci_high:.0%}; target {target_power:.0%})"
    if reached:
        statement = (
            f"{at} participants give {power_text} for {setting}; {n_simulations} simulations, seed {seed}."
        )
    else:
        statement = (
            f"Even {max_participants} participants give only {power_text} for {setting}; "
            f"{n_simulations} simulations, seed {seed}."
        )
    return PowerResult(
        participants=high if reached else None,
        power=power_at(high),
        difference=float(difference),
        a=a_value,
        target_power=target_power,
        test=test,
        outcome=outcome,
        alpha=alpha,
        design=design,
        model=model,
        n_simulations=n_simulations,
        seed=seed,
        curve=curve,
        statement=statement,
    )
