"""Small simulated studies shared by the analysis tests (the statistics are slow enough to compute once)."""

import pandas as pd
import pytest

from studies.analysis import RatingModel, analyze_accuracy, analyze_ratings, simulate_ratings
from studies.analysis.simulation import DEFAULT_RATING_MODEL

CONDITIONS = ["counterfactual/unrevised", "multitask/unrevised", "multitask_counterfactual/revised"]
SCALES = ["plausibility", "completeness", "contrastiveness"]
BETTER = "multitask_counterfactual/revised"
EFFECT = 0.8  # scale points, on every scale
INDEPENDENT = RatingModel(sd_participant=0.0, sd_question=0.0, sd_item=0.0, sd_rating=1.0)


def small_study(*, effects=None, seed=0, n_participants=40, model=DEFAULT_RATING_MODEL) -> pd.DataFrame:
    return simulate_ratings(
        conditions=CONDITIONS,
        scales=SCALES,
        n_participants=n_participants,
        items_per_condition=2,
        questions=24,
        effects=effects,
        model=model,
        seed=seed,
    )


@pytest.fixture(scope="session")
def effect_ratings() -> pd.DataFrame:
    return small_study(effects={BETTER: EFFECT}, seed=1)


@pytest.fixture(scope="session")
def effect_analysis(effect_ratings):
    return analyze_ratings(effect_ratings, conditions=CONDITIONS, scales=SCALES)


@pytest.fixture(scope="session")
def accuracy_runs() -> pd.DataFrame:
    """Six seeds per cell; multitask_counterfactual clearly better on t5-large, one diverged run."""
    rows = []
    base = {"t5-small": 0.45, "t5-large": 0.72}
    gain = {"standard": 0.0, "multitask": 0.004, "multitask_counterfactual": 0.03}
    jitter = [0.003, -0.002, 0.001, -0.004, 0.002, 0.0]
    for variant in ("unrevised", "revised"):
        for student, accuracy in base.items():
            for method, extra in gain.items():
                for seed, noise in enumerate(jitter):
                    rows.append((method, variant, student, seed, round(accuracy + extra + noise, 4)))
    runs = pd.DataFrame(rows, columns=["method", "data_variant", "student", "seed", "accuracy"])
    runs.loc[
        (runs["method"] == "standard") & (runs["student"] == "t5-small") & (runs["seed"] == 5), "accuracy"
    ] = 0.30
    return runs


@pytest.fixture(scope="session")
def accuracy_analysis(accuracy_runs):
    return analyze_accuracy(accuracy_runs)
