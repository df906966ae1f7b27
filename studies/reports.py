"""A study's analysis report: computed in the background for the results page, or by `manage.py analyze_study`.

    report, started = request_report(study=study, requested_by=user)  # queued; a worker computes it after commit
    compute_report(report_id=report.pk)                               # what the worker runs; safe to run twice

A report is a job like a run (`models_app.job_models.Job`): `compute_report` runs it through the shared lifecycle
(`models_app.jobs`: claim, heartbeat, fail with the error and its traceback's tail), and Celery beat fails the
reports whose worker died (`AnalysisReport.objects.reap_stale()`). A study has at most one report queued or
running (a database constraint). When one succeeds, the older finished reports of the study and their files are
removed, so the page shows the latest report and, while a new one is computed or after it failed, the last good
one.
"""

import io
import logging
import shutil
import zipfile
from collections.abc import Collection
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from django.db import IntegrityError, transaction
from django.utils import timezone

from distill_site.background import start_task
from models_app import jobs

from .analysis import (
    ANALYSED_STATUSES,
    PARTICIPANT_STATUSES,
    InputError,
    Report,
    build_decision_report,
    build_report,
    cell_text,
    shown_rows,
)
from .analysis.ratings_analysis import ALPHA
from .analysis_selectors import AnalysisInputs, analysis_inputs
from .models import AnalysisReport, Study

logger = logging.getLogger(__name__)


def busy_text(report: AnalysisReport) -> str:
    """Why no second report is started while `report` is queued or running."""
    return (
        f"a report of study {report.study_id} is already {report.status} (report {report.pk}, since "
        f"{report.started_at or report.created_at:%Y-%m-%d %H:%M:%S} UTC); wait for it to finish"
    )


def check_options(*, study: Study, reference: str, include_statuses: Collection[str], alpha: float) -> None:
    conditions = list(study.conditions.values_list("name", flat=True))
    if reference and reference not in conditions:
        raise ValueError(
            f"no condition {reference!r} in study {study.pk}; its conditions are: {', '.join(conditions)}"
        )
    unknown = sorted(set(include_statuses) - set(PARTICIPANT_STATUSES))
    if unknown or not include_statuses:
        raise ValueError(
            f"participant statuses to analyse must be among {', '.join(PARTICIPANT_STATUSES)}; got "
            f"{', '.join(unknown) or 'none'}"
        )
    if not 0 < alpha < 1:
        raise ValueError(f"alpha = {alpha}: the significance level must lie between 0 and 1")


def request_report(
    *,
    study: Study,
    include_test_responses: bool = False,
    reference: str = "",
    include_statuses: Collection[str] = ANALYSED_STATUSES,
    alpha: float = ALPHA,
    requested_by=None,
    in_background: bool = True,
) -> tuple[AnalysisReport, bool]:
    """Queue a new report of the study, or return the one already queued or running: (report, created).

    With `in_background`, a Celery worker (or, with no broker, a thread) computes it once the transaction
    commits; otherwise the caller runs `compute_report` itself.
    """
    check_options(study=study, reference=reference, include_statuses=include_statuses, alpha=alpha)
    AnalysisReport.objects.filter(study=study).reap_stale()  # a dead one must not block the next
    try:
        with transaction.atomic():
            report = AnalysisReport.objects.create(
                study=study,
                include_test_responses=include_test_responses,
                include_statuses=list(include_statuses),
                reference=reference,
                alpha=alpha,
                requested_by=requested_by,
            )
    except IntegrityError:  # one is queued or running (the constraint `analysis_report_one_active_per_study`)
        active = AnalysisReport.objects.filter(study=study).active().first()
        if active is None:
            raise
        return active, False
    if in_background:
        from .tasks import compute_report_task

        transaction.on_commit(partial(start_task, compute_report_task, report.pk, queue="default"))
    return report, True


