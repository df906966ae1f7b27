"""The results page: staff only, computes in the background, shows the stored report and serves its files."""

import io
import zipfile
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from distill_site.background import run_beat_in_thread
from models_app import jobs
from studies import reports, services
from studies.models import AnalysisReport, AnalysisReportAttempt
from studies.tasks import fail_stale_reports_task

from ..conftest import wait_for
from .factories import BETTER, make_open_study, make_rated_study

MIXED = "Mixed models (random intercepts for participant and question)"


@pytest.fixture
def artifacts(settings, tmp_path):
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    return settings.ARTIFACTS_DIR


def results_url(study) -> str:
    return reverse("studies:results", args=[study.pk])


def compute_url(study) -> str:
    return reverse("studies:results-compute", args=[study.pk])


def file_url(report, name: str) -> str:
    return reverse("studies:report-file", args=[report.study_id, report.pk, name])


def computed(study, **options) -> AnalysisReport:
    """A report computed here, in the foreground (what the worker does)."""
    report, created = reports.request_report(study=study, in_background=False, **options)
    assert created
    reports.compute_report(report_id=report.pk)
    report.refresh_from_db()
    return report


@pytest.mark.django_db
def test_results_pages_are_for_staff_only(plain_client, artifacts):
    anonymous = Client()
    study = make_rated_study(participants=2)
    report = computed(study, include_test_responses=True)
    urls = [
        results_url(study),
        file_url(report, "report.html"),
        reverse("studies:report-zip", args=[study.pk, report.pk]),
    ]
    for url in urls:
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
        assert plain_client.get(url).status_code == 403
    assert anonymous.post(compute_url(study)).status_code == 302
    assert plain_client.post(compute_url(study)).status_code == 403
    assert AnalysisReport.objects.count() == 1


@pytest.mark.django_db
def test_without_ratings_the_page_says_so_and_computes_nothing(staff_client, artifacts):
    study = make_open_study()
    services.fill_with_test_responses(study=study, participants=1)
    page = staff_client.get(results_url(study)).content.decode()
    assert "No report yet." in page
    assert "Too few ratings to analyse:</strong> there are no ratings yet." in page
    assert "Test responses are left out unless you include them below." in page

    response = staff_client.post(compute_url(study), follow=True)
    assert (
        "Nothing to analyse yet: there are no ratings yet. Test responses are left out"
        in response.content.decode()
    )
    response = staff_client.post(compute_url(study), {"include_test_responses": "on"}, follow=True)
    assert (
        "Nothing to analyse yet: ratings from 1 participant; comparing conditions needs two or more participants"
        in response.content.decode()
    )
    assert not AnalysisReport.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_compute_runs_on_the_worker_and_the_page_shows_the_report(staff_client, celery_worker, artifacts):
    study = make_rated_study(participants=6)
    response = staff_client.post(
        compute_url(study), {"include_test_responses": "on", "reference": BETTER}, follow=True
    )
    assert "Computing the report in the background" in response.content.decode()
    report = AnalysisReport.objects.get(study=study)
    wait_for(
        lambda: AnalysisReport.objects.get(pk=report.pk).status not in AnalysisReport.ACTIVE_STATUSES,
        timeout=90,
        what="the worker to compute the report",
    )
    report.refresh_from_db()
    assert report.status == AnalysisReport.Status.SUCCEEDED, report.error
    assert report.reference == BETTER and report.requested_by.username == "researcher"

    page = staff_client.get(results_url(study)).content.decode()
    assert f"{report.ratings_analysed} analysed from 6 participants" in page
    assert "Up to date with the study's ratings and accuracies." in page
    assert 'http-equiv="refresh"' not in page
    summary = dict(report.summary)
    for line in summary[MIXED][:2] + summary["Data and exclusions"]:
        assert escape(line) in page
    for heading in (
        "Exclusions",
        "Kruskal-Wallis (paper)",
        "Mixed model: condition pairs",
        "Accuracy: ANOVA",
    ):
        assert f"<h2>{heading}</h2>" in page
    assert f'src="{file_url(report, "plots/ratings_by_condition.png")}"' in page
    assert f'src="{file_url(report, "plots/accuracy.png")}"' in page
    assert f"reference condition {BETTER}" in page

    plot = staff_client.get(file_url(report, "plots/ratings_by_condition.png"))
    assert plot["Content-Type"] == "image/png" and b"".join(plot.streaming_content)[:4] == b"\x89PNG"
    table = staff_client.get(file_url(report, "tables/kruskal_wallis.csv"))
    assert table["Content-Disposition"].startswith("attachment")
    assert (
        b"".join(table.streaming_content) == (report.directory / "tables" / "kruskal_wallis.csv").read_bytes()
    )
    html = staff_client.get(file_url(report, "report.html"))
    assert html["Content-Type"].startswith("text/html") and "inline" in html["Content-Disposition"]
    archive = zipfile.ZipFile(
        io.BytesIO(staff_client.get(reverse("studies:report-zip", args=[study.pk, report.pk])).content)
    )
    assert sorted(name.split("/", 1)[1] for name in archive.namelist()) == sorted(report.files)
    for name in ("nothing.csv", "../../../etc/passwd", "tables/../report.html"):
        assert staff_client.get(file_url(report, name)).status_code == 404

    services.fill_with_test_responses(study=study, participants=1, seed=9)
    page = staff_client.get(results_url(study)).content.decode()
    assert "The data have changed since this report (the ratings, now" in page


