"""How long the analysis takes on a study of the paper's size, and how long a power estimate takes.

    .venv/bin/python -m bench.analysis_speed [--participants 117]

A simulated study (4 conditions x 3 items each per participant x 5 scales, participant and question effects,
a small condition effect) is analysed in full, then written as a report; then the default power estimate runs.
Prints wall seconds for each step.
"""

import argparse
import tempfile
import time
from pathlib import Path

from studies.analysis import (
    PlannedDesign,
    analyze_ratings,
    build_report,
    participants_for_power,
    simulate_ratings,
)

CONDITIONS = [
    "counterfactual/unrevised",
    "multitask/revised",
    "multitask_counterfactual/revised",
    "multitask_counterfactual/unrevised",
]
SCALES = ["plausibility", "understandability", "completeness", "satisfaction", "contrastiveness"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=117)
    args = parser.parse_args()
    ratings = simulate_ratings(
        conditions=CONDITIONS,
        scales=SCALES,
        n_participants=args.participants,
        items_per_condition=3,
        questions=60,
        effects={"multitask_counterfactual/revised": 0.25},
        seed=1,
    )
    print(f"study: {args.participants} participants, {len(ratings)} rating rows")
    start = time.perf_counter()
    analysis = analyze_ratings(ratings)
    print(f"analyze_ratings: {time.perf_counter() - start:.1f} s")
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        report = build_report(ratings, None, Path(out))
        print(f"build_report (analysis + {len(report.files)} files): {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    power = participants_for_power(
        PlannedDesign(conditions=4, items_per_condition=3, scales=5), difference=0.3
    )
    print(
        f"participants_for_power (default {power.n_simulations} simulations): {time.perf_counter() - start:.1f} s"
    )
    print(power.statement)
    print(analysis.summary["The paper's tests (ratings treated as independent)"][-1])


if __name__ == "__main__":
    main()
