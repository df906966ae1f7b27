"""Statistics for human-grounded studies and training runs; plain Python (no Django), so it runs on a CSV from anywhere.

    from studies.analysis import build_report, read_ratings_csv
    report = build_report(read_ratings_csv("ratings.csv"), None, Path("report/"))
    for heading, lines in report.summary.items():
        print(heading, *lines, sep="\n")

or `python -m studies.analysis ratings.csv [--accuracy runs.csv] --out report/`. A decision study's export goes
the same way (`python -m studies.analysis decisions.csv --out report/`, or `build_decision_report`).
"""

from .accuracy import AccuracyAnalysis, analyze_accuracy
from .decision_report import build_decision_report
from .decision_simulation import (
    DecisionDesign,
    DecisionPower,
    RelianceModel,
    decision_power,
    simulate_decisions,
)
from .decisions import DecisionAnalysis, analyze_decisions, is_decisions_table, validate_decisions
from .exclusions import ANALYSED_STATUSES
from .inputs import (
    ACCURACY_COLUMNS,
    DEFAULT_SCALE_RANGE,
    PARTICIPANT_STATUSES,
    RATINGS_COLUMNS,
    REQUIRED_RATINGS_COLUMNS,
    InputError,
    read_accuracy_csv,
    read_ratings_csv,
    validate_accuracy,
    validate_ratings,
)
from .plots import plot_accuracy, plot_power_curve, plot_ratings
from .power import PowerResult, a_for_difference, difference_for_a, participants_for_power, simulated_power
from .ratings_analysis import RatingsAnalysis, analyze_ratings
from .report import Report, Section, build_report, cell_text, shown_rows, summary_text
from .sample_size import SampleSize, assess_ratings
from .simulation import PlannedDesign, RatingModel, simulate_ratings

__all__ = [
    "ACCURACY_COLUMNS",
    "ANALYSED_STATUSES",
    "DEFAULT_SCALE_RANGE",
    "PARTICIPANT_STATUSES",
    "RATINGS_COLUMNS",
    "REQUIRED_RATINGS_COLUMNS",
    "AccuracyAnalysis",
    "DecisionAnalysis",
    "DecisionDesign",
    "DecisionPower",
    "RelianceModel",
    "InputError",
    "PlannedDesign",
    "PowerResult",
    "RatingModel",
    "RatingsAnalysis",
    "Report",
    "SampleSize",
    "Section",
    "a_for_difference",
    "analyze_accuracy",
    "analyze_decisions",
    "analyze_ratings",
    "assess_ratings",
    "build_decision_report",
    "build_report",
    "cell_text",
    "decision_power",
    "difference_for_a",
    "is_decisions_table",
    "participants_for_power",
    "plot_accuracy",
    "plot_power_curve",
    "plot_ratings",
    "read_accuracy_csv",
    "read_ratings_csv",
    "shown_rows",
    "simulate_decisions",
    "simulate_ratings",
    "simulated_power",
    "summary_text",
    "validate_accuracy",
    "validate_decisions",
    "validate_ratings",
]
