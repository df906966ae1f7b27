"""Outliers by the 1.5 IQR rule, as the study removed them, and the conclusions their removal changes.

Quartiles are R's type 7 (linear interpolation between order statistics, numpy's and pandas' default): a value
is an outlier of its group when it lies below Q1 − 1.5·IQR or above Q3 + 1.5·IQR.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .formatting import p_text

IQR_FACTOR = 1.5


def iqr_bounds(values: pd.Series | np.ndarray) -> tuple[float, float]:
    q1, q3 = np.quantile(np.asarray(values, dtype=float), [0.25, 0.75], method="linear")
    return q1 - IQR_FACTOR * (q3 - q1), q3 + IQR_FACTOR * (q3 - q1)


def outlier_bounds(frame: pd.DataFrame, value: str, by: list[str]) -> pd.DataFrame:
    """`frame` with the bounds of each row's group (`outlier_low`, `outlier_high`) and the `outlier` flag."""
    grouped = frame.groupby(by, sort=False)[value]
    low = grouped.transform(lambda v: iqr_bounds(v)[0])
    high = grouped.transform(lambda v: iqr_bounds(v)[1])
    out = frame.assign(outlier_low=low, outlier_high=high)
    out["outlier"] = (frame[value] < low) | (frame[value] > high)
    return out


def changed_conclusions(
    kept: pd.DataFrame,
    removed: pd.DataFrame,
    *,
    key: list[str],
    alpha: float,
    what: Callable[[pd.Series], str],
    effect: str | None = None,
) -> list[str]:
    """One sentence per result (row, matched on `key`) whose conclusion removing outliers changes: its p-value
    crosses `alpha`, or its `effect` changes sign. `kept` is fitted on all data, `removed` without outliers."""
    columns = [*key, "p", *([effect] if effect else [])]
    both = kept[columns].merge(removed[columns], on=key, suffixes=("_all", "_removed"))
    lines = []
    for _, row in both.iterrows():
        significant_all, significant_removed = row["p_all"] < alpha, row["p_removed"] < alpha
        flips = effect is not None and np.sign(row[f"{effect}_all"]) * np.sign(row[f"{effect}_removed"]) < 0
        if significant_all == significant_removed and not flips:
            continue
        if significant_all != significant_removed:
            change = "is significant only " + (
                "with the outliers" if significant_all else "after removing them"
            )
        else:
            change = "changes sign"
        detail = f"{p_text(row['p_all'])} with all data, {p_text(row['p_removed'])} without outliers"
        if effect is not None:
            detail += f"; {effect} {row[f'{effect}_all']:+.3f} and {row[f'{effect}_removed']:+.3f}"
        lines.append(f"Removing outliers changes a conclusion: {what(row)} {change} ({detail}).")
    return lines
