"""A malformed ratings or accuracy file gets one clear error naming every problem, its column and its line."""

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from studies.analysis import (
    RATINGS_COLUMNS,
    InputError,
    read_accuracy_csv,
    read_ratings_csv,
    validate_accuracy,
    validate_ratings,
)
from studies.analysis.__main__ import main

from .conftest import CONDITIONS, small_study


@pytest.fixture
def ratings() -> pd.DataFrame:
    return small_study(n_participants=3).astype(object)


def write(frame: pd.DataFrame, tmp_path: Path, name: str = "ratings.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def error_of(path: Path, **kwargs) -> str:
    with pytest.raises(InputError) as caught:
        validate_ratings(read_ratings_csv(path), **kwargs)
    return str(caught.value)


def test_missing_required_column_is_named(ratings, tmp_path):
    message = error_of(write(ratings.drop(columns=["value"]), tmp_path))
    assert "missing required column(s): value" in message
    assert str(tmp_path / "ratings.csv") in message


def test_value_out_of_range_names_scale_line_and_value(ratings, tmp_path):
    ratings.loc[4, "value"] = 6
    message = error_of(write(ratings, tmp_path))
    assert f"outside the range 1-5 of scale '{ratings.loc[4, 'scale']}'" in message
    assert "line 6 ('6')" in message  # header is line 1, so row 4 is line 6
    assert "--scale-range" in message


def test_unknown_condition_is_named_with_its_line(ratings, tmp_path):
    ratings.loc[10, "condition"] = "multitask/revized"
    message = error_of(write(ratings, tmp_path), conditions=CONDITIONS)
    assert "not one of this study's conditions" in message
    assert "line 12 ('multitask/revized')" in message


def test_non_numeric_and_fractional_values_are_named(ratings, tmp_path):
    ratings.loc[0, "value"] = "four"
    ratings.loc[1, "value"] = "3.5"
    ratings.loc[2, "explanation_chars"] = "long"
    ratings.loc[3, "seconds_on_item"] = "inf"
    message = error_of(write(ratings, tmp_path))
    assert "column 'value': not a number: line 2 ('four')" in message
    assert "column 'value': not a whole number: line 3 ('3.5')" in message
    assert "column 'explanation_chars': not a number: line 4 ('long')" in message
    assert "column 'seconds_on_item': not a finite number: line 5 ('inf')" in message
    assert message.count("\n- ") == 4  # every problem listed at once


def test_misspelt_optional_column_is_not_silently_ignored(ratings, tmp_path):
    message = error_of(write(ratings.rename(columns={"attention_check": "attention_checks"}), tmp_path))
    assert "unknown column(s): attention_checks" in message


def test_bad_flag_and_status_are_named(ratings, tmp_path):
    ratings.loc[3, "test_response"] = "yes"
    ratings.loc[ratings["participant_id"] == "p0001", "participant_status"] = "finished"
    message = error_of(write(ratings, tmp_path))
    assert "column 'test_response': not true/false: line 5 ('yes')" in message
    assert "column 'participant_status': not one of in_progress, completed, screened_out, returned" in message
    assert "('finished')" in message


def test_duplicate_rating_and_mixed_status_are_named(ratings, tmp_path):
    ratings.loc[ratings.index[-1], "participant_status"] = "returned"
    message = error_of(write(pd.concat([ratings, ratings.iloc[[7]]]), tmp_path))
    last_line = len(ratings) + 1
    assert "participant 'p0002' has several statuses (completed, returned)" in message
    assert f"rated question '{ratings.loc[7, 'question_id']}'" in message
    assert f"more than once (line 9, line {last_line + 1})" in message


def test_several_studies_are_refused(ratings, tmp_path):
    ratings.loc[0, "study_id"] = "other"
    assert "ratings from several studies" in error_of(write(ratings, tmp_path))


def test_dataframe_input_names_rows_not_lines(ratings):
    ratings.loc[5, "value"] = 0
    with pytest.raises(InputError, match=r"row 5 \('0'\)"):
        validate_ratings(ratings)


def test_only_the_first_ten_columns_are_required(ratings):
    valid = validate_ratings(ratings[list(RATINGS_COLUMNS[:10])])
    assert list(valid.columns) == list(RATINGS_COLUMNS)
    assert set(valid["participant_status"]) == {"completed"}
    assert not valid["attention_check"].any() and not valid["test_response"].any()


def test_attention_check_rows_may_leave_item_columns_empty(ratings):
    ratings.loc[0, ["condition", "question_id", "explanation_chars"]] = ""
    ratings.loc[0, "attention_check"] = "true"
    assert validate_ratings(ratings)["attention_check"].sum() == 1
    ratings.loc[0, "attention_check"] = "false"
    with pytest.raises(InputError, match="column 'condition': empty"):
        validate_ratings(ratings)


def test_custom_scale_range(ratings):
    ratings["value"] = ratings["value"].astype(int) + 2  # 3..7
    with pytest.raises(InputError, match="outside the range 1-5"):
        validate_ratings(ratings)
    assert validate_ratings(ratings, scale_range=(1, 7))["value"].max() == 7


def test_empty_and_header_only_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text(",".join(RATINGS_COLUMNS) + "\n")
    with pytest.raises(InputError, match="the file is empty"):
        read_ratings_csv(tmp_path / "empty.csv")
    with pytest.raises(InputError, match="no rows under the header"):
        validate_ratings(read_ratings_csv(tmp_path / "header.csv"))


def test_accuracy_as_percentage_is_refused():
    frame = pd.read_csv(
        io.StringIO("method,data_variant,student,seed,accuracy\nstandard,revised,t5-small,0,76.4\n")
    )
    with pytest.raises(InputError, match=r"above 1 \(accuracy is a fraction 0-1, not a percentage\): row 0"):
        validate_accuracy(frame)


def test_accuracy_missing_column_and_duplicate_run(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("method,data_variant,student,accuracy\nstandard,revised,t5-small,0.7\n")
    with pytest.raises(InputError, match="missing required column"):
        validate_accuracy(read_accuracy_csv(path))
    path.write_text(
        "method,data_variant,student,seed,accuracy\nstandard,revised,t5-small,0,0.7\nstandard,revised,t5-small,0,0.71\n"
    )
    with pytest.raises(InputError, match=r"seed twice: standard, revised, t5-small, 0 \(line 2, line 3\)"):
        validate_accuracy(read_accuracy_csv(path))


def test_cli_reports_a_malformed_file_and_exits_with_2(ratings, tmp_path, capsys):
    path = write(ratings.drop(columns=["scale"]), tmp_path)
    assert main([str(path), "--out", str(tmp_path / "report")]) == 2
    assert "missing required column(s): scale" in capsys.readouterr().err
    assert not (tmp_path / "report").exists()  # nothing written for a file that could not be analysed


def test_importing_the_package_needs_no_django():
    code = "import sys, studies.analysis; assert not [m for m in sys.modules if m.startswith('django')]"
    env = {"PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[3], env=env)


def test_typed_rows_as_from_the_database_are_accepted(ratings):
    typed = ratings.assign(
        value=ratings["value"].astype(int),
        position=ratings["position"].astype(int),
        explanation_chars=ratings["explanation_chars"].astype(int),
        answer_correct=[None, True, False] * (len(ratings) // 3),
        attention_check=False,
        test_response=False,
        training_run_id=[None] * len(ratings),
        seed=[3] * len(ratings),
    )
    valid = validate_ratings(typed)
    assert valid["answer_correct"].isna().sum() == len(ratings) // 3
    assert valid["training_run_id"].isna().all() and (valid["seed"] == 3).all()
    assert valid["value"].dtype == int
