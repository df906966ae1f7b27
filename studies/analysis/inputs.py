"""The input contract: the study export's ratings CSV and the accuracy CSV, read and checked.

Validation collects every problem it finds and raises one `InputError` listing them, each naming the column, the
offending value and where it is: "line N" for a CSV read with `read_ratings_csv`/`read_accuracy_csv` (the header
is line 1), "row N" (0-based) for a DataFrame built elsewhere, e.g. from the database.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .ratings_format import PARTICIPANT_STATUSES, RATINGS_COLUMNS

REQUIRED_RATINGS_COLUMNS = RATINGS_COLUMNS[:10]
DEFAULT_SCALE_RANGE = (1, 5)

# `dataset` (optional): a grid that spans several datasets is analysed per dataset (studies.analysis.accuracy).
ACCURACY_COLUMNS = ("method", "data_variant", "student", "seed", "accuracy", "training_run_id", "dataset")
REQUIRED_ACCURACY_COLUMNS = ACCURACY_COLUMNS[:5]

ScaleRange = tuple[int, int] | Mapping[str, tuple[int, int]]

_SHOWN_PER_PROBLEM = 5


class InputError(ValueError):
    """A ratings or accuracy table that does not meet the input contract; the message lists every problem."""

    def __init__(self, source: str, problems: Sequence[str]):
        self.source = source
        self.problems = list(problems)
        listed = "\n".join(f"- {p}" for p in self.problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        super().__init__(f"{source}: {len(self.problems)} {noun}:\n{listed}")


def read_ratings_csv(path: str | Path) -> pd.DataFrame:
    """Read a ratings CSV as text, so that validation can quote bad values and their line numbers."""
    return _read_csv_as_text(path)


# The project's own exports, read as accuracy tables: the run table of /runs/results.csv (its test accuracy is the
# accuracy; runs without one are left out) and a report's tables/accuracy_runs.csv (its condition and outlier
# columns are derived).
RUN_TABLE_ACCURACY = "test_accuracy"
DERIVED_ACCURACY_COLUMNS = ("condition", "outlier_low", "outlier_high", "outlier")


def read_accuracy_csv(path: str | Path) -> pd.DataFrame:
    """An accuracy CSV: the contract's columns, /runs/results.csv or a report's tables/accuracy_runs.csv.

    What was left out, if anything, is said in `attrs["note"]`."""
    frame = _read_csv_as_text(path)
    frame = frame.drop(columns=[c for c in DERIVED_ACCURACY_COLUMNS if c in frame.columns])
    if RUN_TABLE_ACCURACY in frame.columns and "accuracy" not in frame.columns:
        evaluated = frame[RUN_TABLE_ACCURACY].str.strip() != ""
        kept = [c for c in ACCURACY_COLUMNS if c != "accuracy"] + [RUN_TABLE_ACCURACY]
        attrs = dict(frame.attrs)
        frame = frame.loc[evaluated, [c for c in kept if c in frame.columns]]
        frame = frame.rename(columns={RUN_TABLE_ACCURACY: "accuracy"})
        frame.attrs = attrs | {"first_line": None}  # rows were left out: problems are named by row
        if (~evaluated).any():
            n = int((~evaluated).sum())
            frame.attrs["note"] = (
                f"{attrs['source']}: {n} training run{'s' if n != 1 else ''} without a test accuracy left out"
            )
    return frame


def _read_csv_as_text(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError(str(path), ["the file is empty (not even a header line)"]) from None
    except pd.errors.ParserError as error:
        raise InputError(str(path), [f"not a well-formed CSV file: {error}"]) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.attrs["source"] = str(path)
    frame.attrs["first_line"] = 2
    return frame


class _Checker:
    """Collects problems, each quoting a few offending values and where they are."""

    def __init__(self, frame: pd.DataFrame, default_source: str):
        self.source = frame.attrs.get("source", default_source)
        first_line = frame.attrs.get("first_line")
        self._where: Callable[[int], str] = (
            (lambda i: f"line {i + first_line}") if first_line is not None else (lambda i: f"row {i}")
        )
        self.problems: list[str] = []

    def flag(self, mask: np.ndarray | pd.Series, values: pd.Series, message: str) -> None:
        positions = np.flatnonzero(np.asarray(mask, dtype=bool))
        if len(positions) == 0:
            return
        shown = ", ".join(f"{self._where(i)} ('{values.iloc[i]}')" for i in positions[:_SHOWN_PER_PROBLEM])
        more = len(positions) - _SHOWN_PER_PROBLEM
        self.problems.append(f"{message}: {shown}" + (f" and {more} more" if more > 0 else ""))

    def flag_positions(self, positions: Sequence[int], message: str) -> None:
        where = ", ".join(self._where(i) for i in positions[:_SHOWN_PER_PROBLEM])
        more = len(positions) - _SHOWN_PER_PROBLEM
        self.problems.append(f"{message} ({where}" + (f" and {more} more)" if more > 0 else ")"))

    def add(self, message: str) -> None:
        self.problems.append(message)

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError(self.source, self.problems)


def _text(column: pd.Series) -> pd.Series:
    """Strings with surrounding spaces removed; missing values become the empty string."""
    return column.astype(object).where(column.notna(), "").astype(str).str.strip()


def _numbers(checker: _Checker, column: pd.Series, name: str, *, required: pd.Series | bool) -> pd.Series:
    text = _text(column)
    numbers = pd.to_numeric(text.where(text != "", None), errors="coerce")
    checker.flag((text != "") & numbers.isna(), text, f"column '{name}': not a number")
    checker.flag((text == "") & required, text, f"column '{name}': empty")
    infinite = np.isinf(numbers.astype(float))
    checker.flag(infinite, text, f"column '{name}': not a finite number")
    return numbers.astype(float).mask(infinite)


def _whole_numbers(
    checker: _Checker, column: pd.Series, name: str, *, required: pd.Series | bool, minimum: int | None = None
) -> pd.Series:
    numbers = _numbers(checker, column, name, required=required)
    checker.flag(
        numbers.notna() & (numbers != np.round(numbers)), column, f"column '{name}': not a whole number"
    )
    if minimum is not None:
        checker.flag(numbers < minimum, column, f"column '{name}': below {minimum}")
    return numbers.round().astype("Int64")


def _flags(checker: _Checker, column: pd.Series, name: str, *, allow_empty: bool) -> pd.Series:
    """`true`/`false` (any case) or real booleans; the empty string only where allowed (becomes missing)."""
    if column.dtype == bool:
        return column.astype("boolean")
    text = _text(column).str.lower()
    allowed = {"true", "false"} | ({""} if allow_empty else set())
    checker.flag(~text.isin(allowed), _text(column), f"column '{name}': not true/false")
    return text.map({"true": True, "false": False}).astype("boolean")


def _check_columns(
    checker: _Checker, frame: pd.DataFrame, known: Sequence[str], required: Sequence[str]
) -> None:
    missing = [c for c in required if c not in frame.columns]
    unknown = [c for c in frame.columns if c not in known]
    if missing:
        checker.add(
            f"missing required column(s): {', '.join(missing)} (found: {', '.join(map(str, frame.columns))})"
        )
    if unknown:
        checker.add(
            f"unknown column(s): {', '.join(map(str, unknown))} (the columns are: {', '.join(known)})"
        )
    if frame.columns.duplicated().any():
        checker.add(
            f"repeated column(s): {', '.join(sorted(set(frame.columns[frame.columns.duplicated()])))}"
        )
    checker.raise_if_any()
    if frame.empty:
        checker.add("no rows under the header")
        checker.raise_if_any()


def scale_range_of(scale_range: ScaleRange, scale: str) -> tuple[int, int]:
    if isinstance(scale_range, Mapping):
        return tuple(scale_range[scale])  # type: ignore[return-value]
    return tuple(scale_range)  # type: ignore[return-value]


def validate_ratings(
    ratings: pd.DataFrame,
    *,
    scale_range: ScaleRange = DEFAULT_SCALE_RANGE,
    conditions: Collection[str] | None = None,
    scales: Collection[str] | None = None,
) -> pd.DataFrame:
    """Check a ratings table against the export contract and return it typed, with every column present.

    `scale_range` is (low, high) for every scale or a mapping scale -> (low, high); `conditions` and `scales`,
    when given, are the study's own and any other value is an error (otherwise they are taken from the data).
    Attention-check rows may leave condition, question_id and explanation_chars empty.
    Missing optional columns: participant_status = completed, attention_check = test_response = false.
    """
    checker = _Checker(ratings, "ratings")
    _check_columns(checker, ratings, RATINGS_COLUMNS, REQUIRED_RATINGS_COLUMNS)
    frame = ratings.reset_index(drop=True)
    n = len(frame)

    def column(name: str, default: object = "") -> pd.Series:
        return frame[name] if name in frame.columns else pd.Series([default] * n)

    out = pd.DataFrame(index=frame.index)
    out["attention_check"] = (
        _flags(checker, frame["attention_check"], "attention_check", allow_empty=False)
        if "attention_check" in frame.columns
        else pd.Series(False, index=frame.index, dtype="boolean")
    )
    out["test_response"] = (
        _flags(checker, frame["test_response"], "test_response", allow_empty=False)
        if "test_response" in frame.columns
        else pd.Series(False, index=frame.index, dtype="boolean")
    )
    rated_item = ~out["attention_check"].fillna(False).to_numpy(dtype=bool)

    for name in ("study_id", "participant_id", "scale"):
        out[name] = _text(frame[name])
        checker.flag(out[name] == "", out[name], f"column '{name}': empty")
    for name in ("condition", "question_id"):
        out[name] = _text(frame[name])
        checker.flag((out[name] == "") & rated_item, out[name], f"column '{name}': empty")

    out["position"] = _whole_numbers(checker, frame["position"], "position", required=True, minimum=0)
    out["value"] = _whole_numbers(checker, frame["value"], "value", required=True)
    out["seconds_on_item"] = _numbers(checker, frame["seconds_on_item"], "seconds_on_item", required=False)
    checker.flag(out["seconds_on_item"] < 0, frame["seconds_on_item"], "column 'seconds_on_item': negative")
    out["explanation_chars"] = _whole_numbers(
        checker, frame["explanation_chars"], "explanation_chars", required=pd.Series(rated_item), minimum=0
    )
    out["answer_correct"] = _flags(checker, frame["answer_correct"], "answer_correct", allow_empty=True)
    out["dataset"] = _text(column("dataset"))
    out["method"] = _text(column("method"))
    out["data_variant"] = _text(column("data_variant"))
    out["training_run_id"] = _whole_numbers(
        checker, column("training_run_id"), "training_run_id", required=False
    )
    out["seed"] = _whole_numbers(checker, column("seed"), "seed", required=False)
    out["participant_status"] = (
        _text(frame["participant_status"]) if "participant_status" in frame.columns else "completed"
    )
    checker.flag(
        ~out["participant_status"].isin(PARTICIPANT_STATUSES),
        out["participant_status"],
        f"column 'participant_status': not one of {', '.join(PARTICIPANT_STATUSES)}",
    )
    out["rated_at"] = _text(column("rated_at"))
    out = out[list(RATINGS_COLUMNS)]

    for scale in out["scale"].unique():
        if scale == "":
            continue
        try:
            low, high = scale_range_of(scale_range, scale)
        except KeyError:
            checker.add(f"scale '{scale}' has no range in scale_range (given for: {', '.join(scale_range)})")
            continue
        outside = (out["scale"] == scale) & ((out["value"] < low) | (out["value"] > high)).fillna(False)
        checker.flag(
            outside,
            frame["value"],
            f"column 'value': outside the range {low}-{high} of scale '{scale}' "
            "(if this study's scales use another range, pass scale_range; CLI: --scale-range LOW HIGH)",
        )
    if conditions is not None:
        checker.flag(
            rated_item & ~out["condition"].isin(list(conditions)).to_numpy(),
            out["condition"],
            f"column 'condition': not one of this study's conditions ({', '.join(conditions)})",
        )
    if scales is not None:
        checker.flag(
            (out["scale"] != "") & ~out["scale"].isin(list(scales)),
            out["scale"],
            f"column 'scale': not one of this study's scales ({', '.join(scales)})",
        )
    checker.raise_if_any()

    studies = out["study_id"].unique()
    if len(studies) > 1:
        checker.add(f"ratings from several studies ({', '.join(studies)}): analyse one study at a time")
    statuses = out.groupby("participant_id")["participant_status"].nunique()
    for participant in statuses[statuses > 1].index:
        rows = np.flatnonzero(out["participant_id"] == participant)
        found = ", ".join(sorted(out.loc[rows, "participant_status"].unique()))
        checker.flag_positions(rows, f"participant '{participant}' has several statuses ({found})")
    key = ["participant_id", "condition", "question_id", "scale"]
    duplicated = out[rated_item & out.duplicated(key, keep=False).to_numpy()]
    for (participant, condition, question, scale), group in list(duplicated.groupby(key, sort=False))[:10]:
        checker.flag_positions(
            list(group.index),
            f"duplicate rating: participant '{participant}' rated question '{question}' in condition "
            f"'{condition}' on scale '{scale}' more than once",
        )
    checker.raise_if_any()
    out["value"] = out["value"].astype(int)
    out["position"] = out["position"].astype(int)
    out["attention_check"] = out["attention_check"].astype(bool)
    out["test_response"] = out["test_response"].astype(bool)
    return out


def validate_accuracy(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Check an accuracy table (one row per training run) and return it typed; accuracy is a fraction 0-1."""
    checker = _Checker(accuracy, "accuracy")
    _check_columns(checker, accuracy, ACCURACY_COLUMNS, REQUIRED_ACCURACY_COLUMNS)
    frame = accuracy.reset_index(drop=True)
    out = pd.DataFrame(index=frame.index)
    for name in ("method", "data_variant", "student"):
        out[name] = _text(frame[name])
        checker.flag(out[name] == "", out[name], f"column '{name}': empty")
    out["seed"] = _whole_numbers(checker, frame["seed"], "seed", required=True)
    out["accuracy"] = _numbers(checker, frame["accuracy"], "accuracy", required=True)
    checker.flag(
        (out["accuracy"] > 1) & (out["accuracy"] <= 100),
        frame["accuracy"],
        "column 'accuracy': above 1 (accuracy is a fraction 0-1, not a percentage)",
    )
    checker.flag(
        (out["accuracy"] < 0) | (out["accuracy"] > 100), frame["accuracy"], "column 'accuracy': not in 0-1"
    )
    training_run = (
        frame["training_run_id"] if "training_run_id" in frame.columns else pd.Series([""] * len(frame))
    )
    out["training_run_id"] = _whole_numbers(checker, training_run, "training_run_id", required=False)
    out["dataset"] = _text(frame["dataset"]) if "dataset" in frame.columns else ""
    checker.raise_if_any()
    key = ["method", "data_variant", "student", "seed", "dataset"]
    for values, group in list(out[out.duplicated(key, keep=False)].groupby(key, sort=False))[:10]:
        checker.flag_positions(
            list(group.index),
            "the same method, data variant, student and seed twice: "
            + ", ".join(map(str, values[:4]))
            + (f" (dataset {values[4]})" if values[4] else ""),
        )
    checker.raise_if_any()
    out["seed"] = out["seed"].astype(int)
    return out
