"""Too few ratings are said in words: nothing to analyse stops with a clear error, few ratings get warnings."""

import pandas as pd
import pytest

from studies.analysis import InputError, analyze_accuracy, analyze_ratings, assess_ratings
from studies.analysis.inputs import RATINGS_COLUMNS
from studies.analysis.sample_size import MIN_ITEMS_PER_CONDITION, SECTION

from .conftest import CONDITIONS, SCALES, small_study


def test_one_participant_is_refused_with_a_reason():
    ratings = small_study(n_participants=1)
    assert not assess_ratings(ratings, conditions=CONDITIONS).analysable
    with pytest.raises(
        InputError, match="ratings from 1 participant; comparing conditions needs two or more"
    ):
        analyze_ratings(ratings, conditions=CONDITIONS, scales=SCALES)


def test_no_ratings_yet_and_one_condition_are_not_analysable():
    empty = assess_ratings(pd.DataFrame(columns=RATINGS_COLUMNS), conditions=CONDITIONS)
    assert empty.blocking == ["there are no ratings yet"]
    assert empty.items_per_condition == dict.fromkeys(CONDITIONS, 0)
    ratings = small_study(n_participants=6)
    one = ratings[ratings["condition"] == CONDITIONS[0]]
    assert assess_ratings(one, conditions=CONDITIONS).blocking == [
        "ratings in 1 condition(s); comparing needs two or more"
    ]


def test_test_responses_count_only_when_included():
    ratings = small_study(n_participants=6).assign(test_response="true")
    assert assess_ratings(ratings).blocking == ["no ratings are left to analyse"]
    size = assess_ratings(ratings, include_test_responses=True, conditions=CONDITIONS)
    assert size.analysable and size.participants == 6
    assert size.ratings == len(ratings)


def test_few_ratings_warn_which_tests_mean_little(tmp_path):
    ratings = small_study(n_participants=2)  # two items per condition each: 4 per condition
    size = assess_ratings(ratings, conditions=CONDITIONS)
    items = ratings.drop_duplicates(["participant_id", "condition", "question_id"])
    assert (
        size.items_per_condition
        == items["condition"].value_counts().to_dict()
        == dict.fromkeys(CONDITIONS, 4)
    )
    assert MIN_ITEMS_PER_CONDITION > 4
    assert any(w.startswith("Too few rated items for the Kruskal-Wallis") for w in size.warnings)
    assert any(w.startswith("Too few participants (2) for the mixed models") for w in size.warnings)
    analysis = analyze_ratings(ratings, conditions=CONDITIONS, scales=SCALES)
    assert analysis.summary[SECTION] == size.warnings
    assert list(analysis.summary).index(SECTION) == 1  # right after the data and exclusions


def test_a_full_study_has_no_sample_size_warning(effect_analysis):
    assert SECTION not in effect_analysis.summary


def test_one_seed_per_method_gets_no_anova_but_a_reason(accuracy_runs):
    one_seed = accuracy_runs[(accuracy_runs["seed"] == 0) & (accuracy_runs["student"] == "t5-small")]
    analysis = analyze_accuracy(one_seed)
    assert analysis.anova.empty and analysis.tukey.empty
    lines = analysis.summary["Accuracy (mean ± SD over seeds)"]
    assert "On revised data too few runs for an ANOVA (3 runs of 3 methods x 1 student sizes" in " ".join(
        lines
    )
