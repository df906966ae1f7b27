"""The job lifecycle: attempts that claim a run, report progress, are fenced, finish, or are reaped when dead.

A handler is a function `handler(run, ctx)` registered for a run kind with `@register(kind)`. It reports
progress through `ctx.progress(done, total)`, writes `ctx.log(...)`, and stops with `JobCancelled` (raised
by `ctx.progress` / `ctx.check_cancelled`) once the run has been cancelled or given up on. A handler that must
stop at a point of its own choosing (training saves a checkpoint first) reports with `ctx.update` instead, which
never raises, and reads `ctx.cancelled`. It ends a run as failed with a message of its own by raising `JobFailed`.

Each execution of a run is an attempt (`RunAttempt`), numbered; `Run.attempt` names the current one. Claiming
a queued run starts attempt n + 1, and only once attempt n has ended: the database holds at most one live
attempt per run (a partial unique constraint), so a run is never executed twice at a time. While attempt n is
still stopping, the run's page says "stopping" and the new task waits (or declares n dead when its heartbeat is
older than `RUN_HEARTBEAT_TIMEOUT`).

An attempt writes only while it is the current one and live. Its progress goes through one conditional UPDATE
(`pk`, `attempt`, `status = running`), so a cancelled or superseded job learns it at its next step; what it
stores goes through `ctx.fenced()`, a transaction that locks the run's row and its attempt first; files
(checkpoints) are written and deleted only while `ctx.may_write()`. An attempt declared dead (its heartbeat
stopped, but it was only stalled) is superseded: `Superseded` stops it without another write.

The functions here (`claim`, `JobContext`, `finish`, `reap_stale`, `execute`) hold the whole lifecycle in one
place; another job record with its own attempts (an analysis report) can adopt it.
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
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import DateTimeField, Exists, F, Func, OuterRef
from django.db.models.functions import Now
from django.utils import timezone

from .models import Run, RunAttempt

logger = logging.getLogger(__name__)

LOG_TAIL_LINES = 200
PROGRESS_WRITE_INTERVAL = 1.0  # seconds; progress calls in between are kept in memory
CLAIM_POLL_SECONDS = 0.5  # how often a task waiting for the previous attempt to stop looks again
ERROR_TEXT_LIMIT = 20_000


class JobCancelled(Exception):
    """The run is no longer `running` in the database (cancelled, or failed as stale)."""


class JobFailed(Exception):
    """The job cannot succeed, for a reason its message gives in full (stored as the run's error, no traceback)."""


class Superseded(Exception):
    """This attempt is no longer the run's current one (declared dead, or another attempt claimed the run):
    it must stop without writing anything more, to the database or to files."""


Handler = Callable[[Run, "JobContext"], None]
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


def error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}\n\n" + "".join(traceback.format_exception(exc))
    return text[-ERROR_TEXT_LIMIT:]


class DatabaseClock(Func):
    """The database server's clock as the statement runs (PostgreSQL's clock_timestamp()): an attempt's start is
    stamped after the claim saw its predecessor's end, so recorded attempts never seem to overlap. SQLite, whose
    writes are serialised anyway, takes its usual current time."""

    template = "clock_timestamp()"
    output_field = DateTimeField()

    def as_sqlite(self, compiler, connection, **extra_context):
        return Now().as_sqlite(compiler, connection, **extra_context)


# --- claiming ---
def _live_attempt():
    return RunAttempt.objects.filter(run=OuterRef("pk"), finished_at__isnull=True)