@pytest.mark.django_db
def test_few_ratings_are_analysed_with_a_warning(staff_client, artifacts):
    study = make_rated_study(participants=2)
    report = computed(study, include_test_responses=True)
    assert report.status == AnalysisReport.Status.SUCCEEDED
    page = staff_client.get(results_url(study)).content.decode()
    assert "<strong>Few ratings so far</strong>" in page
    assert "Too few participants (2) for the mixed models to be meaningful" in page
    assert "<h3>Sample size</h3>" in page


@pytest.mark.django_db
def test_a_failed_computation_is_shown_with_its_reason_beside_the_last_good_report(staff_client, artifacts):
    study = make_rated_study(participants=2)
    good = computed(study, include_test_responses=True)
    failed = computed(study)  # test responses left out: nothing to analyse
    assert failed.status == AnalysisReport.Status.FAILED
    page = staff_client.get(results_url(study)).content.decode()
    assert "The last computation failed" in page
    assert "there are no ratings yet (test responses are left out unless included)" in page
    assert f"{good.ratings_analysed} analysed from 2 participants" in page
    assert good.directory.is_dir() and not failed.directory.exists()

    newer = computed(study, include_test_responses=True)
    assert list(AnalysisReport.objects.filter(study=study)) == [newer]  # older reports and their files go
    assert not good.directory.exists()


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")]


@pytest.mark.django_db
def test_one_report_at_a_time_and_one_whose_worker_died_is_failed_by_beat_not_by_the_page(
    staff_client, artifacts
):
    study = make_rated_study(participants=2)
    first, created = reports.request_report(study=study, in_background=False)
    again, created_again = reports.request_report(study=study, in_background=False)
    assert created and not created_again and again == first

    # A worker claimed it (attempt 1), then died: its heartbeats stopped more than the timeout ago.
    attempt = jobs.claim(AnalysisReport, first.pk, task_id=None)
    long_ago = timezone.now() - timedelta(seconds=settings.RUN_HEARTBEAT_TIMEOUT + 60)
    AnalysisReport.objects.filter(pk=first.pk).update(heartbeat_at=long_ago)
    AnalysisReportAttempt.objects.filter(pk=attempt.pk).update(heartbeat_at=long_ago)
    before = AnalysisReport.objects.values().get(pk=first.pk)

    with CaptureQueriesContext(connection) as queries:
        page = staff_client.get(results_url(study)).content.decode()
    assert writes(queries.captured_queries) == []  # the page only reads
    assert AnalysisReport.objects.values().get(pk=first.pk) == before
    # It shows the report as beat will leave it, and lets a new one be computed.
    assert "The last computation failed" in page and "stopped sending heartbeats" in page
    assert "Compute the report</button>" in page and "disabled>" not in page

    assert fail_stale_reports_task() == 1  # what Celery beat (or the demo's beat thread) runs
    first.refresh_from_db()
    assert first.status == AnalysisReport.Status.FAILED
    assert "stopped sending heartbeats" in first.error and first.error.endswith("Compute it again.")
    assert AnalysisReportAttempt.objects.get(pk=attempt.pk).outcome == AnalysisReportAttempt.Outcome.DIED
    assert reports.report_state(study=study).failed == first
    assert reports.request_report(study=study, in_background=False)[1]
    assert (
        reports.compute_report(report_id=first.pk) == AnalysisReport.Status.FAILED
    )  # a late worker does nothing


