"""Accuracy over training runs: mean and SD over seeds, outliers, two-way ANOVA and Tukey HSD as the paper did.

Students keep the order in which they first appear in the table (e.g. small, base, large as written).
Outliers lie beyond 1.5 IQR of their method x data variant x student cell (`outliers.py`); by default they are
flagged and kept, with `remove_outliers` (the paper) they are left out of every statistic. The comparison of
methods is one ANOVA per data variant with method as factor (`per_variant`, the default), or the paper's one
ANOVA of condition (method/data variant) x student size over the study's conditions (`conditions`); Tukey HSD
compares the levels of the factor within each student size. When removing the outliers changes a conclusion,
a sentence says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.multicomp import pairwise_tukeyhsd

from training.intervals import bootstrap_interval

from .formatting import p_text
from .inputs import validate_accuracy
from .outliers import changed_conclusions, outlier_bounds

CELL = ["method", "data_variant", "student"]
ANOVA_DESIGNS = ("per_variant", "conditions")
SECTION = "Accuracy (mean ± SD over seeds)"


@dataclass(frozen=True)
class AccuracyAnalysis:
    runs: pd.DataFrame  # the validated runs with their condition, outlier bounds and flag
    cells: pd.DataFrame  # method, data_variant, student, n, mean, ci_low, ci_high, sd, min, max, outliers
    anova: pd.DataFrame  # [data_variant,] term, sum_sq, df, F, p, statement
    tukey: (
        pd.DataFrame
    )  # [data_variant,] student, <factor>_a, <factor>_b, difference (b - a), p_adj, ci, reject
    students: list[str]
    summary: dict[str, list[str]] = field(default_factory=dict)  # result lines by section
    removed_outliers: bool = False
    design: str = "per_variant"

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "accuracy_runs": self.runs,
            "accuracy_by_method_variant_student": self.cells,
            "accuracy_anova": self.anova,
            "accuracy_tukey_hsd": self.tukey,
        }


def cell_columns(runs: pd.DataFrame) -> list[str]:
    """The columns of a cell: method, data variant and student, and the dataset when the runs span several."""
    several = "dataset" in runs.columns and runs["dataset"].nunique() > 1
    return ["dataset", *CELL] if several else CELL


def flag_outliers(runs: pd.DataFrame) -> pd.DataFrame:
    return outlier_bounds(runs, "accuracy", cell_columns(runs))


def analyze_accuracy(
    accuracy: pd.DataFrame,
    *,
    alpha: float = 0.05,
    remove_outliers: bool = False,
    design: str = "per_variant",
    conditions: list[str] | None = None,
) -> AccuracyAnalysis:
    """`conditions` (method/data variant names), when given, restrict the `conditions` design to them."""
    if design not in ANOVA_DESIGNS:
        raise ValueError(
            f"unknown accuracy ANOVA design {design!r}; expected one of {', '.join(ANOVA_DESIGNS)}"
        )
    runs = validate_accuracy(accuracy)
    runs = runs.assign(condition=runs["method"] + "/" + runs["data_variant"])
    cell = cell_columns(runs)
    if design == "conditions" and conditions:
        runs = runs[runs["condition"].isin(conditions)].reset_index(drop=True)
        if runs.empty:
            raise ValueError(f"no accuracy runs of the conditions {', '.join(conditions)}")
    runs = flag_outliers(runs)
    students = list(dict.fromkeys(runs["student"]))
    analysed = runs[~runs["outlier"]] if remove_outliers else runs
    cells = _cells(analysed, runs, cell)
    label = cells["method"] + "/" + cells["data_variant"]
    if "dataset" in cell:
        label = label + " [" + cells["dataset"] + "]"
    summary = [
        f"{condition}: "
        + ", ".join(
            f"{r.student} {r.mean:.1%}"
            + (f" ± {r.sd:.1%}" if r.n > 1 else "")
            + f" (n = {r.n}"
            + (f", 95% CI {r.ci_low:.1%}–{r.ci_high:.1%}" if r.n > 1 else "")
            + ")"
            for r in group.itertuples()
        )
        + "."
        for condition, group in cells.assign(condition=label).groupby("condition", sort=False)
    ]
    flagged = runs[runs["outlier"]]
    if len(flagged):
        handling = "left out of every statistic" if remove_outliers else "kept in every analysis"
        summary.append(
            f"Outlier runs (beyond 1.5 IQR of their cell; {handling}): "
            + "; ".join(
                f"{r.method}/{r.data_variant} {r.student} seed {r.seed} at {r.accuracy:.1%}"
                for r in flagged.itertuples()
            )
            + "."
        )
    anova, tukey, lines = _comparisons(analysed, students, design, alpha)
    summary += lines
    if len(flagged):
        other = runs if remove_outliers else runs[~runs["outlier"]]
        other_anova, other_tukey, _ = _comparisons(other, students, design, alpha)
        kept, removed = (other_anova, anova) if remove_outliers else (anova, other_anova)
        kept_tukey, removed_tukey = (other_tukey, tukey) if remove_outliers else (tukey, other_tukey)
        labels = [c for c in ("dataset", "data_variant") if c in anova.columns]
        if len(kept) and len(removed):
            summary += changed_conclusions(
                kept[kept["term"] != "residual"],
                removed[removed["term"] != "residual"],
                key=[*labels, "term"],
                alpha=alpha,
                what=lambda row: (
                    f"the accuracy ANOVA's {row['term']}"
                    + (f" on {row['data_variant']} data" if "data_variant" in row else "")
                ),
            )
        if len(kept_tukey) and len(removed_tukey):
            factor = _factor(design)
            summary += changed_conclusions(
                kept_tukey.rename(columns={"p_adj": "p"}),
                removed_tukey.rename(columns={"p_adj": "p"}),
                key=[*labels, "student", f"{factor}_a", f"{factor}_b"],
                alpha=alpha,
                effect="difference",
                what=lambda row: (
                    f"the accuracy difference {row[f'{factor}_b']} − {row[f'{factor}_a']} with "
                    f"{row['student']}" + (f" on {row['data_variant']} data" if "data_variant" in row else "")
                ),
            )
    return AccuracyAnalysis(
        runs=runs,
        cells=cells,
        anova=anova,
        tukey=tukey,
        students=students,
        summary={SECTION: summary},
        removed_outliers=remove_outliers,
        design=design,
    )


def _cells(analysed: pd.DataFrame, runs: pd.DataFrame, cell: list[str]) -> pd.DataFrame:
    """Per method x data variant x student (x dataset, when the runs span several): the analysed runs' n, mean
    with its 95% bootstrap interval over seeds, SD, range, and the outliers the cell had."""
    rows = []
    for key, group in analysed.groupby(cell, sort=False):
        values = group["accuracy"].to_numpy(dtype=float)
        low, high = bootstrap_interval(values) if len(values) > 1 else (np.nan, np.nan)
        rows.append(
            {
                **dict(zip(cell, key, strict=True)),
                "n": len(values),
                "mean": values.mean(),
                "ci_low": low,
                "ci_high": high,
                "sd": group["accuracy"].std(),
                "min": values.min(),
                "max": values.max(),
            }
        )
    cells = pd.DataFrame(rows)
    outliers = runs.groupby(cell, sort=False)["outlier"].sum().rename("outliers").reset_index()
    return cells.merge(outliers, on=cell, how="left")


def _factor(design: str) -> str:
    return "method" if design == "per_variant" else "condition"


def _comparisons(
    runs: pd.DataFrame, students: list[str], design: str, alpha: float
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The ANOVA(s) and Tukey HSD tables of `design`, and their result lines."""
    factor = _factor(design)
    groups = (
        [({"data_variant": v}, f"on {v} data", d) for v, d in runs.groupby("data_variant", sort=False)]
        if design == "per_variant"
        else [({}, "over the conditions", runs)]
    )
    if "dataset" in cell_columns(runs):  # the dataset is a factor: every comparison is made within a dataset
        groups = [
            ({"dataset": name, **labels}, f"{where} of {name}", part)
            for labels, where, data in groups
            for name, part in data.groupby("dataset", sort=False)
        ]
    anova, tukey, lines = [], [], []
    for labels, where, data in groups:
        if data[factor].nunique() < 2:
            lines.append(f"{where.capitalize()} only one {factor}; no comparison of {factor}s.")
            continue
        fitted = _anova(data, factor, labels, where, alpha)
        if fitted is None:
            lines.append(
                f"{where.capitalize()} too few runs for an ANOVA ({len(data)} runs of {data[factor].nunique()} "
                f"{factor}s x {data['student'].nunique()} student sizes leave no residual degree of freedom); "
                "train more seeds."
            )
            continue
        table, line = fitted
        anova.append(table)
        lines.append(line)
        for student in [s for s in students if s in set(data["student"])]:
            result = _tukey(data[data["student"] == student], factor, labels, where, student, alpha)
            if result is not None:
                tukey.append(result)
                lines += [s for s in result.loc[result["reject"], "statement"]]
    anova_table = pd.concat(anova, ignore_index=True) if anova else pd.DataFrame()
    tukey_table = pd.concat(tukey, ignore_index=True) if tukey else pd.DataFrame()
    if len(tukey_table) and not tukey_table["reject"].any():
        lines.append(f"Tukey HSD finds no significant difference between {factor}s at any student size.")
    return anova_table, tukey_table, lines


