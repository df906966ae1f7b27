"""Outcomes (each scale, and quality) in one long table, and their descriptives per condition."""

from __future__ import annotations

import pandas as pd

QUALITY = "quality"
ITEM = ["participant_id", "condition", "question_id"]


def observations(ratings: pd.DataFrame, scales: list[str]) -> pd.DataFrame:
    """One row per rated value, for every scale and for quality.

    Quality is the mean of a participant's scale values for one item (a question in a condition), as in the paper.
    Columns: outcome, participant_id, condition, question_id, value, explanation_chars.
    """
    per_scale = ratings.assign(outcome=ratings["scale"], value=ratings["value"].astype(float))
    quality = (
        ratings.groupby(ITEM, sort=False)
        .agg(value=("value", "mean"), explanation_chars=("explanation_chars", "first"))
        .reset_index()
        .assign(outcome=QUALITY)
    )
    columns = ["outcome", *ITEM, "value", "explanation_chars"]
    long = pd.concat([per_scale[columns], quality[columns]], ignore_index=True)
    long["outcome"] = pd.Categorical(long["outcome"], categories=[*scales, QUALITY], ordered=True)
    return long


def describe(long: pd.DataFrame, conditions: list[str]) -> pd.DataFrame:
    """n, mean, SD, median, quartiles and IQR of each outcome in each condition."""
    grouped = long.assign(condition=pd.Categorical(long["condition"], categories=conditions)).groupby(
        ["outcome", "condition"], observed=True
    )["value"]
    table = grouped.agg(
        n="count",
        mean="mean",
        sd="std",
        median="median",
        q1=lambda v: v.quantile(0.25),
        q3=lambda v: v.quantile(0.75),
    ).reset_index()
    table["iqr"] = table["q3"] - table["q1"]
    table["outcome"] = table["outcome"].astype(str)
    table["condition"] = table["condition"].astype(str)
    return table
