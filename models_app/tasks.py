"""Celery tasks: thin wrappers that take ids and call services."""

from celery import shared_task

from . import services


@shared_task(bind=True, name="models_app.tasks.execute_run")
def execute_run_task(self, run_id: int) -> str:
    # The task's own id: a run is claimed only by the task it was queued for (a redelivered message of an
    # earlier launch leaves it alone). Run in a thread (no broker) it has none, and claims whatever is queued.
    return services.execute_run(run_id=run_id, task_id=self.request.id)


@shared_task(name="models_app.tasks.fail_stale_runs")
def fail_stale_runs_task() -> int:
    return services.fail_stale_runs()
