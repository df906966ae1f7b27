"""Abandoned sessions are released by a periodic job (Celery beat, or a thread beside the demo's server), never on
the pages and commands that only read."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from distill_site.background import run_beat_in_thread
from studies.models import Participant

from ..conftest import wait_for
from .factories import make_open_study
from .flow import rate_current_item, through_to_items


def idle_participant(study, pid: str) -> Participant:
    """A participant who rated one item, then went quiet for longer than the study allows."""
    client = Client()
    participant = through_to_items(client, study, pid)
    rate_current_item(client, participant)
    Participant.objects.filter(pk=participant.pk).update(
        last_seen_at=timezone.now() - timedelta(minutes=study.abandon_after_minutes + 1)
    )
    return participant


@pytest.mark.django_db
def test_pages_and_commands_that_read_a_study_leave_its_sessions_as_they_are(
    staff_client, tmp_path, settings
):
    """Issue 12, failure 7: seven read paths released abandoned sessions as a side effect."""
    settings.ARTIFACTS_DIR = tmp_path
    study = make_open_study()
    idle = idle_participant(study, "IDLE1")
    for url in (
        f"/studies/{study.pk}/",
        f"/studies/{study.pk}/export/participants.csv",
        f"/studies/{study.pk}/results/",
    ):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        if response.streaming:
            b"".join(response.streaming_content)
    call_command("export_study", study.pk, str(tmp_path / "export"))
    idle.refresh_from_db()
    assert idle.status == Participant.Status.IN_PROGRESS


@pytest.mark.django_db(transaction=True)
def test_with_no_broker_the_beat_schedule_runs_beside_the_server_and_releases_idle_sessions(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the demo's set-up: no broker, no `celery beat`
    first, second = make_open_study(), make_open_study()
    idle = [idle_participant(first, "IDLE2"), idle_participant(second, "IDLE3")]
    active = through_to_items(Client(), first, "ACTIVE1")
    stop = run_beat_in_thread()
    try:
        wait_for(
            lambda: all(Participant.objects.get(pk=p.pk).status == Participant.Status.RETURNED for p in idle),
            timeout=30,
            what="the idle sessions to be released",
        )
    finally:
        stop.set()
    active.refresh_from_db()
    assert active.status == Participant.Status.IN_PROGRESS


def test_celery_beat_releases_abandoned_sessions_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["release-abandoned-participants"]
    assert entry == {"task": "studies.tasks.release_abandoned_participants", "schedule": 60.0}
    from distill_site.celery import app

    app.loader.import_default_modules()  # what a worker does when it starts
    assert entry["task"] in app.tasks
