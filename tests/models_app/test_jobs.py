"""Jobs run on a real Celery worker through the broker, and their run rows tell the truth."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from models_app import jobs, selectors, services
from models_app.models import Run, RunAttempt
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


# --- Issue 18: attempts, fenced --------------------------------------------------------------------------


@pytest.fixture
def run_here(monkeypatch):
    """Launches queue the run without sending a task: the test executes it itself, as a worker would."""
    sent = []
    monkeypatch.setattr(services, "_dispatch", lambda **kwargs: sent.append(kwargs))
    return sent


def attempts_of(run: Run) -> list[RunAttempt]:
    return list(RunAttempt.objects.filter(run=run).order_by("number"))


def in_thread(target, *args, **kwargs) -> tuple[threading.Thread, list]:
    result = []

    def body():
        try:
            result.append(target(*args, **kwargs))
        finally:
            connection.close()

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread, result


def steady_handler(steps: int, seen: list, delay: float = 0.02):
    """A handler reporting `steps` steps, recording (attempt, step) for each one it got through."""

    def handler(run, ctx):
        for done in range(1, steps + 1):
            time.sleep(delay)
            ctx.progress(done, steps)
            seen.append((ctx.number, done))

    return handler


@pytest.mark.django_db(transaction=True)
def test_a_relaunch_right_after_cancel_waits_until_the_previous_attempt_has_stopped(monkeypatch, run_here):
    monkeypatch.setattr(jobs, "PROGRESS_WRITE_INTERVAL", 0)
    monkeypatch.setattr(jobs, "CLAIM_POLL_SECONDS", 0.05)
    seen = []
    release = threading.Event()

    def handler(run, ctx):
        if ctx.number == 1:
            ctx.progress(1, 10)
            release.wait(10)  # a long step: the cancel lands while it runs
            seen.append((1, "noticed"))
            ctx.progress(2, 10)  # raises JobCancelled
        steady_handler(10, seen, delay=0)(run, ctx)

    monkeypatch.setitem(jobs._HANDLERS, Run.Kind.GENERATION, handler)
    run = make_generation_run(status=Run.Status.QUEUED, task_id="first")
    first, first_result = in_thread(services.execute_run, run_id=run.pk, task_id="first")
    wait_for(lambda: Run.objects.filter(pk=run.pk, progress_done=1).exists(), what="attempt 1 to start")

    assert services.cancel_run(run=run)
    run.refresh_from_db()
    services.relaunch_run(run=run)  # right away, while attempt 1 is still in its step
    assert selectors.run_state(run=Run.objects.get(pk=run.pk)) == "stopping"
    second, second_result = in_thread(services.execute_run, run_id=run.pk, task_id=run.task_id)
    time.sleep(0.3)
    assert [a.number for a in attempts_of(run)] == [1], "attempt 2 claimed the run while attempt 1 was live"
    assert status_of(run) == Run.Status.QUEUED

    release.set()
    first.join(10)
    second.join(10)
    assert len(first_result) == 1 and first_result != ["superseded"]
    assert second_result == [Run.Status.SUCCEEDED]
    one, two = attempts_of(run)
    assert (one.outcome, two.outcome) == (RunAttempt.Outcome.CANCELLED, RunAttempt.Outcome.SUCCEEDED)
    assert two.started_at >= one.finished_at  # one attempt at a time
    assert (1, "noticed") in seen and all(number == 2 for number, _ in seen[seen.index((1, "noticed")) + 1 :])
    assert "stopped: the run was cancelled" in one.log_tail and "succeeded" in two.log_tail
    assert one.host and one.pid and two.task_id == run.task_id


@pytest.mark.django_db(transaction=True)
def test_a_redelivered_message_of_an_earlier_launch_does_not_claim_the_relaunched_run(monkeypatch):
    seen = []
    monkeypatch.setitem(jobs._HANDLERS, Run.Kind.GENERATION, steady_handler(2, seen, delay=0))
    run = make_generation_run(status=Run.Status.QUEUED, task_id="relaunch")
    assert services.execute_run(run_id=run.pk, task_id="dead-job") == Run.Status.QUEUED
    assert seen == [] and attempts_of(run) == []
    assert services.execute_run(run_id=run.pk, task_id="relaunch") == Run.Status.SUCCEEDED
    assert [a.task_id for a in attempts_of(run)] == ["relaunch"]


@pytest.mark.django_db(transaction=True)
def test_an_attempt_declared_dead_while_alive_is_superseded_and_writes_nothing_more(monkeypatch, run_here):
    monkeypatch.setattr(jobs, "PROGRESS_WRITE_INTERVAL", 0)
    stall = threading.Event()
    stored = []

    def handler(run, ctx):
        if ctx.number == 1:
            ctx.progress(1, 4)
            stall.wait(10)  # stalled (swapping, a paused VM): no heartbeat reaches the database
            with ctx.fenced():
                stored.append("attempt 1 stored after its stall")
            return
        for done in range(1, 5):
            ctx.progress(done, 4)
        with ctx.fenced():
            stored.append("attempt 2")

    monkeypatch.setitem(jobs._HANDLERS, Run.Kind.GENERATION, handler)
    run = make_generation_run(status=Run.Status.QUEUED, task_id="a")
    zombie, zombie_result = in_thread(services.execute_run, run_id=run.pk, task_id="a")
    wait_for(lambda: Run.objects.filter(pk=run.pk, progress_done=1).exists(), what="attempt 1 to start")
    RunAttempt.objects.filter(run=run).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    Run.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))

    assert services.fail_stale_runs(timeout_seconds=60) == 1
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED and "stopped sending heartbeats" in run.error
    services.relaunch_run(run=run)
    assert services.execute_run(run_id=run.pk, task_id=run.task_id) == Run.Status.SUCCEEDED

    stall.set()
    zombie.join(10)
    assert zombie_result == ["superseded"] and stored == ["attempt 2"]
    run.refresh_from_db()
    one, two = attempts_of(run)
    assert (one.outcome, two.outcome) == (RunAttempt.Outcome.DIED, RunAttempt.Outcome.SUCCEEDED)
    assert "stopped sending heartbeats" in one.error and run.attempt == 2
    assert one.progress_to == 1  # as far as the run's row had it when the attempt was declared dead
    assert (run.status, run.progress_done) == (Run.Status.SUCCEEDED, 4)


@pytest.mark.django_db(transaction=True)
def test_history_is_kept_across_attempts(monkeypatch, run_here):
    calls = []

    def handler(run, ctx):
        calls.append(ctx.number)
        ctx.progress(2 * ctx.number, 4)
        if ctx.number == 1:
            raise ValueError("the teacher server answered 500")

    monkeypatch.setitem(jobs._HANDLERS, Run.Kind.GENERATION, handler)
    run = make_generation_run(status=Run.Status.CREATED)
    assert services.run_in_process(run=run) == Run.Status.FAILED
    run.refresh_from_db()
    services.relaunch_run(run=run)
    run.refresh_from_db()
    assert "the teacher server answered 500" in run.error  # a relaunch keeps the last error until it ends
    assert services.execute_run(run_id=run.pk, task_id=run.task_id) == Run.Status.SUCCEEDED
    run.refresh_from_db()
    assert run.error == "" and calls == [1, 2]
    one, two = attempts_of(run)
    assert "ValueError: the teacher server answered 500" in one.error and two.error == ""
    assert "failed: ValueError" in one.log_tail and "failed: ValueError" not in two.log_tail
    assert "failed: ValueError" in run.log_tail and run.log_tail.rstrip().endswith("succeeded")
    assert (one.progress_from, one.progress_to, two.progress_from, two.progress_to) == (0, 2, 2, 4)
    totals = selectors.attempt_totals(run=run)
    assert totals.steps == 4 and totals.wall_seconds == pytest.approx(one.wall_seconds + two.wall_seconds)


def test_heartbeat_defaults_notice_a_dead_worker_within_about_a_minute():
    from django.conf import settings as site

    assert (site.RUN_HEARTBEAT_INTERVAL, site.RUN_HEARTBEAT_TIMEOUT) == (10, 60)
    schedule = site.CELERY_BEAT_SCHEDULE["fail-stale-runs"]
    assert schedule["task"] == "models_app.tasks.fail_stale_runs"
    assert schedule["schedule"] <= site.RUN_HEARTBEAT_INTERVAL


@pytest.mark.django_db(transaction=True)
def test_the_admin_and_the_api_list_each_attempt_with_its_error_and_log(monkeypatch, run_here, staff_client):
    def handler(run, ctx):
        ctx.progress(ctx.number, 2)
        ctx.log(f"log line of attempt {ctx.number}")
        if ctx.number == 1:
            raise jobs.JobFailed("the teacher server refused the connection")

    monkeypatch.setitem(jobs._HANDLERS, Run.Kind.GENERATION, handler)
    run = make_generation_run(status=Run.Status.CREATED)
    services.run_in_process(run=run)
    run.refresh_from_db()
    services.run_in_process(run=run)

    page = staff_client.get(f"/admin/models_app/generationrun/{run.pk}/change/").content.decode()
    assert "ttempts (each execution of the run)" in page
    assert "the teacher server refused the connection" in page
    assert "log line of attempt 1" in page and "log line of attempt 2" in page
    assert "2 attempt(s)" in page

    body = staff_client.get(f"/api/generation-runs/{run.pk}/").json()
    assert (body["status"], body["state"], body["attempt"]) == ("succeeded", "succeeded", 2)
    one, two = body["attempts"]
    assert (one["number"], one["outcome"], two["outcome"]) == (1, "failed", "succeeded")
    assert one["error"] == "the teacher server refused the connection" and two["error"] == ""
    assert "log line of attempt 1" in one["log_tail"] and "log line of attempt 1" not in two["log_tail"]
    assert one["host"] and one["pid"] and one["wall_seconds"] >= 0
    assert body["total_progress"] == 2 and body["total_wall_seconds"] >= 0
    assert staff_client.get(f"/api/runs/{run.pk}/").json()["attempts"][0]["outcome"] == "failed"


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_run_whose_attempt_is_still_alive_shows_as_stopping(monkeypatch, run_here, staff_client):
    monkeypatch.setattr(jobs, "PROGRESS_WRITE_INTERVAL", 0)
    release = threading.Event()

    def handler(run, ctx):
        ctx.progress(1, 3)
        release.wait(10)
        ctx.progress(2, 3)

    monkeypatch.setitem(jobs._HANDLERS, Run.Kind.GENERATION, handler)
    run = make_generation_run(status=Run.Status.QUEUED, task_id="t")
    thread, _ = in_thread(services.execute_run, run_id=run.pk, task_id="t")
    wait_for(lambda: Run.objects.filter(pk=run.pk, progress_done=1).exists(), what="the attempt to start")
    services.cancel_run(run=run)
    try:
        listing = staff_client.get("/admin/models_app/generationrun/").content.decode()
        assert "run-stopping" in listing and "waiting for attempt 1 to stop" in listing
        assert staff_client.get(f"/api/generation-runs/{run.pk}/").json()["state"] == "stopping"
    finally:
        release.set()
        thread.join(10)
    assert staff_client.get(f"/api/generation-runs/{run.pk}/").json()["state"] == "cancelled"


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_foreground_run_ends_its_attempt_at_once_and_resumes_without_waiting(monkeypatch):
    def handler(run, ctx):
        ctx.progress(1, 2)
        if ctx.number == 1:
            raise KeyboardInterrupt  # Ctrl-C in `manage.py demo`
        ctx.progress(2, 2)

    monkeypatch.setitem(jobs._HANDLERS, Run.Kind.GENERATION, handler)
    run = make_generation_run(status=Run.Status.CREATED)
    with pytest.raises(KeyboardInterrupt):
        services.run_in_process(run=run)
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED
    assert [a.outcome for a in attempts_of(run)] == [RunAttempt.Outcome.CANCELLED]
    started = time.monotonic()
    assert services.run_in_process(run=run) == Run.Status.SUCCEEDED
    assert time.monotonic() - started < 5  # no wait for a heartbeat timeout
