"""What a job handler sees while it runs: progress, log lines, cancellation.

A handler is a function `handler(run, ctx)` registered for a run kind with `@register(kind)`. It reports
progress through `ctx.progress(done, total)`, writes `ctx.log(...)`, and stops with `JobCancelled` (raised
by `ctx.progress` / `ctx.check_cancelled`) once the run has been cancelled or given up on. A handler that must
stop at a point of its own choosing (training saves a checkpoint first) reports with `ctx.update` instead, which
never raises, and reads `ctx.cancelled`. It ends a run as failed with a message of its own by raising `JobFailed`.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import Run

logger = logging.getLogger(__name__)

LOG_TAIL_LINES = 200
PROGRESS_WRITE_INTERVAL = 1.0  # seconds; progress calls in between are kept in memory


class JobCancelled(Exception):
    """The run is no longer `running` in the database (cancelled, or failed as stale)."""


class JobFailed(Exception):
    """The job cannot succeed, for a reason its message gives in full (stored as the run's error, no traceback)."""


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


class JobContext:
    def __init__(self, run_id: int, echo: Callable[[str], None] | None = None):
        self.run_id = run_id
        self.echo = echo  # also gets every log line, e.g. to print a foreground run's progress
        self._done = 0
        self._total = 0
        self._lines: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        self._lock = threading.Lock()
        self._dirty = False
        self._last_write = 0.0
        self._cancelled = threading.Event()

    # --- called by handlers ---
    def progress(self, done: int, total: int | None = None) -> None:
        self.update(done, total)
        self.check_cancelled()

    def update(self, done: int, total: int | None = None) -> None:
        """Record progress without raising when the run was cancelled (see `cancelled`)."""
        with self._lock:
            self._done = done
            if total is not None:
                self._total = total
            self._dirty = True
        if time.monotonic() - self._last_write >= PROGRESS_WRITE_INTERVAL or (
            self._total and done >= self._total
        ):
            self.flush()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

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
        if self._cancelled.is_set():
            raise JobCancelled(f"run {self.run_id} was cancelled")

    # --- bookkeeping ---
    def flush(self) -> None:
        """Write progress, log tail and heartbeat; notice if the run stopped being `running`."""
        with self._lock:
            fields = {"heartbeat_at": timezone.now()}
            if self._dirty:
                fields.update(
                    progress_done=self._done, progress_total=self._total, log_tail="\n".join(self._lines)
                )
                self._dirty = False
        self._last_write = time.monotonic()
        if not Run.objects.filter(pk=self.run_id, status=Run.Status.RUNNING).update(**fields):
            self._cancelled.set()

    def heartbeat_forever(self, stop: threading.Event) -> None:
        """Body of the heartbeat thread: beat until told to stop, so slow steps never look dead."""
        try:
            while not stop.wait(settings.RUN_HEARTBEAT_INTERVAL):
                self.flush()
        finally:
            connection.close()

    def final_fields(self) -> dict:
        with self._lock:
            return {
                "progress_done": self._done,
                "progress_total": self._total,
                "log_tail": "\n".join(self._lines),
            }


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
