"""python -m studies.analysis [ratings.csv | decisions.csv] [--accuracy runs.csv] --out report/ [--preset paper]

A decisions export (a decision study's `decisions.csv`) is recognised by its columns and gets the decision report.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .accuracy import ANOVA_DESIGNS
from .decision_report import build_decision_report
from .decisions import is_decisions_table
from .exclusions import ANALYSED_STATUSES
from .inputs import DEFAULT_SCALE_RANGE, PARTICIPANT_STATUSES, InputError, read_accuracy_csv, read_ratings_csv
from .presets import PRESETS
from .ratings_analysis import ALPHA
from .report import build_report, summary_text


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m studies.analysis",
        description="Analyse a study's ratings export (and training-run accuracies): tables as CSV, plots, "
        "a Markdown and an HTML report, and the key numbers printed.",
    )
    p.add_argument(
        "ratings",
        type=Path,
        nargs="?",
        help="the study's ratings CSV (one row per rating and scale; optional with --accuracy), or a decision "
        "study's decisions CSV (one row per participant and item)",
    )
    p.add_argument(
        "--accuracy",
        type=Path,
        help="accuracy CSV: method, data_variant, student, seed, accuracy (0-1); or the site's /runs/results.csv, "
        "or a report's tables/accuracy_runs.csv",
    )
    p.add_argument("--out", type=Path, required=True, help="folder for the report (created if needed)")
    p.add_argument(
        "--reference", help="reference condition of the regressions (default: the first condition)"
    )
    p.add_argument(
        "--conditions",
        help="comma-separated conditions of the study, in display order; any other is an error",
    )
    p.add_argument(
        "--scale-range",
        type=int,
        nargs=2,
        metavar=("LOW", "HIGH"),
        default=DEFAULT_SCALE_RANGE,
        help="the range of every scale (default: %(default)s)",
    )
    p.add_argument("--include-test-responses", action="store_true", help="analyse test responses too")
    p.add_argument(
        "--include-status",
        action="append",
        choices=PARTICIPANT_STATUSES,
        help=f"participant status to analyse (repeatable; default: {', '.join(ANALYSED_STATUSES)})",
    )
    p.add_argument("--alpha", type=float, default=ALPHA, help="significance level (default: %(default)s)")
    p.add_argument(
        "--preset",
        choices=PRESETS,
        default="project",
        help="project (default): outliers kept, one accuracy ANOVA per data variant; paper: the study's analysis, "
        "outliers removed and one ANOVA of condition x student size (the report's Methods lists why they differ)",
    )
    p.add_argument(
        "--outliers",
        choices=("keep", "remove"),
        help="override the preset: keep or remove values beyond 1.5 IQR (per condition; accuracy per condition x student)",
    )
    p.add_argument(
        "--accuracy-design",
        choices=ANOVA_DESIGNS,
        help="override the preset: per_variant (method x student per data variant) or conditions (condition x student)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    if args.ratings is None and args.accuracy is None:
        cli.error("give a ratings CSV, --accuracy FILE, or both")
    try:
        table = read_ratings_csv(args.ratings) if args.ratings else None
        if table is not None and is_decisions_table(table.columns):
            if args.accuracy:
                cli.error("--accuracy goes with a ratings CSV, not with a decisions CSV")
            report = build_decision_report(
                table,
                args.out,
                reference=args.reference,
                include_test_responses=args.include_test_responses,
                include_statuses=tuple(args.include_status or ANALYSED_STATUSES),
                alpha=args.alpha,
            )
        else:
            accuracy = read_accuracy_csv(args.accuracy) if args.accuracy else None
            if accuracy is not None and accuracy.attrs.get("note"):
                print(f"note: {accuracy.attrs['note']}", file=sys.stderr)
            report = build_report(
                table,
                accuracy,
                args.out,
                reference=args.reference,
                include_test_responses=args.include_test_responses,
                include_statuses=tuple(args.include_status or ANALYSED_STATUSES),
                scale_range=tuple(args.scale_range),
                conditions=args.conditions.split(",") if args.conditions else None,
                alpha=args.alpha,
                preset=args.preset,
                remove_outliers=None if args.outliers is None else args.outliers == "remove",
                accuracy_design=args.accuracy_design,
            )
    except (InputError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(summary_text(report.summary))
    print(
        f"\nReport: {report.files['report.html']} and {report.files['report.md']}; tables in {args.out / 'tables'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
