"""Jobs run on a real Celery worker through the broker, and their run rows tell the truth."""

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from models_app import jobs, services
from models_app.models import Run
from tests.conftest import wait_for
from tests.models_app.factories import make_generation_run


def status_of(run: Run) -> str:
    return Run.objects.values_list("status", flat=True).get(pk=run.pk)


@pytest.mark.django_db(transaction=True)
def test_worker_takes_job_through_broker_and_records_progress(celery_worker, monkeypatch):
    seen = {}

    def handler(run, ctx):
        seen["status_while_running"] = status_of(run)
        seen["thread"] = threading.current_thread().name
        for done in range(1, 6):
            ctx.progress(done, 5)
            ctx.log(f"item {done} of 5")

    monkeypatch.setitem(jobs._HANDLERS, Run.Kind.GENERATION, handler)
    run = make_generation_run()
    assert status_of(run) == Run.Status.QUEUED
    services.launch_run(run=run)

    wait_for(lambda: status_of(run) in Run.FINISHED_STATUSES, what="the run to finish")
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert seen["status_while_running"] == Run.Status.RUNNING
    assert (run.progress_done, run.progress_total) == (5, 5)
    assert run.started_at and run.finished_at and run.finished_at >= run.started_at
    assert "item 5 of 5" in run.log_tail
    assert run.task_id


@pytest.mark.django_db(transaction=True)
def test_job_that_raises_leaves_run_failed_with_its_error(celery_worker, monkeypatch):
    def handler(run, ctx):
        ctx.progress(1, 3)
        raise ValueError("the teacher server answered 500 three times")

    monkeypatch.setitem(jobs._HANDLERS, Run.Kind.GENERATION, handler)
    run = services.launch_run(run=make_generation_run())

    wait_for(lambda: status_of(run) in Run.FINISHED_STATUSES, what="the run to finish")
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert "ValueError: the teacher server answered 500 three times" in run.error
    assert run.progress_done == 1 and run.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_cancelled_run_stops(celery_worker, monkeypatch):
    stopped = threading.Event()

    def handler(run, ctx):
        try:
            for done in range(1, 10_000):
                ctx.progress(done, 10_000)
                time.sleep(0.01)
        finally:
            stopped.set()

    monkeypatch.setattr(jobs, "PROGRESS_WRITE_INTERVAL", 0.05)
    monkeypatch.setitem(jobs._HANDLERS, Run.Kind.GENERATION, handler)
    run = services.launch_run(run=make_generation_run())
    wait_for(lambda: Run.objects.filter(pk=run.pk, progress_done__gt=0).exists(), what="the job to start")

    assert services.cancel_run(run=run)
    assert stopped.wait(10), "the handler kept running after cancel"
    wait_for(
        lambda: "stopped: the run was cancelled" in Run.objects.get(pk=run.pk).log_tail, what="the final log"
    )
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED
    assert 0 < run.progress_done < 10_000


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_queued_run_means_it_never_starts(monkeypatch):
    called = []
    monkeypatch.setitem(jobs._HANDLERS, Run.Kind.GENERATION, lambda run, ctx: called.append(run.pk))
    run = make_generation_run()
    assert services.cancel_run(run=run)
    assert services.execute_run(run_id=run.pk) == Run.Status.CANCELLED
    assert called == []


@pytest.mark.django_db
def test_run_with_stale_heartbeat_is_marked_failed():
    now = timezone.now()
    dead = make_generation_run(
        status=Run.Status.RUNNING,
        started_at=now - timedelta(hours=1),
        heartbeat_at=now - timedelta(minutes=20),
    )
    alive = make_generation_run(
        status=Run.Status.RUNNING, started_at=now - timedelta(hours=1), heartbeat_at=now
    )

    assert services.fail_stale_runs(timeout_seconds=300) == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert dead.status == Run.Status.FAILED
    assert "stopped sending heartbeats" in dead.error and dead.finished_at
    assert alive.status == Run.Status.RUNNING


@pytest.mark.django_db(transaction=True)
def test_running_a_finished_run_again_does_nothing(monkeypatch):
    calls = []
    monkeypatch.setitem(jobs._HANDLERS, Run.Kind.GENERATION, lambda run, ctx: calls.append(run.pk))
    run = make_generation_run()
    assert services.execute_run(run_id=run.pk) == Run.Status.SUCCEEDED
    assert services.execute_run(run_id=run.pk) == Run.Status.SUCCEEDED
    assert calls == [run.pk]


@pytest.mark.django_db(transaction=True)
def test_heartbeat_keeps_a_slow_step_alive_and_notices_cancel(monkeypatch, settings):
    settings.RUN_HEARTBEAT_INTERVAL = 0.1
    beats = []

    def handler(run, ctx):
        first = Run.objects.get(pk=run.pk).heartbeat_at
        time.sleep(0.5)  # one slow step with no progress report
        beats.append(Run.objects.get(pk=run.pk).heartbeat_at > first)
        services.cancel_run(run=run)
        time.sleep(0.3)
        ctx.check_cancelled()

    monkeypatch.setitem(jobs._HANDLERS, Run.Kind.GENERATION, handler)
    run = make_generation_run()
    assert services.execute_run(run_id=run.pk) == Run.Status.CANCELLED
    assert beats == [True]


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_jobs_run_in_process(monkeypatch, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    monkeypatch.setitem(jobs._HANDLERS, Run.Kind.GENERATION, lambda run, ctx: ctx.progress(2, 2))
    run = services.launch_run(run=make_generation_run())
    wait_for(lambda: status_of(run) == Run.Status.SUCCEEDED, what="the in-process run to succeed")


@pytest.mark.django_db(transaction=True)
def test_kind_without_handler_fails_with_clear_error(monkeypatch):
    monkeypatch.delitem(jobs._HANDLERS, Run.Kind.GENERATION, raising=False)
    run = make_generation_run()
    services.execute_run(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert "no job handler is registered for runs of kind 'generation'" in run.error
