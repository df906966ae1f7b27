"""The analyses' shared defaults (significance level, random seed), condition pairs, treatment-coded condition
columns and pairwise contrasts of a fitted model."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

ALPHA = 0.05  # significance level, ratings and decisions alike
SEED = 20250101  # of every resampling and simulation, so that a report is the same each time


def pairs(conditions: list[str]) -> list[tuple[str, str]]:
    return list(combinations(conditions, 2))


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment: the k-th smallest of m p-values times (m - k + 1), made monotone, at most 1.

    Written out because statsmodels' multipletests(method="holm") runs a full gc.collect() on every call, which
    costs tenths of a second in a process holding many objects and a report makes dozens of these calls; the
    tests check it against multipletests.
    """
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p)
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1)))
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out


def condition_columns(condition: pd.Series, conditions: list[str], reference: str) -> pd.DataFrame:
    """One 0/1 column per condition other than the reference, named after the condition."""
    return pd.DataFrame(
        {c: (condition == c).to_numpy(dtype=float) for c in conditions if c != reference},
        index=condition.index,
    )


def pairwise_contrasts(
    result, parameter_names: list[str], conditions: list[str], reference: str, *, alpha: float
) -> pd.DataFrame:
    """Wald tests of condition a minus condition b for every pair, from a treatment-coded fit.

    `parameter_names` are the names of the coefficients the fit's t_test expects, in order; each condition other
    than the reference is one of them. Holm's correction runs over the pairs.
    """
    rows = []
    for a, b in pairs(conditions):
        r = np.zeros(len(parameter_names))
        if a != reference:
            r[parameter_names.index(a)] += 1.0
        if b != reference:
            r[parameter_names.index(b)] -= 1.0
        rows.append(r)
    frame = result.t_test(np.vstack(rows)).summary_frame(alpha=alpha)
    table = pd.DataFrame(pairs(conditions), columns=["condition_a", "condition_b"])
    table["difference"] = frame["coef"].to_numpy()
    table["se"] = frame["std err"].to_numpy()
    table["statistic"] = frame.iloc[:, 2].to_numpy()  # z or t, whichever the model reports
    table["p"] = frame["P>|z|" if "P>|z|" in frame.columns else "P>|t|"].to_numpy()
    table["p_holm"] = holm(table["p"])
    table["ci_low"] = frame["Conf. Int. Low"].to_numpy()
    table["ci_high"] = frame["Conf. Int. Upp."].to_numpy()
    return table
