"""Celery tasks: thin wrappers that take ids and call services."""

from celery import shared_task

from . import participation, reports


@shared_task(name="studies.tasks.compute_report")
def compute_report_task(report_id: int) -> str:
    return reports.compute_report(report_id=report_id)


@shared_task(name="studies.tasks.release_abandoned_participants")
def release_abandoned_participants_task() -> int:
    return participation.release_all_abandoned_participants()
