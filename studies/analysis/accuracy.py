"""Accuracy over training runs: mean and SD over seeds, outliers, two-way ANOVA and Tukey HSD as the paper did.

Students keep the order in which they first appear in the table (e.g. small, base, large as written).
Outliers (beyond 1.5 IQR of their method x data variant x student cell) are flagged and stay in every analysis.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.multicomp import pairwise_tukeyhsd

from .formatting import p_text
from .inputs import validate_accuracy

CELL = ["method", "data_variant", "student"]
MIN_RUNS_FOR_OUTLIERS = 4  # quartiles of fewer runs say nothing

_TERM_NAMES = {
    "C(method)": "method",
    "C(student)": "student size",
    "C(method):C(student)": "method x student size",
    "Residual": "residual",
}


@dataclass(frozen=True)
class AccuracyAnalysis:
    runs: pd.DataFrame  # the validated runs with outlier bounds and flag
    cells: pd.DataFrame  # method, data_variant, student, n, mean, sd, min, max, outliers
    anova: pd.DataFrame  # data_variant, term, sum_sq, df, F, p, statement
    tukey: pd.DataFrame  # data_variant, student, method_a, method_b, difference (b - a), p_adj, ci, reject
    students: list[str]
    summary: dict[str, list[str]] = field(default_factory=dict)  # result lines by section

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "accuracy_runs": self.runs,
            "accuracy_by_method_variant_student": self.cells,
            "accuracy_anova": self.anova,
            "accuracy_tukey_hsd": self.tukey,
        }


def flag_outliers(runs: pd.DataFrame) -> pd.DataFrame:
    grouped = runs.groupby(CELL, sort=False)["accuracy"]
    q1, q3 = grouped.transform(lambda v: v.quantile(0.25)), grouped.transform(lambda v: v.quantile(0.75))
    enough = grouped.transform("count") >= MIN_RUNS_FOR_OUTLIERS
    low, high = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    out = runs.assign(outlier_low=low.where(enough), outlier_high=high.where(enough))
    out["outlier"] = enough & ((runs["accuracy"] < low) | (runs["accuracy"] > high))
    return out


def analyze_accuracy(accuracy: pd.DataFrame, *, alpha: float = 0.05) -> AccuracyAnalysis:
    runs = flag_outliers(validate_accuracy(accuracy))
    students = list(dict.fromkeys(runs["student"]))
    cells = (
        runs.groupby(CELL, sort=False)
        .agg(
            n=("accuracy", "count"),
            mean=("accuracy", "mean"),
            sd=("accuracy", "std"),
            min=("accuracy", "min"),
            max=("accuracy", "max"),
            outliers=("outlier", "sum"),
        )
        .reset_index()
    )
    summary = [
        f"{condition}: "
        + ", ".join(
            f"{r.student} {r.mean:.1%}" + (f" ± {r.sd:.1%}" if r.n > 1 else "") + f" (n = {r.n})"
            for r in group.itertuples()
        )
        + "."
        for condition, group in cells.assign(condition=cells["method"] + "/" + cells["data_variant"]).groupby(
            "condition", sort=False
        )
    ]
    flagged = runs[runs["outlier"]]
    if len(flagged):
        summary.append(
            "Outlier runs (beyond 1.5 IQR of their cell; kept in every analysis): "
            + "; ".join(
                f"{r.method}/{r.data_variant} {r.student} seed {r.seed} at {r.accuracy:.1%}"
                for r in flagged.itertuples()
            )
            + "."
        )
    anova, tukey = [], []
    for variant, data in runs.groupby("data_variant", sort=False):
        if data["method"].nunique() < 2:
            summary.append(f"On {variant} data only one method; no comparison of methods.")
            continue
        fitted = _anova(data, variant, alpha)
        if fitted is None:
            summary.append(
                f"On {variant} data too few runs for an ANOVA ({len(data)} runs of {data['method'].nunique()} "
                f"methods x {data['student'].nunique()} student sizes leave no residual degree of freedom); "
                "train more seeds."
            )
            continue
        table, line = fitted
        anova.append(table)
        summary.append(line)
        for student in [s for s in students if s in set(data["student"])]:
            result = _tukey(data[data["student"] == student], variant, student, alpha)
            if result is not None:
                tukey.append(result)
                summary += [s for s in result.loc[result["reject"], "statement"]]
    anova_table = pd.concat(anova, ignore_index=True) if anova else pd.DataFrame()
    tukey_table = pd.concat(tukey, ignore_index=True) if tukey else pd.DataFrame()
    if len(tukey_table) and not tukey_table["reject"].any():
        summary.append("Tukey HSD finds no significant difference between methods at any student size.")
    return AccuracyAnalysis(
        runs=runs,
        cells=cells,
        anova=anova_table,
        tukey=tukey_table,
        students=students,
        summary={"Accuracy (mean ± SD over seeds)": summary},
    )


def _anova(data: pd.DataFrame, variant: str, alpha: float) -> tuple[pd.DataFrame, str] | None:
    """Type II ANOVA of accuracy on method and student size (with their interaction when cells are replicated).

    None when the runs leave no residual degree of freedom (e.g. one seed per method), so nothing can be tested.
    """
    sizes, methods = data["student"].nunique(), data["method"].nunique()
    replicated = data.groupby(["method", "student"]).size().min() > 1
    formula = "accuracy ~ C(method)"
    if sizes > 1:
        formula += " * C(student)" if replicated else " + C(student)"
    parameters = methods * sizes if sizes > 1 and replicated else methods + sizes - 1
    if len(data) - parameters < 1:
        return None
    table = anova_lm(smf.ols(formula, data=data).fit(), typ=2).reset_index(names="term")
    table["term"] = table["term"].map(_TERM_NAMES)
    table = table.rename(columns={"PR(>F)": "p"})
    table.insert(0, "data_variant", variant)
    residual_df = int(table.loc[table["term"] == "residual", "df"].iloc[0])
    statements = []
    for row in table.itertuples():
        if row.term == "residual":
            statements.append("")
            continue
        result = f"F({int(row.df)}, {residual_df}) = {row.F:.2f}, {p_text(row.p)}"
        verdict = "matters" if row.p < alpha else "shows no significant effect"
        statements.append(f"{row.term} {verdict} ({result})")
    table["statement"] = statements
    note = "" if sizes == 1 or replicated else " (one run per cell: no interaction term)"
    line = f"Two-way ANOVA on {variant} data{note}: " + "; ".join(s for s in statements if s) + "."
    if sizes == 1:
        line = f"ANOVA on {variant} data (one student size): " + "; ".join(s for s in statements if s) + "."
    return table, line


def _tukey(data: pd.DataFrame, variant: str, student: str, alpha: float) -> pd.DataFrame | None:
    if data["method"].nunique() < 2 or data.groupby("method").size().min() < 2:
        return None
    result = pairwise_tukeyhsd(data["accuracy"].to_numpy(), data["method"].to_numpy(), alpha=alpha)
    groups = list(result.groupsunique)
    a_index, b_index = np.triu_indices(len(groups), 1)
    table = pd.DataFrame(
        {
            "data_variant": variant,
            "student": student,
            "method_a": [groups[i] for i in a_index],
            "method_b": [groups[j] for j in b_index],
            "difference": result.meandiffs,  # mean of method_b minus mean of method_a
            "p_adj": result.pvalues,
            "ci_low": result.confint[:, 0],
            "ci_high": result.confint[:, 1],
            "reject": result.reject.astype(bool),
        }
    )
    statements = []
    for row in table.itertuples():
        better, worse = (row.method_b, row.method_a) if row.difference > 0 else (row.method_a, row.method_b)
        statements.append(
            f"On {variant} data with {student}, {better} is more accurate than {worse} by "
            f"{abs(row.difference) * 100:.1f} points (Tukey HSD {p_text(row.p_adj, 'p_adj')})."
            if row.reject
            else f"On {variant} data with {student}, {row.method_a} and {row.method_b} do not differ significantly "
            f"({row.difference * 100:+.1f} points, Tukey HSD {p_text(row.p_adj, 'p_adj')})."
        )
    table["statement"] = statements
    return table
