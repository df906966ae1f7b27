"""Issue 18 on real Celery workers: two worker processes (`-Q default,gpu --concurrency 1`, prefork) on the
test database and the configured Redis, as in production.

- Cancel, then Resume at once, while one worker trains: the other worker's attempt waits until the first has
  stopped (within one step), then resumes from the checkpoint the first wrote; one attempt trains at a time.
- A worker's pool child is killed (`kill -9`) during a generation, after the teacher answered but before the
  answers were stored; Cancel and Resume at once: the relaunch waits until the dead attempt is declared dead by
  its heartbeat, and the rerun asks the teacher only for what was never answered.

The workers are started once for the module (about 10 s); each test takes seconds.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from models_app import services
from models_app.models import (
    Checkpoint,
    GenerationRun,
    Question,
    Run,
    RunAttempt,
    Teacher,
    TeacherOutput,
    TrainingRun,
)
from tests.conftest import wait_for
from tests.models_app.factories import QUESTIONS, make_dataset, make_teacher_data, new_run
from tests.training.openai_server import OpenAIServer

ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT = (
    1,
    6,
)  # the workers' settings: a dead attempt is noticed within seconds
# The worker imports the training library before its pool forks, so a task does not wait for torch's import.
WORKER = "import sys, training.trainer; from celery.__main__ import main; sys.argv[0] = 'celery'; main()"

pytestmark = pytest.mark.django_db(transaction=True)


def database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("worker processes need a database server (set DATABASE_URL to PostgreSQL)")
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="module")
def artifacts_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("artifacts")


@pytest.fixture(scope="module")
def two_workers(django_db_setup, django_db_blocker, artifacts_dir, tmp_path_factory):
    """Two `celery worker -Q default,gpu --concurrency 1` processes on the test database; yields their pids."""
    from distill_site.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.fail("these tests need a real broker: set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0)")
    with django_db_blocker.unblock():
        url = database_url()
    with app.connection_for_write() as conn:
        for queue in ("default", "gpu"):
            conn.default_channel.queue_purge(queue)
    logs = tmp_path_factory.mktemp("worker-logs")
    env = os.environ | {
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "ARTIFACTS_DIR": str(artifacts_dir),
        "RUN_HEARTBEAT_INTERVAL": str(HEARTBEAT_INTERVAL),
        "RUN_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(ROOT),
    }
    workers = []
    for name in ("one", "two"):
        command = [sys.executable, "-c", WORKER, "-A", "distill_site", "worker", "-Q", "default,gpu"]
        command += [
            "--concurrency",
            "1",
            "-n",
            f"{name}@%h",
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ]
        log = open(logs / f"{name}.log", "w")  # noqa: SIM115 - closed below
        workers.append(
            (subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log)
        )
    try:
        ready = wait_for(
            lambda: (len(app.control.ping(timeout=0.5)) == 2) or None,
            timeout=120,
            what="two workers to answer",
        )
        assert ready
        yield [process.pid for process, _ in workers]
    finally:
        for process, _ in workers:
            process.send_signal(signal.SIGTERM)
        for process, log in workers:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


@pytest.fixture
def dataset(settings, artifacts_dir):
    settings.ARTIFACTS_DIR = (
        artifacts_dir  # the workers' folder: the test reads checkpoints and the cache there
    )
    dataset = make_dataset(n_questions=0)
    for qid, text, choices, key in QUESTIONS:
        Question.objects.create(
            dataset=dataset, external_id=qid, split="train", text=text, choices=choices, answer_key=key
        )
    return dataset


def attempts_of(run: Run) -> list[RunAttempt]:
    return list(RunAttempt.objects.filter(run=run).order_by("number"))


class ProgressWatch:
    """Reads the run's progress every few milliseconds in a thread, to show it never goes back."""

    def __init__(self, run_id: int):
        self.run_id, self.seen, self._stop = run_id, [], threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        try:
            while not self._stop.wait(0.01):
                self.seen.append(Run.objects.values_list("progress_done", flat=True).get(pk=self.run_id))
        finally:
            connection.close()

    def stop(self) -> list[int]:
        self._stop.set()
        self._thread.join(5)
        return self.seen


