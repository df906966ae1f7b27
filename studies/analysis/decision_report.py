"""A decision study's report: tables as CSV, two plots, report.md and report.html (the rating report's layout)."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .decision_simulation import DecisionPower
from .decisions import ALPHA, METHOD_NOTES, DecisionAnalysis, analyze_decisions, measure_table
from .exclusions import ANALYSED_STATUSES
from .plots import _save
from .report import Report, Section, write_documents

ACCURACY_PLOT = "accuracy_before_after.png"
RELIANCE_PLOT = "rair_rsr_plane.png"


def plot_accuracy_before_after(analysis: DecisionAnalysis, path: Path) -> Path:
    """Initial and final accuracy per condition, with their bootstrap intervals, joined by a line."""
    table = analysis.conditions
    conditions = list(table["condition"].drop_duplicates())
    figure = Figure(figsize=(max(5.0, 1.4 * len(conditions) + 2), 3.8), layout="constrained")
    ax = figure.subplots()
    x = np.arange(len(conditions))
    for offset, measure, label in (
        (-0.12, "initial_accuracy", "first answer"),
        (0.12, "final_accuracy", "final"),
    ):
        rows = table[table["measure"] == measure].set_index("condition").reindex(conditions)
        if rows["estimate"].isna().all():
            continue
        error = np.vstack([rows["estimate"] - rows["ci_low"], rows["ci_high"] - rows["estimate"]])
        ax.errorbar(x + offset, rows["estimate"], yerr=error, fmt="o", capsize=4, label=label)
    if analysis.two_step:
        before = table[table["measure"] == "initial_accuracy"].set_index("condition").reindex(conditions)
        after = table[table["measure"] == "final_accuracy"].set_index("condition").reindex(conditions)
        for i in range(len(conditions)):
            ax.plot(
                [i - 0.12, i + 0.12], [before["estimate"].iloc[i], after["estimate"].iloc[i]], color="grey"
            )
    ax.set_xticks(x, [c.replace(" (", "\n(") for c in conditions], fontsize=8)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.set_title("Accuracy before and after the advice (95% bootstrap intervals)", fontsize=10)
    ax.legend(fontsize=8)
    return _save(figure, path)


def plot_reliance_plane(analysis: DecisionAnalysis, path: Path) -> Path:
    """Each condition as a point (RAIR, RSR) with its intervals; appropriate reliance is the top right corner."""
    table = analysis.conditions
    rair = table[table["measure"] == "rair"].set_index("condition")
    rsr = table[table["measure"] == "rsr"].set_index("condition")
    figure = Figure(figsize=(5.2, 5.0), layout="constrained")
    ax = figure.subplots()
    for condition in rair.index:
        a, s = rair.loc[condition], rsr.loc[condition]
        ax.errorbar(
            a["estimate"],
            s["estimate"],
            xerr=[[a["estimate"] - a["ci_low"]], [a["ci_high"] - a["estimate"]]],
            yerr=[[s["estimate"] - s["ci_low"]], [s["ci_high"] - s["estimate"]]],
            fmt="o",
            capsize=3,
            label=f"{condition} ({a['advice']})",
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("RAIR: took right advice after a wrong first answer")
    ax.set_ylabel("RSR: kept a right first answer against wrong advice")
    ax.text(0.98, 0.98, "appropriate reliance", ha="right", va="top", fontsize=8, color="grey")
    ax.text(0.98, 0.02, "over-reliance", ha="right", va="bottom", fontsize=8, color="grey")
    ax.text(0.02, 0.98, "under-reliance", ha="left", va="top", fontsize=8, color="grey")
    ax.legend(fontsize=7, loc="lower left")
    return _save(figure, path)


def build_decision_report(
    decisions: pd.DataFrame,
    out_dir: Path,
    *,
    reference: str | None = None,
    include_test_responses: bool = False,
    include_statuses: Collection[str] = ANALYSED_STATUSES,
    alpha: float = ALPHA,
    title: str | None = None,
    power: DecisionPower | None = None,
) -> Report:
    """Analyse a decisions table and write the report into `out_dir` (created if needed)."""
    analysis = analyze_decisions(
        decisions,
        reference=reference,
        include_test_responses=include_test_responses,
        include_statuses=include_statuses,
        alpha=alpha,
    )
    out_dir = Path(out_dir)
    (out_dir / "tables").mkdir(parents=True, exist_ok=True)
    tables = analysis.tables()
    summary = dict(analysis.summary)
    if power is not None:
        tables["decision_power"] = power.curve
        summary["Power"] = [power.statement]
    files: dict[str, Path] = {}
    for name, table in tables.items():
        files[f"{name}.csv"] = out_dir / "tables" / f"{name}.csv"
        table.to_csv(files[f"{name}.csv"], index=False)
    files[ACCURACY_PLOT] = plot_accuracy_before_after(analysis, out_dir / "plots" / ACCURACY_PLOT)
    if analysis.two_step:
        files[RELIANCE_PLOT] = plot_reliance_plane(analysis, out_dir / "plots" / RELIANCE_PLOT)
    tables["decision_accuracy"] = measure_table(
        analysis, ["initial_accuracy", "final_accuracy", "switch_rate"]
    )
    tables["decision_reliance"] = measure_table(analysis, ["rair", "rsr", "over_reliance", "under_reliance"])
    tables["decision_confidence_time"] = measure_table(
        analysis, ["confidence_change", "seconds_initial", "seconds_final"]
    )
    for name in ("decision_accuracy", "decision_reliance", "decision_confidence_time"):
        files[f"{name}.csv"] = out_dir / "tables" / f"{name}.csv"
        tables[name].to_csv(files[f"{name}.csv"], index=False)
    sections = [
        Section("Exclusions", "decision_exclusions"),
        Section("Accuracy before and after the advice", "decision_accuracy", plot=ACCURACY_PLOT),
        Section(
            "Reliance: RAIR, RSR, over- and under-reliance",
            "decision_reliance",
            plot=RELIANCE_PLOT if analysis.two_step else None,
        ),
        Section("Confidence change and seconds per step", "decision_confidence_time"),
        Section(
            "Pairs of conditions (permutation tests, Holm-corrected)",
            "decision_pairwise",
            lines=tuple(summary["Reliance: pairs of conditions"]),
        ),
        Section(
            f"Mixed logit of final correctness on condition x advice-correct (reference {analysis.reference})",
            "decision_mixed_fixed_effects" if len(analysis.mixed) else None,
            lines=tuple(analysis.notes),
        ),
        Section(
            "Mixed logit: random intercepts",
            "decision_mixed_variance_components" if len(analysis.mixed) else None,
        ),
    ]
    if power is not None:
        sections.append(Section("Power by simulation", "decision_power", lines=(power.statement,)))
    sections.append(Section("Methods", lines=tuple(METHOD_NOTES)))
    study = analysis.analysed["study_id"].iloc[0] if "study_id" in analysis.analysed.columns else ""
    title = title or (f"Decision analysis of study {study}" if study else "Decision analysis")
    write_documents(title, summary, sections, tables, files, out_dir)
    return Report(
        out_dir=out_dir,
        ratings=None,
        accuracy=None,
        tables=tables,
        summary=summary,
        files=files,
        sections=sections,
    )
