"""Starting a Celery task: on a worker through the broker, or, with no broker configured, in a thread beside the
web server (so that the request that started it returns at once). With no broker there is no Celery beat either:
`run_beat_in_thread` runs its schedule beside the web server."""

import logging
import threading
import time

from celery import Task
from django.conf import settings
from django.db import connection

logger = logging.getLogger(__name__)


def start_task(task: Task, *args, queue: str, task_id: str | None = None) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        thread = threading.Thread(
            target=_run_in_thread, args=(task, args), name=f"{task.name}{list(args)}", daemon=True
        )
        thread.start()
    else:
        task.apply_async(args=list(args), queue=queue, task_id=task_id)


def _run_in_thread(task: Task, args: tuple) -> None:
    """The task marks its own job failed; what still escapes it is logged, never lost with the thread."""
    try:
        task.run(*args)
    except Exception:
        logger.exception("background task %s%s raised", task.name, list(args))
    finally:
        connection.close()


def run_beat_in_thread() -> threading.Event | None:
    """With no broker, run CELERY_BEAT_SCHEDULE's tasks in a daemon thread; returns the event that stops it."""
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return None  # `celery -A distill_site beat` runs the schedule
    stop = threading.Event()
    threading.Thread(target=_beat, args=(stop,), name="in-process-beat", daemon=True).start()
    return stop


def _beat(stop: threading.Event) -> None:
    from distill_site.celery import app

    app.loader.import_default_modules()  # the apps' tasks modules, as a worker imports them
    due = dict.fromkeys(settings.CELERY_BEAT_SCHEDULE, time.monotonic())
    while not stop.is_set():
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            if time.monotonic() >= due[name]:
                _run_in_thread(app.tasks[entry["task"]], ())
                due[name] = time.monotonic() + float(entry["schedule"])
        stop.wait(max(min(due.values()) - time.monotonic(), 0.1))
