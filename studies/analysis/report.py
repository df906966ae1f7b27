"""The whole report: tables as CSV, plots as PNG, a Markdown report linking them and a self-contained HTML one."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from .accuracy import AccuracyAnalysis, analyze_accuracy
from .exclusions import ANALYSED_STATUSES
from .inputs import DEFAULT_SCALE_RANGE, ScaleRange
from .plots import plot_accuracy, plot_ratings
from .presets import methods_lines, resolve
from .ratings_analysis import ALPHA, RatingsAnalysis, analyze_ratings

RATINGS_PLOT = "ratings_by_condition.png"
COUNT_COLUMNS = ("df", "n")  # whole numbers even where a table stores them as floats
ACCURACY_PLOT = "accuracy.png"

_METHOD_NOTES = [
    "Quality is a participant's mean over the scales for one item (a question shown in a condition).",
    "The paper's tests treat every rating as independent: Kruskal-Wallis per outcome; Dunn's post-hoc tests "
    "(scikit-posthocs) with Bonferroni (as the paper) and Holm corrections over the pairs of one outcome; "
    "Vargha-Delaney A = P(a > b) + 0.5 P(a = b); OLS of quality on condition and explanation length.",
    "Mixed models: a linear mixed model per outcome with crossed random intercepts for participant and question, "
    "fitted by REML as statsmodels variance components over one group; pairs compared by Wald z-tests, "
    "Holm-corrected.",
    "Ordinal view: a proportional-odds model per scale against the linear model of the same rows, both with "
    "standard errors clustered by participant; pairs where their Holm-corrected conclusions differ are listed.",
    "Agreement: Krippendorff's alpha (ordinal) per scale; a unit is a question in a condition, raters are "
    "participants. Accuracy: mean ± SD over seeds, with a 95% percentile bootstrap interval of the mean over "
    "seeds (10,000 resamples); outliers lie beyond 1.5 IQR of their method x data variant x student cell "
    "(quartiles as R's type 7); Tukey HSD within each student size.",
    "Explanation length: the mean number of characters of the explanations of the rated items, per condition.",
]


@dataclass(frozen=True)
class Section:
    """One part of the report, in reading order: a heading, then its plot, its table and its result lines."""

    heading: str
    table: str | None = None  # the name of a table, shown without its statement column
    rows: pd.Series | None = None  # which of its rows to show (all when None)
    plot: str | None = None
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Report:
    out_dir: Path
    ratings: RatingsAnalysis | None
    accuracy: AccuracyAnalysis | None
    tables: dict[str, pd.DataFrame]
    summary: dict[str, list[str]]  # result lines by section
    files: dict[str, Path] = field(default_factory=dict)  # name -> path, for every file written
    sections: list[Section] = field(default_factory=list)  # the layout report.md and report.html show


def summary_text(summary: dict[str, list[str]]) -> str:
    """Result lines under their section headings, as the CLI and `manage.py analyze_study` print them."""
    return "\n".join(f"\n== {heading} ==\n" + "\n".join(lines) for heading, lines in summary.items())


def build_report(
    ratings: pd.DataFrame | None,
    accuracy: pd.DataFrame | None,
    out_dir: Path,
    *,
    reference: str | None = None,
    include_test_responses: bool = False,
    include_statuses: Collection[str] = ANALYSED_STATUSES,
    scale_range: ScaleRange = DEFAULT_SCALE_RANGE,
    conditions: list[str] | None = None,
    scales: list[str] | None = None,
    alpha: float = ALPHA,
    title: str | None = None,
    preset: str = "project",
    remove_outliers: bool | None = None,
    accuracy_design: str | None = None,
) -> Report:
    """Analyse ratings and/or accuracies and write the report into `out_dir` (created if needed).

    Both tables are in the export's format, raw text (as read by `read_ratings_csv`) or typed; they are validated
    here and an `InputError` lists every problem. Nothing is written unless the analysis succeeds. `preset`
    (`presets.py`: project or paper) sets how outliers are handled and which accuracy ANOVA is fitted; each of
    its choices can be overridden.
    """
    if ratings is None and accuracy is None:
        raise ValueError("nothing to analyse: give a ratings table, an accuracy table or both")
    choices = resolve(preset, remove_outliers=remove_outliers, accuracy_design=accuracy_design)
    # Accuracy first: it is quick, so a malformed accuracy file is reported before the slow ratings models run.
    accuracy_analysis = (
        analyze_accuracy(
            accuracy,
            alpha=alpha,
            remove_outliers=choices.remove_outliers,
            design=choices.accuracy_design,
            # The study's conditions: those named, else those rated.
            conditions=conditions or (sorted(set(ratings["condition"])) if ratings is not None else None),
        )
        if accuracy is not None
        else None
    )
    ratings_analysis = (
        analyze_ratings(
            ratings,
            reference=reference,
            include_test_responses=include_test_responses,
            include_statuses=include_statuses,
            scale_range=scale_range,
            conditions=conditions,
            scales=scales,
            alpha=alpha,
            remove_outliers=choices.remove_outliers,
        )
        if ratings is not None
        else None
    )

    out_dir = Path(out_dir)
    files: dict[str, Path] = {}
    tables: dict[str, pd.DataFrame] = {}
    summary: dict[str, list[str]] = {}
    for analysis in (ratings_analysis, accuracy_analysis):  # ratings sections first
        if analysis is not None:
            tables.update(analysis.tables())
            summary.update(analysis.summary)
    (out_dir / "tables").mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        files[f"{name}.csv"] = out_dir / "tables" / f"{name}.csv"
        table.to_csv(files[f"{name}.csv"], index=False)
    if ratings_analysis is not None:
        files[RATINGS_PLOT] = plot_ratings(ratings_analysis, out_dir / "plots" / RATINGS_PLOT)
    if accuracy_analysis is not None:
        files[ACCURACY_PLOT] = plot_accuracy(accuracy_analysis, out_dir / "plots" / ACCURACY_PLOT)
    if title is None:
        study = ratings_analysis.analysed["study_id"].iloc[0] if ratings_analysis is not None else None
        title = f"Analysis of study {study}" if study else "Analysis of accuracies"
    sections = _sections(ratings_analysis, accuracy_analysis, methods_lines(preset, choices))
    write_documents(title, summary, sections, tables, files, out_dir)
    return Report(
        out_dir=out_dir,
        ratings=ratings_analysis,
        accuracy=accuracy_analysis,
        tables=tables,
        summary=summary,
        files=files,
        sections=sections,
    )


def write_documents(
    title: str,
    summary: dict[str, list[str]],
    sections: list[Section],
    tables: dict[str, pd.DataFrame],
    files: dict[str, Path],
    out_dir: Path,
) -> None:
    """Write report.md and report.html into `out_dir` and add them to `files`."""
    files["report.md"] = out_dir / "report.md"
    files["report.md"].write_text(
        _markdown(title, summary, sections, tables, files, out_dir), encoding="utf-8"
    )
    files["report.html"] = out_dir / "report.html"
    files["report.html"].write_text(_html(title, summary, sections, tables, files), encoding="utf-8")


def _sections(
    ratings: RatingsAnalysis | None, accuracy: AccuracyAnalysis | None, preset_lines: list[str]
) -> list[Section]:
    sections = []
    if ratings is not None:
        changed = ratings.ordinal["conclusion_changes"]
        ols_rows = "without the quality outliers" if ratings.removed_outliers else "all items"
        sections += [
            Section("Exclusions", "exclusions"),
            Section("Ratings per condition", "ratings_descriptives", plot=RATINGS_PLOT),
            Section("Explanation length per condition (characters)", "explanation_length"),
            Section("Kruskal-Wallis (paper)", "kruskal_wallis"),
            Section(
                "Dunn's tests and Vargha-Delaney A (paper)",
                "pairwise_dunn_vda",
                lines=tuple(ratings.pairwise["statement"]),
            ),
            Section(
                f"OLS of quality on condition and explanation length (reference {ratings.reference}, {ols_rows})",
                "ols_quality",
            ),
            Section("Quality outliers (beyond 1.5 IQR of their condition)", "quality_outliers"),
            Section(
                "Mixed model: condition pairs",
                "mixed_pairwise",
                lines=tuple(ratings.mixed_pairs["statement"]),
            ),
            Section("Mixed model: fixed effects", "mixed_fixed_effects"),
            Section("Mixed model: variance components", "mixed_variance_components"),
            Section(
                "Ordinal view: pairs whose conclusion changes (all pairs in the CSV)",
                "ordinal_check",
                rows=changed,
                lines=() if changed.any() else ("No pair changes its conclusion.",),
            ),
            Section("Agreement (Krippendorff's alpha, ordinal)", "agreement_krippendorff"),
        ]
    if accuracy is not None:
        sections += [
            Section(
                "Accuracy per method, data variant and student",
                "accuracy_by_method_variant_student",
                plot=ACCURACY_PLOT,
            ),
            Section(
                "Accuracy: outlier runs ("
                + ("left out of every statistic" if accuracy.removed_outliers else "kept in every analysis")
                + ")",
                "accuracy_runs",
                rows=accuracy.runs["outlier"],
            ),
            Section("Accuracy: ANOVA", "accuracy_anova"),
            Section("Accuracy: Tukey HSD within each student size", "accuracy_tukey_hsd"),
        ]
    sections.append(Section("Methods", lines=(*_METHOD_NOTES, *preset_lines)))
    return sections


def shown_rows(table: pd.DataFrame, rows: pd.Series | None) -> pd.DataFrame:
    """The rows a section shows, without the statement column (its statements are listed as lines)."""
    shown = table if rows is None else table[rows.to_numpy(dtype=bool)]
    return shown.drop(columns=[c for c in ("statement",) if c in shown.columns])


def cell_text(value: object, column: str) -> str:
    """A table cell as the report writes it: 3 decimals, p-values below 0.001 as "<0.001", missing as empty."""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if column in COUNT_COLUMNS and value.is_integer():
            return str(int(value))
        if column == "p" or column.startswith("p_") or column.endswith("_p_holm"):
            return "<0.001" if value < 0.001 else f"{value:.3f}"
        return f"{value:.3f}"
    return str(value)


def _markdown(
    title: str,
    summary: dict[str, list[str]],
    sections: list[Section],
    tables: dict[str, pd.DataFrame],
    files: dict[str, Path],
    out_dir: Path,
) -> str:
    out = [
        f"# {title}",
        "",
        f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by studies.analysis.",
        "",
        "## Key results",
        "",
    ]
    for heading, lines in summary.items():
        out += [f"### {heading}", "", *[f"- {line}" for line in lines], ""]
    for section in sections:
        out += ["", f"## {section.heading}", ""]
        if section.plot and section.plot in files:
            out += [f"![{section.heading}]({files[section.plot].relative_to(out_dir).as_posix()})", ""]
        if section.table:
            table = shown_rows(tables[section.table], section.rows)
            out += [f"Table: [`tables/{section.table}.csv`](tables/{section.table}.csv)", ""]
            if len(table):
                out.append("| " + " | ".join(table.columns) + " |")
                out.append("|" + "---|" * len(table.columns))
                for row in table.itertuples(index=False):
                    out.append(
                        "| "
                        + " | ".join(cell_text(v, c) for v, c in zip(row, table.columns, strict=True))
                        + " |"
                    )
                out.append("")
        out += [f"- {line}" for line in section.lines if line]
    return "\n".join(out) + "\n"


def _html(
    title: str,
    summary: dict[str, list[str]],
    sections: list[Section],
    tables: dict[str, pd.DataFrame],
    files: dict[str, Path],
) -> str:
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='meta'>Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by studies.analysis.</p>",
    ]
    body.append("<h2>Key results</h2>")
    for heading, lines in summary.items():
        body += [
            f"<h3>{html.escape(heading)}</h3>",
            "<ul>",
            *[f"<li>{html.escape(line)}</li>" for line in lines],
            "</ul>",
        ]
    for section in sections:
        body.append(f"<h2>{html.escape(section.heading)}</h2>")
        if section.plot and section.plot in files:
            data = base64.b64encode(files[section.plot].read_bytes()).decode("ascii")
            body.append(f"<img alt='{html.escape(section.heading)}' src='data:image/png;base64,{data}'>")
        if section.table:
            table = shown_rows(tables[section.table], section.rows)
            if len(table):
                formatted = table.copy()
                for column in formatted.columns:
                    formatted[column] = [cell_text(v, column) for v in table[column]]
                body.append(formatted.to_html(index=False, border=0, classes="results"))
            body.append(
                f"<p class='meta'>Table: <a href='tables/{section.table}.csv'>tables/{section.table}.csv</a></p>"
            )
        lines = [f"<li>{html.escape(line)}</li>" for line in section.lines if line]
        if section.table and len(lines) > 3:
            body += ["<details><summary>Every result in words</summary><ul>", *lines, "</ul></details>"]
        elif lines:
            body += ["<ul>", *lines, "</ul>"]
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
        "table.results{border-collapse:collapse;font-size:0.85em;margin:0.5em 0}"
        "table.results th,table.results td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}"
        "table.results th{background:#f3f3f3}img{max-width:100%}.meta{color:#666;font-size:0.85em}"
        "li{margin:0.2em 0}"
    )
    return (
        f"<!doctype html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
