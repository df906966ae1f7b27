"""`/healthz`: is the database reachable, is the broker reachable. 503 when either is down."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from kombu import Connection


def database_status() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "engine": connection.vendor}
    except Exception as exc:  # any driver error means "down"; say which kind
        return {"ok": False, "engine": connection.vendor, "error": type(exc).__name__}


def broker_status() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "mode": "in-process"}
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "mode": "broker"}
    except Exception as exc:
        return {"ok": False, "mode": "broker", "error": type(exc).__name__}


@never_cache
def healthz(request):
    body = {"database": database_status(), "broker": broker_status()}
    body["ok"] = body["database"]["ok"] and body["broker"]["ok"]
    return JsonResponse(body, status=200 if body["ok"] else 503)
