"""Loaded with `-p tests.parallel_workers` before Django's settings are read: under pytest-xdist (`-n 2`), each
worker gets a Redis database of its own for the Celery broker, so that one worker's Celery workers never take the
other's tasks (PostgreSQL test databases are already per worker: pytest-django adds a `_gw<N>` suffix), and
one thread for torch, so that two workers share the 2 cores instead of fighting over them."""

import os
import re

worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if worker.startswith("gw"):
    index = int(worker[2:])
    broker = os.environ.get("CELERY_BROKER_URL", "")
    match = re.fullmatch(r"(redis://[^/]+)(?:/(\d+))?", broker)
    if match:
        os.environ["CELERY_BROKER_URL"] = f"{match[1]}/{int(match[2] or 0) + index}"
    os.environ["OMP_NUM_THREADS"] = "1"
