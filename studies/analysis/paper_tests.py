"""The paper's analysis: Kruskal-Wallis, Dunn post-hoc tests, Vargha-Delaney A, OLS of quality on condition and length.

Like the paper, these treat every rating as independent; `mixed_models` adds the analyses that do not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scikit_posthocs
import statsmodels.api as sm
from scipy import stats

from .descriptives import QUALITY
from .design import condition_columns, holm, pairs
from .formatting import number, outcome_phrase, p_text

LENGTH_UNIT = 100  # OLS reports the effect of explanation length per this many characters


def vargha_delaney_a(x: np.ndarray, y: np.ndarray) -> float:
    """A = P(X > Y) + 0.5 P(X = Y), from the Mann-Whitney U of x against y."""
    return float(stats.mannwhitneyu(x, y).statistic / (len(x) * len(y)))


def kruskal_wallis(long: pd.DataFrame, conditions: list[str], *, alpha: float) -> pd.DataFrame:
    """One test per outcome; epsilon squared = H / (n - 1) is its effect size."""
    rows = []
    for outcome, data in long.groupby("outcome", observed=True, sort=True):
        samples = [data.loc[data["condition"] == c, "value"].to_numpy() for c in conditions]
        h, p = stats.kruskal(*samples)
        n = sum(len(s) for s in samples)
        df = len(conditions) - 1
        result = f"H({df}) = {h:.2f}, {p_text(p)}, ε² = {h / (n - 1):.3f}, n = {n}"
        statement = (
            f"Conditions differ {outcome_phrase(outcome)} (Kruskal-Wallis {result})."
            if p < alpha
            else f"No significant difference between conditions {outcome_phrase(outcome)} (Kruskal-Wallis {result})."
        )
        rows.append(
            {
                "outcome": outcome,
                "n": n,
                "df": df,
                "H": h,
                "p": p,
                "epsilon_squared": h / (n - 1),
                "statement": statement,
            }
        )
    return pd.DataFrame(rows)


def dunn_with_vda(long: pd.DataFrame, conditions: list[str], *, alpha: float) -> pd.DataFrame:
    """Dunn's test (scikit-posthocs) for every pair, unadjusted, Bonferroni (the paper) and Holm, with Vargha-Delaney A.

    A is A(condition_a over condition_b): the chance a rating in a beats one in b, ties counting half.
    The corrections run over the pairs within one outcome, as the paper did.
    """
    rows = []
    for outcome, data in long.groupby("outcome", observed=True, sort=True):
        data = data[["condition", "value"]]
        p_values = scikit_posthocs.posthoc_dunn(data, val_col="value", group_col="condition")
        unadjusted = np.array([p_values.loc[a, b] for a, b in pairs(conditions)])
        bonferroni, holm_adjusted = np.minimum(1.0, unadjusted * len(unadjusted)), holm(unadjusted)
        for index, (a, b) in enumerate(pairs(conditions)):
            x = data.loc[data["condition"] == a, "value"].to_numpy()
            y = data.loc[data["condition"] == b, "value"].to_numpy()
            row = {
                "outcome": outcome,
                "condition_a": a,
                "condition_b": b,
                "n_a": len(x),
                "n_b": len(y),
                "mean_a": x.mean(),
                "mean_b": y.mean(),
                "A": vargha_delaney_a(x, y),
                "p": unadjusted[index],
                "p_bonferroni": bonferroni[index],
                "p_holm": holm_adjusted[index],
            }
            row["statement"] = _pair_statement(row, alpha)
            rows.append(row)
    return pd.DataFrame(rows)


def _pair_statement(row: dict, alpha: float) -> str:
    a, b, vda = row["condition_a"], row["condition_b"], row["A"]
    higher, lower, a_higher = (a, b, vda) if vda >= 0.5 else (b, a, 1.0 - vda)
    p_adj = f"Dunn {p_text(row['p_bonferroni'], 'p_bonferroni')}, {p_text(row['p_holm'], 'p_holm')}"
    where = outcome_phrase(row["outcome"])
    if row["p_bonferroni"] < alpha:
        return f"{higher} is rated higher {where} than {lower} (A = {a_higher:.2f}, {p_adj})."
    if row["p_holm"] < alpha:
        return f"{higher} is rated higher {where} than {lower}, by Holm's correction only (A = {a_higher:.2f}, {p_adj})."
    return f"No significant difference between {a} and {b} {where} (A = {vda:.2f}, {p_adj})."


def ols_quality(long: pd.DataFrame, conditions: list[str], reference: str, *, alpha: float) -> pd.DataFrame:
    """Quality on condition (treatment-coded against `reference`) and explanation length, ordinary least squares."""
    data = long[long["outcome"] == QUALITY].reset_index(drop=True)
    exog = sm.add_constant(condition_columns(data["condition"], conditions, reference))
    length_term = f"explanation length (per {LENGTH_UNIT} characters)"
    exog[length_term] = data["explanation_chars"].astype(float) / LENGTH_UNIT
    fit = sm.OLS(data["value"].astype(float), exog).fit()
    ci = fit.conf_int(alpha)
    table = pd.DataFrame(
        {
            "term": exog.columns,
            "estimate": fit.params.to_numpy(),
            "se": fit.bse.to_numpy(),
            "t": fit.tvalues.to_numpy(),
            "p": fit.pvalues.to_numpy(),
            "ci_low": ci[0].to_numpy(),
            "ci_high": ci[1].to_numpy(),
        }
    )
    table["term"] = table["term"].replace({"const": f"intercept ({reference}, length 0)"})
    statements = []
    for row in table.itertuples():
        detail = f"OLS, {p_text(row.p)}, n = {int(fit.nobs)}, R² = {fit.rsquared:.3f}"
        if row.term == length_term:
            direction = "higher" if row.estimate > 0 else "lower"
            statements.append(
                f"Each {LENGTH_UNIT} more characters of explanation go with {abs(row.estimate):.3f} points {direction} "
                f"quality, conditions held fixed ({detail})."
                if row.p < alpha
                else f"Explanation length shows no significant link to quality ({number(row.estimate, 3)} points "
                f"per {LENGTH_UNIT} characters, {detail})."
            )
        elif row.term in conditions:
            direction = "higher" if row.estimate > 0 else "lower"
            statements.append(
                f"At equal explanation length, {row.term} is rated {abs(row.estimate):.2f} points {direction} in "
                f"quality than {reference} ({detail})."
                if row.p < alpha
                else f"At equal explanation length, {row.term} and {reference} do not differ significantly in quality "
                f"({row.estimate:+.2f} points, {detail})."
            )
        else:
            statements.append("")
    table["statement"] = statements
    return table
