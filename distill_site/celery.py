"""The Celery app. Queues: `default` (generation, housekeeping) and `gpu` (training, inference)."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distill_site.settings")

app = Celery("distill_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("gpu"))
app.autodiscover_tasks()
