"""The job lifecycle: attempts that claim a job, report progress, are fenced, finish, or are reaped when dead.

It runs any job model built on `Job` (`job_models`): a run, or a study's analysis report (which `studies`
passes in; this module knows no model of its own but the run handlers' registry). A run's handler is a
function `handler(run, ctx)` registered for a run kind with `@register(kind)`; another job passes its handler
to `execute`. A handler reports progress through `ctx.progress(done, total)`, writes `ctx.log(...)`, and stops
with `JobCancelled` (raised by `ctx.progress` / `ctx.check_cancelled`) once the job has been cancelled or given
up on. A handler that must stop at a point of its own choosing (training saves a checkpoint first) reports with
`ctx.update` instead, which never raises, and reads `ctx.cancelled`. It ends a job as failed with a message of
its own by raising `JobFailed`; any other exception fails it with the error and the tail of its traceback.

Each execution of a job is an attempt (a `JobAttempt`: `RunAttempt`), numbered; the job's `attempt` names the
current one. Claiming a queued job starts attempt n + 1, and only once attempt n has ended: the database holds
at most one live attempt per job (a partial unique constraint), so a job is never executed twice at a time.
While attempt n is still stopping, a run's page says "stopping" and the new task waits (or declares n dead when
its heartbeat is older than `RUN_HEARTBEAT_TIMEOUT`).

An attempt writes only while it is the current one and live. Its progress goes through one conditional UPDATE
(`pk`, `attempt`, `status = running`), so a cancelled or superseded job learns it at its next step; what it
stores goes through `ctx.fenced()`, a transaction that locks the job's row and its attempt first; files
(checkpoints) are written and deleted only while `ctx.may_write()`. An attempt declared dead (its heartbeat
stopped, but it was only stalled) is superseded: `Superseded` stops it without another write. Dead attempts are
found by `Job.objects.reap_stale()`, which Celery beat runs for each job model.
"""

import logging
import os
import socket
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, F, Func
from django.db.models.functions import Now
from django.utils import timezone

from .job_models import AttemptOutcome, Job, JobAttempt, JobStatus

logger = logging.getLogger(__name__)

LOG_TAIL_LINES = 200
PROGRESS_WRITE_INTERVAL = 1.0  # seconds; progress calls in between are kept in memory
CLAIM_POLL_SECONDS = 0.5  # how often a task waiting for the previous attempt to stop looks again


class JobCancelled(Exception):
    """The job is no longer `running` in the database (cancelled, or failed as stale)."""


class JobFailed(Exception):
    """The job cannot succeed, for a reason its message gives in full (stored as the job's error, no traceback)."""


class Superseded(Exception):
    """This attempt is no longer the job's current one (declared dead, or another attempt claimed the job):
    it must stop without writing anything more, to the database or to files."""


Handler = Callable[[Job, "JobContext"], None]
_HANDLERS: dict[str, Handler] = {}


def register(kind: str) -> Callable[[Handler], Handler]:
    def decorator(func: Handler) -> Handler:
        _HANDLERS[kind] = func
        return func

    return decorator


def handler_for(kind: str) -> Handler:
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise LookupError(f"no job handler is registered for runs of kind {kind!r}") from None


def run_by_kind(run, ctx: "JobContext") -> None:
    """The handler of a run: the one registered for its kind."""
    handler_for(run.kind)(run, ctx)


