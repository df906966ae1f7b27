"""Celery tasks: thin wrappers that take ids and call services."""

from celery import shared_task

from . import reports


@shared_task(name="studies.tasks.compute_report")
def compute_report_task(report_id: int) -> str:
    return reports.compute_report(report_id=report_id)