def claim(run_id: int, *, task_id: str | None) -> RunAttempt | None:
    """Start the next attempt of a queued run, if no earlier attempt is still live.

    With a `task_id`, only the task the run was queued for may claim it: a redelivered message of an earlier
    launch leaves a relaunched run to the task meant for it."""
    now = DatabaseClock()
    claimable = Run.objects.filter(pk=run_id, status=Run.Status.QUEUED).filter(~Exists(_live_attempt()))
    if task_id:
        claimable = claimable.filter(task_id=task_id)
    try:
        with transaction.atomic():
            if not claimable.update(
                status=Run.Status.RUNNING,
                attempt=F("attempt") + 1,
                started_at=now,
                heartbeat_at=now,
                finished_at=None,
            ):
                return None
            number, done, started = Run.objects.values_list("attempt", "progress_done", "started_at").get(
                pk=run_id
            )
            return RunAttempt.objects.create(
                run_id=run_id,
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


def queued_for(run_id: int, *, task_id: str | None) -> bool:
    """Whether the run waits to be claimed (by the task `task_id`, when given)."""
    queued = Run.objects.filter(pk=run_id, status=Run.Status.QUEUED)
    return (queued.filter(task_id=task_id) if task_id else queued).exists()


def claim_when_free(
    run_id: int, *, task_id: str | None, log: Callable[[str], None] = logger.info
) -> RunAttempt | None:
    """Claim the run, waiting while its previous attempt is still stopping (or until it is declared dead);
    None when the run is not, or no longer, queued for this task."""
    announced = None
    while True:
        attempt = claim(run_id, task_id=task_id)
        if attempt is not None:
            return attempt
        if not queued_for(run_id, task_id=task_id):
            return None
        previous = RunAttempt.objects.filter(run_id=run_id, finished_at__isnull=True).first()
        if previous is not None:  # else it ended just now: claim again at once
            if announced != previous.pk:
                log(
                    f"run {run_id}: waiting for attempt {previous.number} ({previous.host} pid {previous.pid}) to stop"
                )
                announced = previous.pk
            reap_stale(run_ids=[run_id])
            time.sleep(CLAIM_POLL_SECONDS)


# --- while an attempt runs ---
class JobContext:
    def __init__(
        self,
        run_id: int,
        attempt: RunAttempt | None = None,
        echo: Callable[[str], None] | None = None,
        previous_log: str = "",
    ):
        self.run_id = run_id
        self.attempt = attempt
        self.echo = echo  # also gets every log line, e.g. to print a foreground run's progress
        self._done = attempt.progress_from if attempt else 0
        self._total = 0
        self._previous: deque[str] = deque(previous_log.splitlines(), maxlen=LOG_TAIL_LINES)
        self._lines: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self._lock = threading.Lock()
        self._dirty = False
        self._last_write = 0.0
        self._cancelled = threading.Event()
        self._superseded = threading.Event()

    @property
    def number(self) -> int | None:
        return self.attempt.number if self.attempt else None

    @property
    def progress_from(self) -> int:
        return self.attempt.progress_from if self.attempt else 0

    def resumed_from(self, done: int) -> None:
        """The job resumes from `done`, not from the progress recorded when it was claimed (work done after the
        last checkpoint of a dead attempt is done again): the attempt's progress counts from there."""
        if self.attempt is not None:
            self.attempt.progress_from = done
            RunAttempt.objects.filter(pk=self.attempt.pk, finished_at__isnull=True).update(progress_from=done)

    # --- called by handlers ---
    def progress(self, done: int, total: int | None = None) -> None:
        self.update(done, total)
        self.check_cancelled()

    def update(self, done: int, total: int | None = None, *, write_now: bool = False) -> None:
        """Record progress without raising when the run was cancelled (see `cancelled`).

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
        """True once the job should stop: the run is no longer running, or this attempt was superseded."""
        return self._cancelled.is_set() or self._superseded.is_set()

    @property
    def superseded(self) -> bool:
        return self._superseded.is_set()

    def may_write(self) -> bool:
        """Whether this attempt is still the run's current, live one: asked before writing or deleting files."""
        if self.attempt is None:
            return not self._superseded.is_set()
        current = RunAttempt.objects.filter(
            pk=self.attempt.pk, finished_at__isnull=True, run__attempt=self.attempt.number
        ).exists()
        if not current:
            self._superseded.set()
        return current

    @contextmanager
    def fenced(self) -> Iterator[None]:
        """A transaction in which this attempt is the run's current one (its rows locked); raises `Superseded`."""
        with transaction.atomic():
            if self.attempt is not None:
                mine = RunAttempt.objects.select_for_update().filter(
                    pk=self.attempt.pk, finished_at__isnull=True, run__attempt=self.attempt.number
                )
                if not list(mine.values_list("pk", flat=True)):
                    self._superseded.set()
                    raise Superseded(f"attempt {self.attempt.number} of run {self.run_id} was superseded")
            yield

    def log(self, message: str) -> None:
        logger.info("run %s: %s", self.run_id, message)
        if self.echo:
            self.echo(str(message))
        stamp = timezone.now().strftime("%H:%M:%S")
        with self._lock:
            for line in str(message).splitlines() or [""]:
                self._lines.append(f"{stamp} {line}")
            self._dirty = True

    def check_cancelled(self) -> None:
        if self._superseded.is_set():
            raise Superseded(f"attempt {self.number} of run {self.run_id} was superseded")
        if self._cancelled.is_set():
            raise JobCancelled(f"run {self.run_id} was cancelled")

    # --- bookkeeping ---
    def run_log(self) -> str:
        lines = [*self._previous, *self._lines]
        return "\n".join(lines[-LOG_TAIL_LINES:])

    def flush(self, *, beat: bool = False) -> None:
        """Write progress, log tail and heartbeat, fenced: notice if the run stopped being `running` under this
        attempt (a cancel), or if this attempt is no longer live (declared dead: superseded).

        A progress write is one conditional UPDATE of the run's row (its attempt number and status in the WHERE
        clause). The attempt's own row (heartbeat, progress, log) is written by the heartbeat (`beat`), and at
        every flush once the run is no longer this attempt's to write: the attempt stays alive while it stops,
        and learns there whether it was superseded."""
        if self._superseded.is_set():
            return
        now = timezone.now()
        with self._lock:
            done, dirty = self._done, self._dirty
            run_fields = {"heartbeat_at": now}
            if dirty:
                run_fields.update(progress_done=done, progress_total=self._total, log_tail=self.run_log())
                self._dirty = False
            attempt_log = "\n".join(self._lines)
        self._last_write = time.monotonic()
        if self.attempt is None:  # a context of no attempt (tests of handlers): the old, status-only check
            if not Run.objects.filter(pk=self.run_id, status=Run.Status.RUNNING).update(**run_fields):
                self._cancelled.set()
            return
        written = False
        if not self._cancelled.is_set():
            written = bool(
                Run.objects.filter(
                    pk=self.run_id, attempt=self.attempt.number, status=Run.Status.RUNNING
                ).update(**run_fields)
            )
            if not written:
                self._cancelled.set()
        if beat or not written:
            alive = RunAttempt.objects.filter(pk=self.attempt.pk, finished_at__isnull=True).update(
                heartbeat_at=now, progress_to=done, log_tail=attempt_log
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
            return {"progress_done": self._done, "progress_total": self._total, "log_tail": self.run_log()}

    def attempt_log(self) -> str:
        with self._lock:
            return "\n".join(self._lines)


def run_handler(run: Run, ctx: JobContext) -> None:
    """Run the handler with a heartbeat thread beside it."""
    stop = threading.Event()
    beat = threading.Thread(
        target=ctx.heartbeat_forever, args=(stop,), name=f"heartbeat-run-{run.pk}", daemon=True
    )
    beat.start()
    try:
        handler_for(run.kind)(run, ctx)
    finally:
        stop.set()
        beat.join()


# --- ending ---
def finish(ctx: JobContext, outcome: str, *, error: str = "") -> bool:
    """End the attempt and, while it is still the current one, the run: False when it was superseded."""
    now = DatabaseClock()
    run_fields = ctx.final_fields()
    with transaction.atomic():
        if ctx.attempt is not None:
            ended = RunAttempt.objects.filter(pk=ctx.attempt.pk, finished_at__isnull=True).update(
                outcome=outcome,
                finished_at=now,
                heartbeat_at=now,
                error=error,
                log_tail=ctx.attempt_log(),
                progress_to=run_fields["progress_done"],
            )
            if not ended:
                return False
        mine = Run.objects.filter(pk=ctx.run_id)
        if ctx.attempt is not None:
            mine = mine.filter(attempt=ctx.attempt.number)
        if outcome == RunAttempt.Outcome.CANCELLED:
            # The run's status is the canceller's (or a relaunch's), unless the attempt was interrupted here.
            mine.update(**run_fields)
            mine.filter(status=Run.Status.RUNNING).update(
                status=Run.Status.CANCELLED, finished_at=now, heartbeat_at=now
            )
        else:
            mine.filter(status=Run.Status.RUNNING).update(
                status=outcome, error=error, finished_at=now, heartbeat_at=now, **run_fields
            )
    return True


def execute(
    run_id: int,
    *,
    task_id: str | None,
    concrete: Callable[[int], Run],
    echo: Callable[[str], None] | None = None,
) -> str:
    """Claim a queued run (waiting for its previous attempt to stop) and run its handler as a new attempt.

    Safe to call twice: a run that is not queued (for this task) is left alone. Returns the run's status, or
    "superseded" when this attempt lost the run while it ran."""
    attempt = claim_when_free(run_id, task_id=task_id)
    if attempt is None:
        status = Run.objects.filter(pk=run_id).values_list("status", flat=True).first()
        logger.info("run %s not started: it is %s", run_id, status or "missing")
        return status or "missing"

    previous_log = Run.objects.values_list("log_tail", flat=True).get(pk=run_id)
    ctx = JobContext(run_id, attempt, echo=echo, previous_log=previous_log)
    outcome, error = RunAttempt.Outcome.SUCCEEDED, ""
    try:
        run = concrete(run_id)
        ctx.log(
            f"attempt {attempt.number} of {run.kind} run {run_id} started on {attempt.host} pid {attempt.pid}"
        )
        run_handler(run, ctx)
    except Superseded:
        logger.warning(
            "run %s: attempt %s was superseded and stopped without writing", run_id, attempt.number
        )
        return "superseded"
    except JobCancelled:
        ctx.log("stopped: the run was cancelled")
        outcome = RunAttempt.Outcome.CANCELLED
    except JobFailed as exc:
        ctx.log(f"failed: {exc}")
        outcome, error = RunAttempt.Outcome.FAILED, str(exc)[-ERROR_TEXT_LIMIT:]
    except Exception as exc:
        logger.exception("run %s failed", run_id)
        ctx.log(f"failed: {type(exc).__name__}: {exc}")
        outcome, error = RunAttempt.Outcome.FAILED, error_text(exc)
    except BaseException:  # interrupted in this process (Ctrl-C, exit): end the attempt now, not by heartbeat
        ctx.log("interrupted: the run was cancelled")
        finish(ctx, RunAttempt.Outcome.CANCELLED)
        raise
    else:
        ctx.log("succeeded")
    if not finish(ctx, outcome, error=error):
        logger.warning("run %s: attempt %s was declared dead before it finished", run_id, attempt.number)
        return "superseded"
    return Run.objects.values_list("status", flat=True).get(pk=run_id)


# --- reaping ---
def reap_stale(*, timeout_seconds: float | None = None, run_ids: list[int] | None = None) -> int:
    """Declare attempts whose heartbeat stopped dead, and fail their runs: their worker died.

    A run `running` with no live attempt (from before attempts were recorded) is failed on its own heartbeat."""
    timeout_seconds = settings.RUN_HEARTBEAT_TIMEOUT if timeout_seconds is None else timeout_seconds
    now = timezone.now()
    cutoff = now - timedelta(seconds=timeout_seconds)
    attempts = RunAttempt.objects.filter(finished_at__isnull=True, heartbeat_at__lt=cutoff)
    runs = Run.objects.filter(status=Run.Status.RUNNING, heartbeat_at__lt=cutoff).filter(
        ~Exists(_live_attempt())
    )
    if run_ids is not None:
        attempts, runs = attempts.filter(run_id__in=run_ids), runs.filter(pk__in=run_ids)
    reaped = 0
    for attempt in attempts.select_related("run"):
        reason = _dead_reason(
            attempt.heartbeat_at, timeout_seconds, who=f" ({attempt.host} pid {attempt.pid})"
        )
        # Its progress as the run's row last had it (written every step; the attempt's row only every heartbeat).
        done = attempt.run.progress_done if attempt.run.attempt == attempt.number else 0
        with transaction.atomic():
            if RunAttempt.objects.filter(
                pk=attempt.pk, finished_at__isnull=True, heartbeat_at__lt=cutoff
            ).update(
                outcome=RunAttempt.Outcome.DIED,
                finished_at=now,
                error=reason,
                progress_to=max(done, attempt.progress_to),
            ):
                reaped += 1
                Run.objects.filter(
                    pk=attempt.run_id, attempt=attempt.number, status=Run.Status.RUNNING
                ).update(status=Run.Status.FAILED, error=reason, finished_at=now)
    for run in runs:
        reason = _dead_reason(run.heartbeat_at, timeout_seconds, who="")
        reaped += runs.filter(pk=run.pk).update(status=Run.Status.FAILED, error=reason, finished_at=now)
    if reaped:
        logger.warning("declared %d stale attempt(s) dead", reaped)
    return reaped


def _dead_reason(heartbeat_at, timeout_seconds: float, *, who: str) -> str:
    return (
        f"The worker{who} stopped sending heartbeats: the last one was at {heartbeat_at:%Y-%m-%d %H:%M:%S} "
        f"UTC, more than {timeout_seconds:g} s ago. It probably died (killed, out of memory, machine lost). "
        "Launch the run again to resume it."
    )
