"""Which ratings are analysed: test responses, participants who did not complete, attention-check rows."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import pandas as pd

from .inputs import PARTICIPANT_STATUSES

ANALYSED_STATUSES = ("completed",)

_STATUS_REASONS = {
    "screened_out": "participant screened out (failed the study's screening or attention rule)",
    "in_progress": "participant still in progress (did not finish)",
    "returned": "participant returned the study (withdrew)",
    "completed": "participant completed",
}


@dataclass(frozen=True)
class Exclusions:
    kept: pd.DataFrame
    table: pd.DataFrame  # reason, ratings_excluded, participants_affected
    lines: list[str]


def apply_exclusions(
    ratings: pd.DataFrame,
    *,
    include_test_responses: bool = False,
    include_statuses: Collection[str] = ANALYSED_STATUSES,
) -> Exclusions:
    """Drop, in this order, test responses, participants whose status is not included, and attention-check rows.

    Every step is reported, also when it removes nothing, so a reader sees what was checked.
    """
    unknown = set(include_statuses) - set(PARTICIPANT_STATUSES)
    if unknown:
        raise ValueError(
            f"unknown participant status(es) {sorted(unknown)}; known: {', '.join(PARTICIPANT_STATUSES)}"
        )
    steps: list[tuple[str, pd.Series]] = []
    if include_test_responses:
        included_tests = int(ratings["test_response"].sum())
    else:
        steps.append(("test response (simulated pilot answer)", ratings["test_response"]))
    for status in PARTICIPANT_STATUSES:
        if status not in include_statuses:
            steps.append((_STATUS_REASONS[status], ratings["participant_status"] == status))
    steps.append(("attention-check item (not a rating of an explanation)", ratings["attention_check"]))

    remaining = ratings
    rows = []
    for reason, mask in steps:
        hit = mask.loc[remaining.index].to_numpy(dtype=bool)
        rows.append(
            {
                "reason": reason,
                "ratings_excluded": int(hit.sum()),
                "participants_affected": remaining.loc[hit, "participant_id"].nunique(),
            }
        )
        remaining = remaining.loc[~hit]
    table = pd.DataFrame(rows, columns=["reason", "ratings_excluded", "participants_affected"])

    lines = [
        f"Excluded {row.ratings_excluded} rating row(s) of {row.participants_affected} participant(s): {row.reason}."
        for row in table.itertuples()
        if row.ratings_excluded
    ]
    if include_test_responses:
        lines.append(f"Test responses included on request: {included_tests} rating row(s).")
    lines.append(
        f"Analysed {len(remaining)} rating row(s) from {remaining['participant_id'].nunique()} participant(s) "
        f"with status {', '.join(sorted(include_statuses))}."
    )
    return Exclusions(kept=remaining.reset_index(drop=True), table=table, lines=lines)
