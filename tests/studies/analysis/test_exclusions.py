"""Screened-out, returned and unfinished participants, attention-check rows and test responses are excluded and counted."""

import pandas as pd

from studies.analysis import validate_ratings
from studies.analysis.exclusions import apply_exclusions

from .conftest import small_study


def study_with_everything() -> pd.DataFrame:
    ratings = small_study(n_participants=8).astype(object)
    per_participant = len(ratings) // 8
    ids = list(dict.fromkeys(ratings["participant_id"]))
    for participant, status in zip(ids[:3], ["screened_out", "returned", "in_progress"], strict=True):
        ratings.loc[ratings["participant_id"] == participant, "participant_status"] = status
    attention = ratings[ratings["participant_id"] == ids[4]].head(2).copy()
    attention[["condition", "question_id", "explanation_chars"]] = ""
    attention["attention_check"] = "true"
    tests = ratings[ratings["participant_id"] == ids[5]].copy()
    tests["participant_id"] = "test-1"
    tests["test_response"] = "true"
    assert per_participant == len(tests)
    return pd.concat([ratings, attention, tests], ignore_index=True)


def test_each_exclusion_is_applied_and_reported():
    ratings = validate_ratings(study_with_everything())
    result = apply_exclusions(ratings)
    counts = dict(zip(result.table["reason"], result.table["ratings_excluded"], strict=True))
    per_participant = 18  # 3 conditions x 2 items x 3 scales
    assert counts == {
        "test response (simulated pilot answer)": per_participant,
        "participant still in progress (did not finish)": per_participant,
        "participant screened out (failed the study's screening or attention rule)": per_participant,
        "participant returned the study (withdrew)": per_participant,
        "attention-check item (not a rating of an explanation)": 2,
    }
    assert set(result.kept["participant_status"]) == {"completed"}
    assert not result.kept["attention_check"].any() and not result.kept["test_response"].any()
    assert result.kept["participant_id"].nunique() == 5
    assert len(result.kept) == len(ratings) - 4 * per_participant - 2
    assert "Excluded 18 rating row(s) of 1 participant(s): participant screened out" in " ".join(result.lines)


def test_test_responses_and_other_statuses_can_be_included_on_request():
    ratings = validate_ratings(study_with_everything())
    result = apply_exclusions(
        ratings, include_test_responses=True, include_statuses=("completed", "returned")
    )
    assert "test-1" in set(result.kept["participant_id"])
    assert set(result.kept["participant_status"]) == {"completed", "returned"}
    assert "Test responses included on request: 18 rating row(s)." in result.lines