def _anova(
    data: pd.DataFrame, factor: str, labels: dict, where: str, alpha: float
) -> tuple[pd.DataFrame, str] | None:
    """Type II ANOVA of accuracy on `factor` and student size (with their interaction when cells are replicated).

    None when the runs leave no residual degree of freedom (e.g. one seed per cell), so nothing can be tested.
    """
    sizes, levels = data["student"].nunique(), data[factor].nunique()
    replicated = data.groupby([factor, "student"]).size().min() > 1
    formula = f"accuracy ~ C({factor})"
    if sizes > 1:
        formula += " * C(student)" if replicated else " + C(student)"
    parameters = levels * sizes if sizes > 1 and replicated else levels + sizes - 1
    if len(data) - parameters < 1:
        return None
    table = anova_lm(smf.ols(formula, data=data).fit(), typ=2).reset_index(names="term")
    table["term"] = table["term"].map(
        {
            f"C({factor})": factor,
            "C(student)": "student size",
            f"C({factor}):C(student)": f"{factor} x student size",
            "Residual": "residual",
        }
    )
    table = table.rename(columns={"PR(>F)": "p"})
    for position, (name, value) in enumerate(labels.items()):
        table.insert(position, name, value)
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
    line = f"Two-way ANOVA {where}{note}: " + "; ".join(s for s in statements if s) + "."
    if sizes == 1:
        line = f"ANOVA {where} (one student size): " + "; ".join(s for s in statements if s) + "."
    return table, line


