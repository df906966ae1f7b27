"""The study's CSV files, the same from the staff page, the API and `manage.py export_study`.

A rating study: `ratings.csv` (one row per rating and scale), `participants.csv`, `items.csv` and
`comments.csv`. A decision study: `decisions.csv` (one row per participant and item), `participants.csv` and
`items.csv`. Test responses are left out unless `include_test_responses`.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

from distill_site import web

from . import selectors
from .analysis.decisions_format import DECISION_COLUMNS
from .analysis.ratings_format import RATINGS_COLUMNS
from .models import Study


@dataclass(frozen=True)
class ExportFile:
    filename: str
    columns: Callable[[Study], Iterable[str]]
    rows: Callable[..., Iterator[dict[str, str]]]


EXPORT_FILES = {
    "ratings": ExportFile("ratings.csv", lambda study: RATINGS_COLUMNS, selectors.rating_rows),
    "participants": ExportFile("participants.csv", selectors.participant_columns, selectors.participant_rows),
    "items": ExportFile("items.csv", lambda study: selectors.ITEM_COLUMNS, selectors.item_rows),
    "comments": ExportFile("comments.csv", lambda study: selectors.COMMENT_COLUMNS, selectors.comment_rows),
}


DECISION_EXPORT_FILES = {
    "decisions": ExportFile("decisions.csv", lambda study: DECISION_COLUMNS, selectors.decision_rows),
    "participants": EXPORT_FILES["participants"],
    "items": EXPORT_FILES["items"],
}


def export_files(study: Study) -> dict[str, ExportFile]:
    """The files a study of this kind exports, by name."""
    return DECISION_EXPORT_FILES if study.is_decision else EXPORT_FILES


def csv_lines(*, study: Study, kind: str, include_test_responses: bool = False) -> Iterator[str]:
    """The lines of one export file, header first (`KeyError` for a file this kind of study has not)."""
    export = export_files(study)[kind]
    columns = list(export.columns(study))
    rows = export.rows(study=study, include_test_responses=include_test_responses)
    yield from web.csv_lines(chain([columns], ([row[column] for column in columns] for row in rows)))


def write_study_export(*, study: Study, directory: Path, include_test_responses: bool = False) -> list[Path]:
    """Write every export file of the study into `directory` (created if missing); returns their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, export in export_files(study).items():
        path = directory / export.filename
        with path.open("w", encoding="utf-8", newline="") as handle:
            handle.writelines(
                csv_lines(study=study, kind=kind, include_test_responses=include_test_responses)
            )
        written.append(path)
    return written