@pytest.mark.django_db
def test_a_report_no_worker_started_within_an_hour_is_failed_by_beat(artifacts):
    study = make_rated_study(participants=2)
    report, _ = reports.request_report(study=study, in_background=False)
    assert fail_stale_reports_task() == 0
    AnalysisReport.objects.filter(pk=report.pk).update(
        created_at=timezone.now() - AnalysisReport.QUEUED_TIMEOUT - timedelta(minutes=1)
    )
    assert fail_stale_reports_task() == 1
    report.refresh_from_db()
    assert report.status == AnalysisReport.Status.FAILED
    assert report.error.startswith("No worker started it within 60 minutes")
    assert "celery -A distill_site worker -Q default" in report.error


@pytest.mark.django_db(transaction=True)
def test_with_no_broker_the_beat_thread_beside_the_server_fails_stale_reports(settings, artifacts):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the demo's set-up: no broker, no `celery beat`
    study = make_rated_study(participants=2)
    report, _ = reports.request_report(study=study, in_background=False)
    AnalysisReport.objects.filter(pk=report.pk).update(
        created_at=timezone.now() - AnalysisReport.QUEUED_TIMEOUT - timedelta(minutes=1)
    )
    stop = run_beat_in_thread()
    try:
        wait_for(
            lambda: AnalysisReport.objects.get(pk=report.pk).status == AnalysisReport.Status.FAILED,
            timeout=30,
            what="the beat thread to fail the stale report",
        )
    finally:
        stop.set()


def test_celery_beat_fails_stale_reports_as_often_as_stale_runs(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["fail-stale-reports"]
    assert entry["task"] == "studies.tasks.fail_stale_reports"
    assert entry["schedule"] == settings.CELERY_BEAT_SCHEDULE["fail-stale-runs"]["schedule"]
    from distill_site.celery import app

    app.loader.import_default_modules()  # what a worker does when it starts
    assert entry["task"] in app.tasks


@pytest.mark.django_db
def test_compute_needs_a_post_with_a_csrf_token(django_user_model, artifacts):
    study = make_rated_study(participants=2)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(django_user_model.objects.create_user("r2", password="pw-r2-pw-r2", is_staff=True))
    assert strict.get(compute_url(study)).status_code == 405
    assert strict.post(compute_url(study), {"include_test_responses": "on"}).status_code == 403
    assert not AnalysisReport.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_report_that_raises_in_the_web_process_thread_is_failed_at_once_with_its_traceback(
    staff_client, settings, tmp_path
):
    """Issue 12, failure 2: with no broker, the thread died at once and the report stayed `running` for an hour.

    The folder setting is given as django-environ's Path, what the settings held before they held pathlib
    paths: `ARTIFACTS_DIR / "reports"` raises TypeError, as on the demo.
    """
    import environ

    settings.CELERY_TASK_ALWAYS_EAGER = True  # no broker: the web process computes it in a thread
    settings.ARTIFACTS_DIR = environ.Path(str(tmp_path))
    study = make_rated_study(participants=2)
    staff_client.post(compute_url(study), {"include_test_responses": "on"})
    report = wait_for(
        lambda: AnalysisReport.objects.filter(study=study, status=AnalysisReport.Status.FAILED).first(),
        timeout=30,
        what="the report to be marked failed",
    )
    assert report.error.startswith("TypeError: unsupported operand type(s) for /")
    assert "Traceback (most recent call last)" in report.error and "directory" in report.error
    page = staff_client.get(results_url(study)).content.decode()
    assert "The last computation failed" in page and "TypeError: unsupported operand" in page
    assert "Compute the report</button>" in page and "disabled>" not in page  # it can be tried again
