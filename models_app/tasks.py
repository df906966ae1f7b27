"""Celery tasks: thin wrappers that take ids and call services."""

from celery import shared_task

from . import services


@shared_task(name="models_app.tasks.execute_run")
def execute_run_task(run_id: int) -> str:
    return services.execute_run(run_id=run_id)


@shared_task(name="models_app.tasks.fail_stale_runs")
def fail_stale_runs_task() -> int:
    return services.fail_stale_runs()