def write_report(
    *,
    study: Study,
    inputs: AnalysisInputs,
    out_dir: Path,
    include_test_responses: bool = False,
    include_statuses: Collection[str] = ANALYSED_STATUSES,
    reference: str = "",
    alpha: float = ALPHA,
) -> Report:
    """Analyse the study's ratings and accuracies into `out_dir`; an `InputError` says why it cannot."""
    size = inputs.sample_size(
        include_test_responses=include_test_responses, include_statuses=include_statuses
    )
    if size.blocking:
        hint = "" if include_test_responses else " (test responses are left out unless included)"
        raise InputError(f"study {study.pk}", [*size.blocking[:-1], size.blocking[-1] + hint])
    if inputs.decisions:
        return build_decision_report(
            inputs.ratings,
            out_dir,
            reference=reference or None,
            include_test_responses=include_test_responses,
            include_statuses=include_statuses,
            alpha=alpha,
            title=f"Decision analysis of study {study.pk}: {study.title}",
        )
    return build_report(
        inputs.ratings,
        inputs.accuracy,
        out_dir,
        reference=reference or None,
        include_test_responses=include_test_responses,
        include_statuses=include_statuses,
        scale_range=inputs.scale_range,
        conditions=inputs.conditions,
        scales=inputs.scales,
        alpha=alpha,
        title=f"Analysis of study {study.pk}: {study.title}",
    )


def compute_report(*, report_id: int) -> str:
    """Claim a queued report and compute it as its next attempt; returns its final status. A report not queued
    is left alone. Whatever raises fails the report at once, with its error and the tail of its traceback."""
    status = jobs.execute(
        AnalysisReport,
        report_id,
        task_id=None,
        handle=_compute,
        load=lambda pk: AnalysisReport.objects.select_related("study").get(pk=pk),
    )
    if status == AnalysisReport.Status.SUCCEEDED:
        _remove_older_reports(AnalysisReport.objects.get(pk=report_id))
    return status


def _compute(report: AnalysisReport, ctx: jobs.JobContext) -> None:
    try:
        shutil.rmtree(report.directory, ignore_errors=True)  # what a worker that died left behind
        inputs = analysis_inputs(study=report.study, include_test_responses=report.include_test_responses)
        result = write_report(
            study=report.study,
            inputs=inputs,
            out_dir=report.directory,
            include_test_responses=report.include_test_responses,
            include_statuses=report.include_statuses,
            reference=report.reference,
            alpha=report.alpha,
        )
    except (InputError, ValueError) as exc:  # a problem with the data: the message says it all
        _remove_folder(report)
        raise jobs.JobFailed(str(exc)) from exc
    except Exception:
        _remove_folder(report)
        raise

    if inputs.decisions:  # rows analysed: decisions, one per participant and item
        analysed = result.tables["decision_measures_per_participant"]
        rows_analysed = int(analysed["items"].sum())
    else:
        analysed = result.ratings.analysed
        rows_analysed = len(analysed)
    with ctx.fenced():
        AnalysisReport.objects.filter(pk=report.pk).update(
            fingerprint=inputs.fingerprint,
            ratings_read=len(inputs.ratings),
            ratings_analysed=rows_analysed,
            participants_analysed=analysed["participant_id"].nunique(),
            summary=list(result.summary.items()),  # a list: JSON objects do not keep their order
            sections=[_section_record(section, result) for section in result.sections],
            notes=inputs.notes,
            files=sorted(path.relative_to(report.directory).as_posix() for path in result.files.values()),
        )


def _section_record(section, result: Report) -> dict:
    return {
        "heading": section.heading,
        "table": section.table,
        "rows": None if section.rows is None else np.flatnonzero(section.rows.to_numpy(dtype=bool)).tolist(),
        "plot": result.files[section.plot].relative_to(result.out_dir).as_posix()
        if section.plot in result.files
        else None,
        "lines": [line for line in section.lines if line],
    }


def _remove_folder(report: AnalysisReport) -> None:
    """Remove what a failed computation wrote, if its folder can be named at all."""
    try:
        shutil.rmtree(report.directory, ignore_errors=True)
    except Exception:  # the folder setting itself is what failed: there is nothing written to remove
        logger.warning("the folder of analysis report %s could not be named", report.pk)


