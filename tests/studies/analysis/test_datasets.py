"""A study or a grid that spans several datasets: the dataset is a factor crossed with the condition. Each
dataset's numbers are those of an analysis of that dataset alone (an independent computation on the subset)."""

import pandas as pd
import pytest

from studies.analysis import analyze_accuracy, analyze_ratings
from tests.studies.analysis.conftest import CONDITIONS, SCALES, small_study


@pytest.fixture(scope="module")
def two_datasets(accuracy_runs) -> pd.DataFrame:
    """The shared grid run on CQA, and the same grid on e-SNLI with every accuracy 0.1 lower but one cell."""
    esnli = accuracy_runs.assign(accuracy=accuracy_runs["accuracy"] - 0.1, dataset="esnli")
    esnli.loc[esnli["method"] == "multitask", "accuracy"] += 0.05
    return pd.concat([accuracy_runs.assign(dataset="cqa"), esnli], ignore_index=True)


def test_an_accuracy_grid_over_two_datasets_is_compared_within_each(two_datasets):
    both = analyze_accuracy(two_datasets)
    assert set(both.cells["dataset"]) == {"cqa", "esnli"} and len(both.cells) == 2 * 2 * 2 * 3
    for name in ("cqa", "esnli"):
        alone = analyze_accuracy(two_datasets[two_datasets["dataset"] == name].drop(columns="dataset"))
        anova = both.anova[both.anova["dataset"] == name].drop(columns="dataset").reset_index(drop=True)
        pd.testing.assert_frame_equal(
            anova.drop(columns="statement"), alone.anova.drop(columns="statement"), check_like=True
        )
        cells = both.cells[both.cells["dataset"] == name].drop(columns="dataset").reset_index(drop=True)
        assert cells["mean"].round(10).tolist() == alone.cells["mean"].round(10).tolist()
    lines = " ".join(both.summary["Accuracy (mean ± SD over seeds)"])
    assert "multitask/unrevised [esnli]: " in lines and "on revised data of esnli" in lines


def test_one_dataset_changes_nothing(accuracy_runs):
    plain = analyze_accuracy(accuracy_runs)
    named = analyze_accuracy(accuracy_runs.assign(dataset="cqa"))
    pd.testing.assert_frame_equal(plain.anova, named.anova)
    assert "dataset" not in named.cells.columns


def test_ratings_of_a_study_that_mixes_datasets_compare_conditions_per_dataset():
    ratings = small_study(seed=3, n_participants=24)
    numbers = ratings["question_id"].str[1:].astype(int)
    ratings = ratings.assign(dataset=["strategyqa" if n % 2 else "esnli" for n in numbers])
    analysis = analyze_ratings(ratings, conditions=CONDITIONS, scales=SCALES, reference=CONDITIONS[0])
    assert analysis.conditions == [f"{c} [{d}]" for d in ("esnli", "strategyqa") for c in CONDITIONS]
    assert analysis.reference == f"{CONDITIONS[0]} [esnli]"
    kept = analysis.analysed
    for d in ("esnli", "strategyqa"):
        for c in CONDITIONS:
            mine = kept[(kept["dataset"] == d) & (kept["condition"] == f"{c} [{d}]")]
            assert len(mine) == len(ratings[(ratings["dataset"] == d) & (ratings["condition"] == c)])
    assert any("2 datasets (esnli, strategyqa)" in line for line in analysis.summary["Data and exclusions"])
