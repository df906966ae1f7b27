"""PNG plots drawn on the Agg canvas (no pyplot, so no global backend state and no display needed)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter, ScalarFormatter

from .accuracy import AccuracyAnalysis
from .descriptives import QUALITY, observations
from .power import PowerResult
from .ratings_analysis import RatingsAnalysis

_DPI = 110


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=_DPI, bbox_inches="tight")
    return path


def plot_ratings(analysis: RatingsAnalysis, path: Path) -> Path:
    """Box plots of every scale and of quality per condition; the diamond is the mean."""
    long = observations(analysis.analysed, analysis.scales)
    outcomes = [*analysis.scales, QUALITY]
    columns = min(3, len(outcomes))
    rows = math.ceil(len(outcomes) / columns)
    height = 0.45 * len(analysis.conditions) + 1.2
    figure = Figure(figsize=(4.3 * columns + 1.8, height * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False, sharey=True)
    low, high = long.loc[long["outcome"] != QUALITY, "value"].agg(["min", "max"])
    low, high = min(low, analysis.descriptives["q1"].min()), max(high, analysis.descriptives["q3"].max())
    for index, ax in enumerate(axes.flat):
        if index >= len(outcomes):
            ax.set_visible(False)
            continue
        outcome = outcomes[index]
        data = long[long["outcome"] == outcome]
        samples = [data.loc[data["condition"] == c, "value"].to_numpy() for c in analysis.conditions]
        ax.boxplot(
            samples,
            orientation="horizontal",
            tick_labels=analysis.conditions,
            widths=0.6,
            showmeans=True,
            meanprops={
                "marker": "D",
                "markerfacecolor": "white",
                "markeredgecolor": "black",
                "markersize": 5,
            },
            medianprops={"color": "tab:blue", "linewidth": 2},
            flierprops={"marker": ".", "markersize": 3, "alpha": 0.5},
        )
        ax.set_title(outcome, fontsize=11)
        ax.set_xlim(low - 0.3, high + 0.3)
        ax.set_xticks(np.arange(math.floor(low), math.ceil(high) + 1))
        ax.grid(axis="x", alpha=0.3)
    axes[0, 0].invert_yaxis()  # the axes share y: invert once, so the first condition is on top
    figure.suptitle("Ratings per condition (box: quartiles, line: median, diamond: mean)", fontsize=12)
    return _save(figure, path)


def plot_accuracy(analysis: AccuracyAnalysis, path: Path) -> Path:
    """Mean accuracy ± SD over seeds per method and student size, one panel per data variant; dots are seeds,
    red crosses the flagged outliers."""
    variants = list(dict.fromkeys(analysis.runs["data_variant"]))
    methods = list(dict.fromkeys(analysis.runs["method"]))
    colours = {m: f"C{i}" for i, m in enumerate(methods)}
    figure = Figure(
        figsize=(1.6 + 1.4 * len(analysis.students) * len(variants) + 1.2, 4.2), layout="constrained"
    )
    axes = figure.subplots(1, len(variants), squeeze=False, sharey=True)[0]
    width = 0.8 / len(methods)
    rng = np.random.default_rng(0)  # jitter only
    for ax, variant in zip(axes, variants, strict=True):
        for m_index, method in enumerate(methods):
            offset = (m_index - (len(methods) - 1) / 2) * width
            cells = analysis.cells[
                (analysis.cells["data_variant"] == variant) & (analysis.cells["method"] == method)
            ]
            x = np.array([analysis.students.index(s) for s in cells["student"]]) + offset
            ax.errorbar(
                x,
                cells["mean"] * 100,
                yerr=cells["sd"].fillna(0) * 100,
                fmt="o",
                color=colours[method],
                capsize=4,
                markersize=6,
                label=method,
            )
            runs = analysis.runs[
                (analysis.runs["data_variant"] == variant) & (analysis.runs["method"] == method)
            ]
            run_x = np.array([analysis.students.index(s) for s in runs["student"]]) + offset
            jitter = rng.uniform(-0.2, 0.2, len(runs)) * width
            normal = ~runs["outlier"].to_numpy(dtype=bool)
            ax.scatter(
                run_x[normal] + jitter[normal],
                runs["accuracy"][normal] * 100,
                s=9,
                color=colours[method],
                alpha=0.45,
            )
            ax.scatter(
                run_x[~normal] + jitter[~normal],
                runs["accuracy"][~normal] * 100,
                s=40,
                marker="x",
                color="red",
                zorder=3,
                label="outlier run" if m_index == 0 and (~normal).any() else None,
            )
        ax.set_xticks(range(len(analysis.students)), analysis.students)
        ax.set_xlim(-0.5, len(analysis.students) - 0.5)  # room for every method's offset, present or not
        ax.set_title(f"data: {variant}", fontsize=11)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("accuracy (%), mean ± SD over seeds")
    handles: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    figure.legend(list(handles.values()), list(handles), loc="outside right upper", fontsize=9)
    return _save(figure, path)


def plot_power_curve(result: PowerResult, path: Path) -> Path:
    figure = Figure(figsize=(6, 3.8), layout="constrained")
    ax = figure.subplots()
    curve = result.curve
    ax.fill_between(
        curve["participants"], curve["ci_low"], curve["ci_high"], alpha=0.2, label="95% simulation interval"
    )
    ax.plot(curve["participants"], curve["power"], "o-", label="simulated power")
    ax.axhline(result.target_power, color="grey", linestyle="--", label=f"target {result.target_power:.0%}")
    if result.participants is not None:
        ax.axvline(
            result.participants, color="tab:green", linestyle=":", label=f"{result.participants} participants"
        )
    ax.set_xscale("log", base=2)  # the search doubles the count: 2, 4, 8, ... fall on ticks
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("participants")
    ax.set_ylabel("power")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="lower right")
    return _save(figure, path)