def _remove_older_reports(report: AnalysisReport) -> None:
    older = AnalysisReport.objects.filter(
        study_id=report.study_id,
        status__in=[AnalysisReport.Status.SUCCEEDED, AnalysisReport.Status.FAILED],
        pk__lt=report.pk,
    )
    for old in older:
        shutil.rmtree(old.directory, ignore_errors=True)
    older.delete()


# --- what the results page reads ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportState:
    shown: AnalysisReport | None  # the latest succeeded report
    active: AnalysisReport | None  # queued or running
    failed: AnalysisReport | None  # the latest, when it failed after the shown one


def report_state(*, study: Study) -> ReportState:
    """A read: a report whose worker died is shown failed, as beat will leave it, and no longer blocks the next."""
    reports = list(AnalysisReport.objects.filter(study=study).order_by("-pk")[:20])
    shown = next((r for r in reports if r.status == AnalysisReport.Status.SUCCEEDED), None)
    active = next((r for r in reports if r.status in AnalysisReport.ACTIVE_STATUSES), None)
    if active is not None and (reason := active.stale_text()):
        active.status, active.error, active.finished_at = AnalysisReport.Status.FAILED, reason, timezone.now()
        active = None
    latest_finished = next((r for r in reports if r.status not in AnalysisReport.ACTIVE_STATUSES), None)
    failed = (
        latest_finished
        if latest_finished and latest_finished.status == AnalysisReport.Status.FAILED
        else None
    )
    return ReportState(shown=shown, active=active, failed=failed)


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool  # right-aligned


@dataclass(frozen=True)
class TableView:
    name: str  # the CSV's name under tables/, without .csv
    header: list[Cell]
    rows: list[list[Cell]]


@dataclass(frozen=True)
class SectionView:
    heading: str
    plot: str | None  # file name within the report
    table: TableView | None
    lines: list[str]
    fold_lines: bool  # many lines under a table: listed behind a disclosure, as in report.html


def _table_view(report: AnalysisReport, name: str, rows: list[int] | None) -> TableView:
    try:
        frame = pd.read_csv(report.directory / "tables" / f"{name}.csv")
    except pd.errors.EmptyDataError:  # an empty table (e.g. no ANOVA) is written without a header
        frame = pd.DataFrame()
    if rows is not None:
        frame = frame.iloc[rows]
    frame = shown_rows(frame, None)
    numeric = [
        pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        for c in frame.columns
    ]
    return TableView(
        name=name,
        header=[Cell(c, n) for c, n in zip(frame.columns, numeric, strict=True)],
        rows=[
            [Cell(cell_text(v, c), n) for v, c, n in zip(row, frame.columns, numeric, strict=True)]
            for row in frame.itertuples(index=False)
        ],
    )


def report_sections(report: AnalysisReport) -> list[SectionView]:
    """The stored report's sections, their tables read back from its CSV files and formatted as the report does."""
    views = []
    for section in report.sections:
        table = _table_view(report, section["table"], section["rows"]) if section["table"] else None
        views.append(
            SectionView(
                heading=section["heading"],
                plot=section["plot"],
                table=table,
                lines=section["lines"],
                fold_lines=table is not None and len(section["lines"]) > 3,
            )
        )
    return views


def report_file(report: AnalysisReport, name: str) -> Path | None:
    """The report's file called `name` (a path relative to its folder), or None: only files it wrote are served."""
    if name not in report.files:
        return None
    path = report.directory / name
    return path if path.is_file() else None


def report_zip(report: AnalysisReport) -> bytes:
    """Every file of the report in one zip, under a folder named after the study and report."""
    folder = f"study-{report.study_id}-report-{report.pk}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in report.files:
            path = report_file(report, name)
            if path is not None:
                archive.write(path, f"{folder}/{name}")
    return buffer.getvalue()
