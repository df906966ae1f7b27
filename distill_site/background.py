"""Starting a Celery task: on a worker through the broker, or, with no broker configured, in a thread beside the
web server (so that the request that started it returns at once)."""

import threading

from celery import Task
from django.conf import settings
from django.db import connection


def start_task(task: Task, *args, queue: str, task_id: str | None = None) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        thread = threading.Thread(
            target=_run_in_thread, args=(task, args), name=f"{task.name}{list(args)}", daemon=True
        )
        thread.start()
    else:
        task.apply_async(args=list(args), queue=queue, task_id=task_id)


def _run_in_thread(task: Task, args: tuple) -> None:
    try:
        task.run(*args)
    finally:
        connection.close()
