"""How much the analysed ratings can say: too few to analyse at all, or too few for some tests to mean much.

Below the hard minimum (two conditions and two participants) the models cannot be fitted, so the analysis stops with
an `InputError` saying so. Above it every test runs, but under these sizes its answer means little, and the report
says so in plain words instead of presenting the numbers as findings.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pandas as pd

from .exclusions import ANALYSED_STATUSES, apply_exclusions
from .inputs import DEFAULT_SCALE_RANGE, ScaleRange, validate_ratings

MIN_CONDITIONS = 2
MIN_PARTICIPANTS = 2  # with one participant the regressions and mixed models have nothing to separate
# scipy.stats.kruskal: the chi-square approximation of H wants at least 5 observations in each group.
MIN_ITEMS_PER_CONDITION = 5
# A random intercept's variance estimated from fewer groups than this is unreliable (GLMM FAQ: "5 or 6").
MIN_PARTICIPANTS_FOR_MIXED_MODELS = 5
# Krippendorff's alpha compares raters on shared units: an explanation rated by one participant adds nothing.
MIN_RATERS_PER_EXPLANATION = 2

SECTION = "Sample size"


@dataclass(frozen=True)
class SampleSize:
    ratings: int  # rating rows analysed (after exclusions)
    participants: int
    items_per_condition: dict[str, int]  # rated items (a question shown in a condition) per condition
    blocking: list[str]  # why nothing can be analysed (empty when the analysis can run)
    warnings: list[str]  # which tests mean little at this size

    @property
    def analysable(self) -> bool:
        return not self.blocking


def sample_size(kept: pd.DataFrame, conditions: list[str] | None = None) -> SampleSize:
    """Sizes of the rating rows left after exclusions, and what they allow.

    `conditions` are the study's own (a condition without ratings counts 0); otherwise those present.
    """
    items = kept.drop_duplicates(["participant_id", "condition", "question_id"])
    per_condition = items.groupby("condition").size()
    names = list(conditions) if conditions is not None else sorted(per_condition.index)
    counts = {name: int(per_condition.get(name, 0)) for name in names}
    participants = kept["participant_id"].nunique()
    rated = [name for name, n in counts.items() if n]

    blocking = []
    if kept.empty:
        blocking.append("no ratings are left to analyse")
    elif len(rated) < MIN_CONDITIONS:
        blocking.append(f"ratings in {len(rated)} condition(s); comparing needs two or more")
    if not kept.empty and participants < MIN_PARTICIPANTS:
        blocking.append(
            f"ratings from {participants} participant; comparing conditions needs two or more participants"
        )

    warnings = []
    if not blocking:
        few = {name: n for name, n in counts.items() if 0 < n < MIN_ITEMS_PER_CONDITION}
        if few:
            listed = ", ".join(f"{name} {n}" for name, n in few.items())
            warnings.append(
                f"Too few rated items for the Kruskal-Wallis and Dunn p-values to be meaningful: they need at "
                f"least {MIN_ITEMS_PER_CONDITION} per condition, and there are {listed}."
            )
        if participants < MIN_PARTICIPANTS_FOR_MIXED_MODELS:
            warnings.append(
                f"Too few participants ({participants}) for the mixed models to be meaningful: a participant "
                f"variance needs at least {MIN_PARTICIPANTS_FOR_MIXED_MODELS} participants to estimate."
            )
        raters = items.groupby(["condition", "question_id"])["participant_id"].nunique()
        if not (raters >= MIN_RATERS_PER_EXPLANATION).any():
            warnings.append(
                "No explanation was rated by two or more participants, so agreement cannot be computed yet."
            )
    return SampleSize(
        ratings=len(kept),
        participants=participants,
        items_per_condition=counts,
        blocking=blocking,
        warnings=warnings,
    )


def assess_ratings(
    ratings: pd.DataFrame,
    *,
    include_test_responses: bool = False,
    include_statuses: Collection[str] = ANALYSED_STATUSES,
    scale_range: ScaleRange = DEFAULT_SCALE_RANGE,
    conditions: list[str] | None = None,
    scales: list[str] | None = None,
) -> SampleSize:
    """Validate and apply the exclusions as `analyze_ratings` does, and size what is left; quick (no models).

    For deciding, before the slow analysis, whether it can run and what it will be able to say.
    """
    if ratings.empty:
        counts = dict.fromkeys(conditions or [], 0)
        return SampleSize(0, 0, counts, blocking=["there are no ratings yet"], warnings=[])
    valid = validate_ratings(ratings, scale_range=scale_range, conditions=conditions, scales=scales)
    kept = apply_exclusions(
        valid, include_test_responses=include_test_responses, include_statuses=include_statuses
    ).kept
    return sample_size(kept, conditions)
