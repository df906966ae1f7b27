"""Selectors for the analysis: what `studies.analysis` (plain Python, its CSV contract in `analysis.inputs`) is
given from the database for one study, as data frames.

Its ratings, as the export's rows (`selectors.rating_rows`); the accuracies of the training runs behind its
conditions, over every student and seed of the grids they come from (`models_app.selectors.experiment_results`);
its design (conditions and scales in the study's order, each scale's range); and a fingerprint of all of it, so that
a stored report can tell whether the data have changed since.
"""

import hashlib
import json
from collections import Counter
from dataclasses import dataclass

import pandas as pd

from models_app.selectors import experiment_results

from .analysis import ACCURACY_COLUMNS, ANALYSED_STATUSES, SampleSize, assess_ratings
from .analysis.decisions import assess_decisions
from .analysis.decisions_format import DECISION_COLUMNS
from .analysis.ratings_format import RATINGS_COLUMNS
from .models import Study
from .selectors import decision_rows, rating_rows


@dataclass(frozen=True)
class AnalysisInputs:
    ratings: pd.DataFrame  # the export's rows, as text (the analysis validates them)
    accuracy: pd.DataFrame | None  # None when the database has no accuracy to give; `notes` say why
    notes: list[str]  # what the accuracy table covers, or why there is none
    conditions: list[str]
    scales: list[str]
    scale_range: dict[str, tuple[int, int]]
    fingerprint: str
    decisions: bool = False  # a decision study: `ratings` holds the decisions export's rows

    def sample_size(self, *, include_test_responses: bool, include_statuses=ANALYSED_STATUSES) -> SampleSize:
        """What the ratings (or decisions) allow after the exclusions (quick: no models are fitted)."""
        if self.decisions:
            return assess_decisions(
                self.ratings,
                include_test_responses=include_test_responses,
                include_statuses=include_statuses,
                conditions=self.conditions,
            )
        return assess_ratings(
            self.ratings,
            include_test_responses=include_test_responses,
            include_statuses=include_statuses,
            scale_range=self.scale_range,
            conditions=self.conditions,
            scales=self.scales,
        )


def analysis_inputs(*, study: Study, include_test_responses: bool = False) -> AnalysisInputs:
    conditions = list(study.conditions.values_list("name", flat=True))
    scales = {s.name: (s.min_value, s.max_value) for s in study.scales.all()}
    rows, columns, what = (
        (decision_rows, DECISION_COLUMNS, "decisions")
        if study.is_decision
        else (rating_rows, RATINGS_COLUMNS, "ratings")
    )
    ratings = pd.DataFrame.from_records(
        list(rows(study=study, include_test_responses=include_test_responses)), columns=columns
    )
    ratings.attrs["source"] = f"{what} of study {study.pk} (database)"
    if (
        study.is_decision
    ):  # its report is about the people's decisions; the students' accuracy is on /runs/results/
        accuracy, notes = None, []
    else:
        accuracy, notes = study_accuracy(study=study)

    digest = hashlib.sha256()
    digest.update(json.dumps([conditions, list(scales.items())]).encode())
    for frame in (ratings, accuracy):
        if frame is not None:  # pandas' row hashes use a fixed key: the same rows give the same digest
            digest.update(json.dumps(list(frame.columns)).encode())
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return AnalysisInputs(
        ratings=ratings,
        accuracy=accuracy,
        notes=notes,
        conditions=conditions,
        scales=list(scales),
        scale_range=scales,
        fingerprint=digest.hexdigest(),
        decisions=study.is_decision,
    )


def study_accuracy(*, study: Study) -> tuple[pd.DataFrame | None, list[str]]:
    """Accuracy per training run (`ACCURACY_COLUMNS`) of the study's methods × data variants, and notes.

    The runs are those of the grids the conditions' training runs come from: every student and seed, so that the
    table is the paper's accuracy analysis of the methods the study compares.
    """
    conditions = list(study.conditions.select_related("inference_run__training_run"))
    notes = [
        f"Condition {c.name} was imported from {c.source_file}: no training run behind it, so no accuracy."
        for c in conditions
        if c.inference_run_id is None
    ]
    behind = [c.inference_run.training_run for c in conditions if c.inference_run_id is not None]
    results = experiment_results(training_runs=behind)
    known = [r for r in results if r.accuracy is not None]
    unknown = [r for r in results if r.accuracy is None]
    if not known:
        if behind:
            notes.append(
                "No accuracy table: no training run of the study's methods and data variants has a finished "
                "test-set inference run yet."
            )
        return None, notes

    cells = Counter(
        (r.run.dataset_id, r.run.method, r.run.data_variant, r.run.student, r.run.seed) for r in known
    )
    repeated = [cell for cell, n in cells.items() if n > 1]
    if repeated:
        _, method, variant, student, seed = repeated[0]
        ids = [
            f"#{r.run.pk}"
            for r in known
            if (r.run.dataset_id, r.run.method, r.run.data_variant, r.run.student, r.run.seed) == repeated[0]
        ]
        notes.append(
            "No accuracy table: the conditions come from different training grids (other teacher data or "
            f"hyperparameters) that share cells, e.g. {method}/{variant} {student} seed {seed} (training runs "
            f"{', '.join(ids)}). Analyse them apart: python -m studies.analysis ratings.csv --accuracy runs.csv."
        )
        return None, notes

    accuracy = pd.DataFrame(
        [
            (
                r.run.method,
                r.run.data_variant,
                r.run.student,
                r.run.seed,
                r.accuracy,
                r.run.pk,
                r.run.dataset.kind,
            )
            for r in known
        ],
        columns=list(ACCURACY_COLUMNS),
    )
    accuracy.attrs["source"] = f"accuracies of the training runs behind study {study.pk} (database)"
    students = ", ".join(dict.fromkeys(accuracy["student"]))
    notes.append(
        f"Accuracy: {len(known)} training runs of the grid(s) behind the conditions — methods "
        f"{', '.join(sorted(set(accuracy['method'])))} × data variants "
        f"{', '.join(sorted(set(accuracy['data_variant'])))}, students {students}, "
        f"seeds {', '.join(map(str, sorted(set(accuracy['seed']))))}; accuracy on the test set (validation split) "
        "from each run's latest succeeded inference run."
    )
    if unknown:
        notes.append(
            f"{len(unknown)} training run(s) of these cells have no test accuracy yet and are left out: "
            + ", ".join(
                f"#{r.run.pk} ({r.run.condition_name} {r.run.student} seed {r.run.seed})" for r in unknown
            )
            + "."
        )
    return accuracy, notes
