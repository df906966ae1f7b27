"""Shared fixtures: a real Celery worker on the configured broker, staff users, run factories."""

import time

import pytest
from django.conf import settings
from django.db import connection


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    broker = (
        "in-process (no CELERY_BROKER_URL)"
        if settings.CELERY_TASK_ALWAYS_EAGER
        else settings.CELERY_BROKER_URL
    )
    return [
        f"database engine: {db['ENGINE'].rsplit('.', 1)[-1]} ({db.get('HOST') or db['NAME']})",
        f"broker: {broker}",
    ]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Users made by fixtures get a cheap hash: the production hasher costs about a second per user on 2 cores."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def celery_worker():
    """A real Celery worker in a thread, consuming both queues from the configured broker (Redis)."""
    from celery.contrib.testing.worker import start_worker

    from distill_site.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.fail(
            "this test needs a real broker: set CELERY_BROKER_URL=redis://127.0.0.1:6379/0 "
            "(make test and .ci/run do), and start Redis with `make services`"
        )
    with app.connection_for_write() as conn:
        for queue in ("default", "gpu"):
            conn.default_channel.queue_purge(queue)
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=["default", "gpu"],
        shutdown_timeout=30,
    ) as worker:
        yield worker


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, one per test module."""
    from tests.browser import chromium

    with chromium() as browser:
        yield browser


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user(
        "researcher", password="pw-researcher-1", is_staff=True, is_superuser=True
    )
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def plain_client(client, django_user_model):
    user = django_user_model.objects.create_user("visitor", password="pw-visitor-1")
    client.force_login(user)
    return client


@pytest.fixture
def db_vendor():
    return connection.vendor