def error_text(exc: BaseException, *, limit: int) -> str:
    """The error, then the tail of its traceback (where it was raised), within `limit` characters. A
    `JobFailed` says everything in its message."""
    if isinstance(exc, JobFailed):
        return str(exc)[:limit]
    head = f"{type(exc).__name__}: {exc}"[: limit // 2]
    trace = "".join(traceback.format_exception(exc))
    tail = trace[-(limit - len(head) - 10) :]
    return f"{head}\n\n{'…' if len(tail) < len(trace) else ''}{tail}"


class DatabaseClock(Func):
    """The database server's clock as the statement runs (PostgreSQL's clock_timestamp()): an attempt's start is
    stamped after the claim saw its predecessor's end, so recorded attempts never seem to overlap. SQLite, whose
    writes are serialised anyway, takes its usual current time."""

    template = "clock_timestamp()"
    output_field = DateTimeField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return Now().as_sqlite(compiler, connection, **extra_context)


# --- claiming ---
def claim(model: type[Job], job_id: int, *, task_id: str | None) -> JobAttempt | None:
    """Start the next attempt of a queued job, if no earlier attempt is still live.

    With a `task_id`, only the task the job was queued for may claim it: a redelivered message of an earlier
    launch leaves a relaunched job to the task meant for it."""
    now = DatabaseClock()
    Attempt = model.attempt_model()
    try:
        with transaction.atomic():
            if (
                not model.objects.filter(pk=job_id)
                .claimable(task_id=task_id)
                .update(
                    status=JobStatus.RUNNING,
                    attempt=F("attempt") + 1,
                    started_at=now,
                    heartbeat_at=now,
                    finished_at=None,
                )
            ):
                return None
            number, done, started = model.objects.values_list("attempt", "progress_done", "started_at").get(
                pk=job_id
            )
            return Attempt.objects.create(
                **{f"{Attempt.JOB_FIELD}_id": job_id},
                number=number,
                task_id=task_id or "",
                host=socket.gethostname()[:255],
                pid=os.getpid(),
                started_at=started,
                heartbeat_at=started,
                progress_from=done,
                progress_to=done,
            )
    except IntegrityError:  # an attempt went live between the check and the insert: not ours to run
        return None


def claim_when_free(
    model: type[Job], job_id: int, *, task_id: str | None, log: Callable[[str], None] = logger.info
) -> JobAttempt | None:
    """Claim the job, waiting while its previous attempt is still stopping (or until it is declared dead);
    None when the job is not, or no longer, queued for this task."""
    job = model.objects.filter(pk=job_id)
    announced = None
    while True:
        attempt = claim(model, job_id, task_id=task_id)
        if attempt is not None:
            return attempt
        if not job.queued(task_id=task_id).exists():
            return None
        previous = model.attempt_model().objects.live().of_job(job_id).first()
        if previous is not None:  # else it ended just now: claim again at once
            if announced != previous.pk:
                log(
                    f"{model.NOUN} {job_id}: waiting for attempt {previous.number} ({previous.host} pid "
                    f"{previous.pid}) to stop"
                )
                announced = previous.pk
            job.reap_stale()
            time.sleep(CLAIM_POLL_SECONDS)


# --- while an attempt runs ---
class JobContext:
    def __init__(
        self,
        attempt: JobAttempt,
        echo: Callable[[str], None] | None = None,
        previous_log: str = "",
    ):
        self.attempt = attempt
        self.attempts = type(attempt).objects
        self.model = attempt.job_model()
        self.job_id = attempt.job_id
        self.name = f"{self.model.NOUN} {self.job_id}"
        self.echo = echo  # also gets every log line, e.g. to print a foreground run's progress
        self._done = attempt.progress_from
        self._total = 0
        self._previous: deque[str] = deque(previous_log.splitlines(), maxlen=LOG_TAIL_LINES)
        self._lines: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self._lock = threading.Lock()
        self._dirty = False
        self._last_write = 0.0
        self._cancelled = threading.Event()
        self._superseded = threading.Event()

    @property
    def number(self) -> int:
        return self.attempt.number

    @property
    def progress_from(self) -> int:
        return self.attempt.progress_from

    def resumed_from(self, done: int) -> None:
        """The job resumes from `done`, not from the progress recorded when it was claimed (work done after the
        last checkpoint of a dead attempt is done again): the attempt's progress counts from there."""
        self.attempt.progress_from = done
        self.attempts.live().filter(pk=self.attempt.pk).update(progress_from=done)

    # --- called by handlers ---
    def progress(self, done: int, total: int | None = None) -> None:
        self.update(done, total)
        self.check_cancelled()

    def update(self, done: int, total: int | None = None, *, write_now: bool = False) -> None:
        """Record progress without raising when the job was cancelled (see `cancelled`).

        `write_now` writes at once (one fenced UPDATE) instead of at most once per `PROGRESS_WRITE_INTERVAL`:
        a job whose steps are expensive (training) learns of a cancel or a newer attempt at its next step."""
        with self._lock:
            self._done = done
            if total is not None:
                self._total = total
            self._dirty = True
        if (
            write_now
            or time.monotonic() - self._last_write >= PROGRESS_WRITE_INTERVAL
            or (self._total and done >= self._total)
        ):
            self.flush()

    @property
    def cancelled(self) -> bool:
        """True once the job should stop: it is no longer running, or this attempt was superseded."""
        return self._cancelled.is_set() or self._superseded.is_set()

    @property
    def superseded(self) -> bool:
        return self._superseded.is_set()

    def may_write(self) -> bool:
        """Whether this attempt is still the job's current, live one: asked before writing or deleting files."""
        current = self.attempts.current(self.attempt).exists()
        if not current:
            self._superseded.set()
        return current

    @contextmanager
    def fenced(self) -> Iterator[None]:
        """A transaction in which this attempt is the job's current one (its rows locked); raises `Superseded`."""
        with transaction.atomic():
            if not list(self.attempts.select_for_update().current(self.attempt).values_list("pk", flat=True)):
                self._superseded.set()
                raise Superseded(f"attempt {self.number} of {self.name} was superseded")
            yield

    def log(self, message: str) -> None:
        logger.info("%s: %s", self.name, message)
        if self.echo:
            self.echo(str(message))
        stamp = timezone.now().strftime("%H:%M:%S")
        with self._lock:
            for line in str(message).splitlines() or [""]:
                self._lines.append(f"{stamp} {line}")
            self._dirty = True

    def check_cancelled(self) -> None:
        if self._superseded.is_set():
            raise Superseded(f"attempt {self.number} of {self.name} was superseded")
        if self._cancelled.is_set():
            raise JobCancelled(f"{self.name} was cancelled")

    # --- bookkeeping ---
    def job_log(self) -> str:
        lines = [*self._previous, *self._lines]
        return "\n".join(lines[-LOG_TAIL_LINES:])

    def flush(self, *, beat: bool = False) -> None:
        """Write progress, log tail and heartbeat, fenced: notice if the job stopped being `running` under this
        attempt (a cancel), or if this attempt is no longer live (declared dead: superseded).

        A progress write is one conditional UPDATE of the job's row (its attempt number and status in the WHERE
        clause). The attempt's own row (heartbeat, progress, log) is written by the heartbeat (`beat`), and at
        every flush once the job is no longer this attempt's to write: the attempt stays alive while it stops,
        and learns there whether it was superseded."""
        if self._superseded.is_set():
            return
        now = timezone.now()
        with self._lock:
            done, dirty = self._done, self._dirty
            job_fields = {"heartbeat_at": now}
            if dirty:
                job_fields.update(progress_done=done, progress_total=self._total, log_tail=self.job_log())
                self._dirty = False
            attempt_log = "\n".join(self._lines)
        self._last_write = time.monotonic()
        written = False
        if not self._cancelled.is_set():
            written = bool(
                self.model.objects.filter(
                    pk=self.job_id, attempt=self.attempt.number, status=JobStatus.RUNNING
                ).update(**job_fields)
            )
            if not written:
                self._cancelled.set()
        if beat or not written:
            alive = (
                self.attempts.live()
                .filter(pk=self.attempt.pk)
                .update(heartbeat_at=now, progress_to=done, log_tail=attempt_log)
            )
            if not alive:
                self._superseded.set()

    def heartbeat_forever(self, stop: threading.Event) -> None:
        """Body of the heartbeat thread: beat until told to stop, so slow steps never look dead."""
        try:
            while not stop.wait(settings.RUN_HEARTBEAT_INTERVAL):
                self.flush(beat=True)
        finally:
            connection.close()

    def final_fields(self) -> dict:
        with self._lock:
            return {"progress_done": self._done, "progress_total": self._total, "log_tail": self.job_log()}

    def attempt_log(self) -> str:
        with self._lock:
            return "\n".join(self._lines)


def run_handler(job: Job, ctx: JobContext, handle: Handler) -> None:
    """Run the handler with a heartbeat thread beside it."""
    stop = threading.Event()
    beat = threading.Thread(
        target=ctx.heartbeat_forever,
        args=(stop,),
        name=f"heartbeat-{ctx.name.replace(' ', '-')}",
        daemon=True,
    )
    beat.start()
    try:
        handle(job, ctx)
    finally:
        stop.set()
        beat.join()


# --- ending ---
def finish(ctx: JobContext, outcome: str, *, error: str = "") -> bool:
    """End the attempt and, while it is still the current one, the job: False when it was superseded."""
    now = DatabaseClock()
    job_fields = ctx.final_fields()
    with transaction.atomic():
        ended = (
            ctx.attempts.live()
            .filter(pk=ctx.attempt.pk)
            .update(
                outcome=outcome,
                finished_at=now,
                heartbeat_at=now,
                error=error,
                log_tail=ctx.attempt_log(),
                progress_to=job_fields["progress_done"],
            )
        )
        if not ended:
            return False
        mine = ctx.model.objects.filter(pk=ctx.job_id, attempt=ctx.attempt.number)
        if outcome == AttemptOutcome.CANCELLED:
            # The job's status is the canceller's (or a relaunch's), unless the attempt was interrupted here.
            mine.update(**job_fields)
            mine.filter(status=JobStatus.RUNNING).update(
                status=JobStatus.CANCELLED, finished_at=now, heartbeat_at=now
            )
        else:
            mine.filter(status=JobStatus.RUNNING).update(
                status=outcome, error=error, finished_at=now, heartbeat_at=now, **job_fields
            )
    return True


def execute(
    model: type[Job],
    job_id: int,
    *,
    task_id: str | None,
    handle: Handler,
    load: Callable[[int], Job] | None = None,
    echo: Callable[[str], None] | None = None,
) -> str:
    """Claim a queued job (waiting for its previous attempt to stop) and run `handle(job, ctx)` as a new attempt;
    `load` reads the job for the handler (by default `model.objects.get`).

    Safe to call twice: a job that is not queued (for this task) is left alone. Returns the job's status, or
    "superseded" when this attempt lost the job while it ran."""
    attempt = claim_when_free(model, job_id, task_id=task_id)
    if attempt is None:
        status = model.objects.filter(pk=job_id).values_list("status", flat=True).first()
        logger.info("%s %s not started: it is %s", model.NOUN, job_id, status or "missing")
        return status or "missing"

    previous_log = model.objects.values_list("log_tail", flat=True).get(pk=job_id)
    ctx = JobContext(attempt, echo=echo, previous_log=previous_log)
    outcome, error = AttemptOutcome.SUCCEEDED, ""
    try:
        job = load(job_id) if load else model.objects.get(pk=job_id)
        ctx.log(f"attempt {attempt.number} of {job} started on {attempt.host} pid {attempt.pid}")
        run_handler(job, ctx, handle)
    except Superseded:
        logger.warning("%s: attempt %s was superseded and stopped without writing", ctx.name, attempt.number)
        return "superseded"
    except JobCancelled:
        ctx.log(f"stopped: the {model.NOUN} was cancelled")
        outcome = AttemptOutcome.CANCELLED
    except JobFailed as exc:
        ctx.log(f"failed: {exc}")
        outcome, error = AttemptOutcome.FAILED, error_text(exc, limit=model.ERROR_TEXT_LIMIT)
    except Exception as exc:
        logger.exception("%s failed", ctx.name)
        ctx.log(f"failed: {type(exc).__name__}: {exc}")
        outcome, error = AttemptOutcome.FAILED, error_text(exc, limit=model.ERROR_TEXT_LIMIT)
    except BaseException:  # interrupted in this process (Ctrl-C, exit): end the attempt now, not by heartbeat
        ctx.log(f"interrupted: the {model.NOUN} was cancelled")
        finish(ctx, AttemptOutcome.CANCELLED)
        raise
    else:
        ctx.log("succeeded")
    if not finish(ctx, outcome, error=error):
        logger.warning("%s: attempt %s was declared dead before it finished", ctx.name, attempt.number)
        return "superseded"
    return model.objects.values_list("status", flat=True).get(pk=job_id)
