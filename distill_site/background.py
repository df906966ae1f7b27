"""Starting a Celery task: on a worker through the broker, or, with no broker configured, in a thread beside the
web server (so that the request that started it returns at once)."""

import logging
import threading

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
