"""Writes that span rows: creating, launching, running, cancelling and reaping jobs."""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from distill_site.background import start_task

from . import jobs
from .models import Run, TrainingRun
from .run_settings import ValidatedGrid, ValidatedRun

logger = logging.getLogger(__name__)


def create_run(
    *, validated: ValidatedRun, created_by: AbstractBaseUser | None = None, launch: bool = True
) -> Run:
    """Save a new generation, training or inference run; launch it, or leave it `created`.

    Its settings are not checked again: `run_settings.validate_run` checked them where they entered.
    """
    if not isinstance(validated, ValidatedRun):
        raise TypeError(f"create_run saves a run_settings.ValidatedRun, not a {type(validated).__name__}")
    return _save_new_run(validated=validated, created_by=created_by, launch=launch)


@transaction.atomic
def _save_new_run(*, validated: ValidatedRun, created_by: AbstractBaseUser | None, launch: bool) -> Run:
    run = validated.run
    run.status = Run.Status.CREATED
    run.created_by = created_by
    run.save()
    if isinstance(run, TrainingRun):
        run.generation_runs.set(validated.generation_runs)
    if launch:
        launch_run(run=run)
    return run


@dataclass(frozen=True)
class GridLaunch:
    created: list[TrainingRun]
    existing: list[TrainingRun]  # runs with the same settings made before, left as they are


def launch_training_grid(
    *, grid: ValidatedGrid, created_by: AbstractBaseUser | None = None, launch: bool = True
) -> GridLaunch:
    """One training run per student × method × data variant × seed: the paper's experiment in one go.

    A cell that already has a run with the same settings (dataset, student, method, variant, seed,
    hyperparameters, generation runs) is not created again, so launching the same grid twice is harmless.
    """
    if not isinstance(grid, ValidatedGrid):
        raise TypeError(
            f"launch_training_grid takes a run_settings.ValidatedGrid, not a {type(grid).__name__}"
        )
    generation_ids = {run.pk for run in grid.generation_runs}
    previous = [
        run
        for run in TrainingRun.objects.filter(
            dataset=grid.dataset, student__in=grid.students, hyperparameters=grid.hyperparameters
        ).prefetch_related("generation_runs")
        if {g.pk for g in run.generation_runs.all()} == generation_ids
    ]
    by_cell = {(r.student, r.method, r.data_variant, r.seed): r for r in sorted(previous, key=lambda r: r.pk)}
    created, existing = [], []
    with transaction.atomic():
        for cell in grid.cells():
            if cell in by_cell:
                existing.append(by_cell[cell])
                continue
            created.append(_save_new_run(validated=grid.run(*cell), created_by=created_by, launch=launch))
    return GridLaunch(created=created, existing=existing)


def launch_run(*, run: Run) -> Run:
    """Queue a saved run for a worker (or an in-process thread when no broker is configured)."""
    _mark_queued(run, task_id=str(uuid.uuid4()))
    transaction.on_commit(partial(_dispatch, run_id=run.pk, queue=run.queue, task_id=run.task_id))
    return run


def _mark_queued(run: Run, *, task_id: str) -> None:
    """The run waits to be claimed by `execute_run` (by the task `task_id` only). Its error, log and attempts
    stay: they are the history of its earlier attempts. A previous attempt still stopping is waited for."""
    run.status = Run.Status.QUEUED
    run.task_id = task_id
    run.finished_at = None
    run.save(update_fields=["status", "task_id", "finished_at"])


def launch_created_run(*, run: Run) -> Run:
    """Launch a run that was created without being launched."""
    if run.status != Run.Status.CREATED:
        raise ValueError(
            f"run {run.pk} is {run.status}, not waiting to be launched; resume finished runs instead"
        )
    return launch_run(run=run)


def relaunch_run(*, run: Run) -> Run:
    """Queue a failed or cancelled run again; its handler resumes from what is already stored."""
    if run.status in Run.ACTIVE_STATUSES:
        raise ValueError(f"run {run.pk} is {run.status}; only finished runs can be launched again")
    return launch_run(run=run)


def _dispatch(*, run_id: int, queue: str, task_id: str) -> None:
    from .tasks import execute_run_task

    start_task(execute_run_task, run_id, queue=queue, task_id=task_id)


def run_in_process(*, run: Run, echo: Callable[[str], None] | None = None) -> str:
    """Queue a saved run and execute it here, in the calling thread, instead of on a worker; returns its final
    status. Every log line also goes to `echo`, so a command can show the run's progress as it happens."""
    if run.status in Run.ACTIVE_STATUSES:
        raise ValueError(f"run {run.pk} is {run.status} already; wait for it or cancel it")
    task_id = f"in-process-{uuid.uuid4()}"
    _mark_queued(run, task_id=task_id)
    return execute_run(run_id=run.pk, task_id=task_id, echo=echo)


def execute_run(*, run_id: int, task_id: str | None = None, echo: Callable[[str], None] | None = None) -> str:
    """Claim a queued run and run its handler as the run's next attempt (see `jobs.execute`). Safe to call
    twice: a run that is not queued (for `task_id`, when given) is left alone."""
    return jobs.execute(Run, run_id, task_id=task_id, handle=jobs.run_by_kind, load=concrete_run, echo=echo)


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
    """Cancel a created, queued or running run. A running job stops at its next progress report or heartbeat;
    until its attempt has ended the run shows as stopping, and a relaunch waits for it."""
    return bool(Run.objects.filter(pk=run.pk).cancel())


def fail_stale_runs(*, timeout_seconds: int | None = None) -> int:
    """Declare attempts whose heartbeat stopped dead and mark their runs failed: their worker died."""
    return Run.objects.reap_stale(timeout_seconds=timeout_seconds)