def _tukey(
    data: pd.DataFrame, factor: str, labels: dict, where: str, student: str, alpha: float
) -> pd.DataFrame | None:
    if data[factor].nunique() < 2 or data.groupby(factor).size().min() < 2:
        return None
    result = pairwise_tukeyhsd(data["accuracy"].to_numpy(), data[factor].to_numpy(), alpha=alpha)
    groups = list(result.groupsunique)
    a_index, b_index = np.triu_indices(len(groups), 1)
    table = pd.DataFrame(
        {
            **labels,
            "student": student,
            f"{factor}_a": [groups[i] for i in a_index],
            f"{factor}_b": [groups[j] for j in b_index],
            "difference": result.meandiffs,  # mean of b minus mean of a
            "p_adj": result.pvalues,
            "ci_low": result.confint[:, 0],
            "ci_high": result.confint[:, 1],
            "reject": result.reject.astype(bool),
        }
    )
    statements = []
    for row in table.to_dict("records"):
        a, b, difference = row[f"{factor}_a"], row[f"{factor}_b"], row["difference"]
        better, worse = (b, a) if difference > 0 else (a, b)
        context = f"{where.capitalize()} with {student}"
        statements.append(
            f"{context}, {better} is more accurate than {worse} by "
            f"{abs(difference) * 100:.1f} points (Tukey HSD {p_text(row['p_adj'], 'p_adj')})."
            if row["reject"]
            else f"{context}, {a} and {b} do not differ significantly "
            f"({difference * 100:+.1f} points, Tukey HSD {p_text(row['p_adj'], 'p_adj')})."
        )
    table["statement"] = statements
    return table
