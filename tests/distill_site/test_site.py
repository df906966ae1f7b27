"""Health check, admin access, deploy settings."""

import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from models_app.models import Run
from tests.models_app.factories import make_generation_run

ROOT = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db
def test_healthz_is_ok_with_database_and_broker_up(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["ok"] and body["database"]["ok"] and body["broker"]["ok"]


@pytest.mark.django_db
def test_healthz_is_503_when_broker_is_unreachable(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is False
    assert "redis://" not in response.content.decode()


@pytest.mark.django_db
def test_admin_run_list_shows_progress_bar_and_cancel_works(staff_client):
    run = make_generation_run(status=Run.Status.RUNNING, progress_done=3, progress_total=12)
    page = staff_client.get("/admin/models_app/run/")
    assert page.status_code == 200
    assert b'<progress value="3" max="12"' in page.content

    response = staff_client.post(
        "/admin/models_app/run/", {"action": "cancel_selected", "_selected_action": [run.pk]}, follow=True
    )
    assert b"Cancelled 1 run(s)." in response.content
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED


@pytest.mark.django_db
def test_non_staff_cannot_reach_admin_or_api(plain_client):
    assert plain_client.get("/admin/models_app/run/").status_code == 403
    assert plain_client.get("/api/runs/").status_code == 403


@pytest.mark.django_db
def test_api_lists_and_cancels_runs(staff_client):
    run = make_generation_run()
    listing = staff_client.get("/api/runs/").json()
    assert [r["id"] for r in listing["results"]] == [run.pk]
    assert staff_client.post(f"/api/runs/{run.pk}/cancel/").json()["status"] == "cancelled"
    assert staff_client.post(f"/api/runs/{run.pk}/cancel/").status_code == 409


def test_deploy_check_passes_with_debug_off_and_real_secret():
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "study.example.org",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_debug_off_without_secret_key_refuses_to_start():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"} | {"DEBUG": "0"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG=0" in result.stderr


@pytest.mark.django_db
def test_the_home_page_leads_to_the_admin_the_results_and_the_studies(client):
    page = client.get("/").content.decode()
    for url in ("/admin/", "/runs/results/", "/studies/", "/api/docs/"):
        assert f'href="{url}"' in page, url
