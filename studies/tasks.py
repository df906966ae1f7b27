"""Celery tasks: thin wrappers that take ids and call services."""

from celery import shared_task

from . import participation, reports
from .models import AnalysisReport


@shared_task(name="studies.tasks.compute_report")
def compute_report_task(report_id: int) -> str:
    return reports.compute_report(report_id=report_id)


@shared_task(name="studies.tasks.release_abandoned_participants")
def release_abandoned_participants_task() -> int:
    return participation.release_all_abandoned_participants()


@shared_task(name="studies.tasks.fail_stale_reports")
def fail_stale_reports_task() -> int:
    """Fail the reports whose worker died or that no worker started (Celery beat, like stale runs)."""
    return AnalysisReport.objects.reap_stale()
