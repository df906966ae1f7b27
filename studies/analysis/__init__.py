"""Statistics for human-grounded studies and training runs; plain Python (no Django), so it runs on a CSV from anywhere.

    from studies.analysis import build_report, read_ratings_csv
    report = build_report(read_ratings_csv("ratings.csv"), None, Path("report/"))
    for heading, lines in report.summary.items():
        print(heading, *lines, sep="\n")

or `python -m studies.analysis ratings.csv [--accuracy runs.csv] --out report/`. A decision study's export goes
the same way (`python -m studies.analysis decisions.csv --out report/`, or `build_decision_report`).
"""

import importlib

# Each public name and the module that holds it, imported on first use: the Django side reads the export formats
# (`ratings_format`, `decisions_format`) on every start, and must not pay for pandas, scipy and statsmodels then.
_EXPORTS = {
    "AccuracyAnalysis": "accuracy",
    "analyze_accuracy": "accuracy",
    "build_decision_report": "decision_report",
    "DecisionDesign": "decision_simulation",
    "DecisionPower": "decision_simulation",
    "RelianceModel": "decision_simulation",
    "decision_power": "decision_simulation",
    "simulate_decisions": "decision_simulation",
    "DecisionAnalysis": "decisions",
    "analyze_decisions": "decisions",
    "is_decisions_table": "decisions",
    "validate_decisions": "decisions",
    "ANALYSED_STATUSES": "exclusions",
    "ACCURACY_COLUMNS": "inputs",
    "DEFAULT_SCALE_RANGE": "inputs",
    "PARTICIPANT_STATUSES": "inputs",
    "RATINGS_COLUMNS": "inputs",
    "REQUIRED_RATINGS_COLUMNS": "inputs",
    "InputError": "inputs",
    "read_accuracy_csv": "inputs",
    "read_ratings_csv": "inputs",
    "validate_accuracy": "inputs",
    "validate_ratings": "inputs",
    "plot_accuracy": "plots",
    "plot_power_curve": "plots",
    "plot_ratings": "plots",
    "PowerResult": "power",
    "a_for_difference": "power",
    "difference_for_a": "power",
    "participants_for_power": "power",
    "simulated_power": "power",
    "RatingsAnalysis": "ratings_analysis",
    "analyze_ratings": "ratings_analysis",
    "Report": "report",
    "Section": "report",
    "build_report": "report",
    "cell_text": "report",
    "shown_rows": "report",
    "summary_text": "report",
    "SampleSize": "sample_size",
    "assess_ratings": "sample_size",
    "PlannedDesign": "simulation",
    "RatingModel": "simulation",
    "simulate_ratings": "simulation",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