def test_cancel_then_resume_at_once_trains_one_attempt_at_a_time(two_workers, dataset):
    run = new_run(
        TrainingRun(
            dataset=dataset,
            student="random:t5-tiny",
            method="multitask",
            data_variant="unrevised",
            hyperparameters={"max_steps": 60, "batch_size": 4, "eval_every": 60, "max_length": 64},
        ),
        generation_runs=[make_teacher_data(dataset, kinds=("explanation",))],
        launch=True,
    )
    wait_for(lambda: Run.objects.get(pk=run.pk).progress_done >= 5, timeout=120, what="attempt 1 to train")
    watch = ProgressWatch(run.pk)

    services.cancel_run(run=run)
    last_written = Run.objects.values_list("progress_done", flat=True).get(
        pk=run.pk
    )  # writes fail from now on
    time.sleep(0.1)
    services.relaunch_run(run=Run.objects.get(pk=run.pk))  # the admin's Cancel, then Resume

    wait_for(
        lambda: Run.objects.get(pk=run.pk).status == Run.Status.SUCCEEDED, timeout=180, what="the resume"
    )
    seen = watch.stop()
    run.refresh_from_db()
    one, two = attempts_of(run)
    assert (one.outcome, two.outcome) == (RunAttempt.Outcome.CANCELLED, RunAttempt.Outcome.SUCCEEDED)
    # Exactly one attempt at a time: the second started after the first had ended, in another worker process.
    assert two.started_at >= one.finished_at
    assert one.pid != two.pid and os.getpid() not in (one.pid, two.pid)
    # The first stopped within one step of the cancel, with a checkpoint of that step ...
    assert last_written <= one.progress_to <= last_written + 1
    stopped_at = Path(run_folder(run)) / f"checkpoint-{one.progress_to}"
    assert f"resuming from {stopped_at}" in two.log_tail
    # ... which the second resumed from, and which is still on disk; no step was trained twice.
    assert stopped_at.is_dir() and two.progress_from == one.progress_to
    assert seen == sorted(seen), "progress went back: two attempts wrote it"
    last = Checkpoint.objects.get(training_run=run, role="last")
    assert last.step == 60 and Path(last.path).is_dir()
    assert run.wall_seconds == pytest.approx(one.wall_seconds + two.wall_seconds, rel=0.5)


def run_folder(run: Run) -> Path:
    from models_app.handlers import run_folder as folder

    return folder(run)


def test_a_killed_pool_child_is_declared_dead_and_the_rerun_asks_only_what_was_never_answered(
    two_workers, dataset, artifacts_dir
):
    with OpenAIServer() as server:
        teacher = Teacher.objects.create(
            name="http teacher", backend="openai", model="test-model", base_url=server.url, decoding={}
        )
        server.slow_next(1, 60.0)  # the first request to arrive is answered late: no batch can be stored
        run = new_run(
            GenerationRun(
                teacher=teacher,
                dataset=dataset,
                split="train",
                method="option_explanations",
                config={"batch_size": 15},  # 2 batches of 3 questions x 5 options, asked together
            ),
            launch=True,
        )
        cache = artifacts_dir / "teacher_responses"
        wait_for(lambda: cached_lines(cache) == 29, timeout=120, what="29 of the 30 answers in the cache")
        assert TeacherOutput.objects.filter(generation_run=run).count() == 0  # answered, none stored
        [dead] = attempts_of(run)
        os.kill(dead.pid, signal.SIGKILL)  # the pool child only, as the kernel's out-of-memory killer does
        asked = [r["body"] for r in server.requests]

        services.cancel_run(run=run)
        services.relaunch_run(run=Run.objects.get(pk=run.pk))  # Cancel, then Resume, at once
        wait_for(
            lambda: Run.objects.get(pk=run.pk).status == Run.Status.SUCCEEDED,
            timeout=60 + HEARTBEAT_TIMEOUT,
            what="the relaunch to succeed",
        )
        rerun = [r["body"] for r in server.requests[len(asked) :]]
    assert len(asked) == 30 and rerun == [asked[0]]  # the one request that never had an answer
    keys = list(TeacherOutput.objects.filter(generation_run=run).values_list("question", "option_label"))
    assert len(keys) == len(set(keys)) == 30
    first, second = attempts_of(run)
    assert (first.outcome, second.outcome) == (RunAttempt.Outcome.DIED, RunAttempt.Outcome.SUCCEEDED)
    assert "stopped sending heartbeats" in first.error and second.started_at >= first.finished_at
    assert "29 cache hits" in second.log_tail or "cache hits 29" in second.log_tail


def cached_lines(folder: Path) -> int:
    return sum(path.read_text().count("\n") for path in folder.glob("*.jsonl"))
