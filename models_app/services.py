"""Writes that span rows: launching, running, cancelling and reaping jobs."""

import logging
import threading
import traceback
import uuid
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .jobs import JobCancelled, JobContext, run_handler
from .models import Run

logger = logging.getLogger(__name__)

ERROR_TEXT_LIMIT = 20_000


def launch_run(*, run: Run) -> Run:
    """Queue a saved run for a worker (or an in-process thread when no broker is configured)."""
    run.status = Run.Status.QUEUED
    run.task_id = str(uuid.uuid4())
    run.error = ""
    run.started_at = run.finished_at = run.heartbeat_at = None
    run.save(update_fields=["status", "task_id", "error", "started_at", "finished_at", "heartbeat_at"])
    transaction.on_commit(partial(_dispatch, run_id=run.pk, queue=run.queue, task_id=run.task_id))
    return run


def relaunch_run(*, run: Run) -> Run:
    """Queue a failed or cancelled run again; its handler resumes from what is already stored."""
    if run.status in Run.ACTIVE_STATUSES:
        raise ValueError(f"run {run.pk} is {run.status}; only finished runs can be launched again")
    return launch_run(run=run)


def _dispatch(*, run_id: int, queue: str, task_id: str) -> None:
    from .tasks import execute_run_task

    if settings.CELERY_TASK_ALWAYS_EAGER:
        # No broker: run beside the web server, so that the request that launched it returns at once.
        thread = threading.Thread(
            target=_execute_in_thread, args=(run_id,), name=f"run-{run_id}", daemon=True
        )
        thread.start()
    else:
        execute_run_task.apply_async(args=[run_id], queue=queue, task_id=task_id)


def _execute_in_thread(run_id: int) -> None:
    try:
        execute_run(run_id=run_id)
    finally:
        connection.close()


def execute_run(*, run_id: int) -> str:
    """Claim a queued run and run its handler. Safe to call twice: a run that is not queued is left alone."""
    now = timezone.now()
    claimed = Run.objects.filter(pk=run_id, status=Run.Status.QUEUED).update(
        status=Run.Status.RUNNING, started_at=now, heartbeat_at=now, finished_at=None, error=""
    )
    if not claimed:
        status = Run.objects.filter(pk=run_id).values_list("status", flat=True).first()
        logger.info("run %s not started: it is %s", run_id, status or "missing")
        return status or "missing"

    ctx = JobContext(run_id)
    try:
        run = concrete_run(run_id)
        ctx.log(f"started {run.kind} run {run_id}")
        run_handler(run, ctx)
    except JobCancelled:
        ctx.log("stopped: the run was cancelled")
        Run.objects.filter(pk=run_id).update(finished_at=timezone.now(), **ctx.final_fields())
        return Run.Status.CANCELLED
    except Exception as exc:
        logger.exception("run %s failed", run_id)
        ctx.log(f"failed: {type(exc).__name__}: {exc}")
        _finish(run_id, Run.Status.FAILED, ctx, error=_error_text(exc))
        return Run.Status.FAILED
    ctx.log("succeeded")
    _finish(run_id, Run.Status.SUCCEEDED, ctx)
    return Run.Status.SUCCEEDED


def _finish(run_id: int, status: str, ctx: JobContext, error: str = "") -> None:
    Run.objects.filter(pk=run_id, status=Run.Status.RUNNING).update(
        status=status,
        error=error,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        **ctx.final_fields(),
    )


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}\n\n" + "".join(traceback.format_exception(exc))
    return text[-ERROR_TEXT_LIMIT:]


def concrete_run(run_id: int) -> Run:
    """The run as its own kind (GenerationRun, TrainingRun, InferenceRun)."""
    from .models import GenerationRun, InferenceRun, TrainingRun

    run = Run.objects.get(pk=run_id)
    model = {
        Run.Kind.GENERATION: GenerationRun,
        Run.Kind.TRAINING: TrainingRun,
        Run.Kind.INFERENCE: InferenceRun,
    }[run.kind]
    return model.objects.get(pk=run_id)


def cancel_run(*, run: Run) -> bool:
    """Cancel a queued or running run. A running job stops at its next progress report or heartbeat."""
    return bool(
        Run.objects.filter(pk=run.pk, status__in=Run.ACTIVE_STATUSES).update(
            status=Run.Status.CANCELLED, finished_at=timezone.now()
        )
    )


def fail_stale_runs(*, timeout_seconds: int | None = None) -> int:
    """Mark `running` runs whose heartbeat stopped as failed: their worker died."""
    timeout_seconds = settings.RUN_HEARTBEAT_TIMEOUT if timeout_seconds is None else timeout_seconds
    cutoff = timezone.now() - timedelta(seconds=timeout_seconds)
    reaped = 0
    for run in Run.objects.filter(status=Run.Status.RUNNING, heartbeat_at__lt=cutoff):
        reason = (
            f"The worker stopped sending heartbeats: the last one was at {run.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC, "
            f"more than {timeout_seconds} s ago. It probably died (killed, out of memory, machine lost). "
            "Launch the run again to resume it."
        )
        reaped += Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING, heartbeat_at__lt=cutoff).update(
            status=Run.Status.FAILED, error=reason, finished_at=timezone.now()
        )
    if reaped:
        logger.warning("marked %d stale run(s) failed", reaped)
    return reaped
