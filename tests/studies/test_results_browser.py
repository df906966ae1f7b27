"""The results page in headless Chromium: compute in the background, the page refreshes itself and shows its plots.

Screenshots are saved under test-artifacts/studies/ (results-page.png, power-admin.png).
"""

import pytest
from playwright.sync_api import expect

from models_app.models import Question
from studies.models import AnalysisReport
from tests.browser import screenshot_path, signed_in_context

from .factories import PAPER_CONDITIONS, make_rated_study, make_seed_run, set_correct

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_results_page_computes_the_report_and_renders_its_plots(
    live_server, client, django_user_model, settings, tmp_path, browser
):
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    settings.CELERY_TASK_ALWAYS_EAGER = (
        True  # no broker: the report is computed in a thread beside the server
    )
    study = make_rated_study(participants=6)
    questions = list(Question.objects.filter(dataset=study.items.first().question.dataset))
    for index, condition in enumerate(study.conditions.select_related("inference_run")):
        set_correct(condition.inference_run, correct=9 + 2 * index)  # seed 0, behind the study
    for seed in (1, 2, 3):
        for index, (method, variant) in enumerate(PAPER_CONDITIONS):
            make_seed_run(questions, method, variant, seed, correct=8 + 2 * index + seed % 2)
    staff = django_user_model.objects.create_user(
        "browser-staff", password="pw-browser-1", is_staff=True, is_superuser=True
    )
    client.force_login(staff)
    requested = []

    context = signed_in_context(browser, client, live_server, viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/studies/{study.pk}/results/")
    expect(page.get_by_text("No report yet.")).to_be_visible()
    page.get_by_label("Include test responses").check()
    page.get_by_role("button", name="Compute the report").click()
    expect(page.get_by_text("Computing a new report")).to_be_visible()

    # The page reloads itself until the worker thread has written the report.
    expect(page.get_by_role("heading", name="Ratings per condition")).to_be_visible(timeout=90_000)
    expect(page.get_by_text("Up to date with the study's ratings and accuracies.")).to_be_visible()
    plots = page.locator(".report-section img")
    expect(plots).to_have_count(2)
    for index in range(2):
        plot = plots.nth(index)
        plot.scroll_into_view_if_needed()
        width = plot.evaluate("img => img.complete ? img.naturalWidth : 0")
        assert width > 400, f"plot {index} did not load"
        assert plot.bounding_box()["width"] > 400
    assert page.locator("table.report-table").count() >= 10
    expect(page.get_by_role("link", name="everything as .zip")).to_be_visible()
    page.screenshot(path=screenshot_path("studies", "results-page.png"), full_page=True)

    page.goto(
        f"{live_server.url}/admin/studies/study/{study.pk}/power/"
        "?expected=0.5&unit=points&test=dunn&outcome=scale&simulations=200"
    )
    expect(page.get_by_text("participants are needed for 80% power")).to_be_visible()
    assert page.locator("img.power-curve").evaluate("img => img.naturalWidth") > 300
    page.screenshot(path=screenshot_path("studies", "power-admin.png"), full_page=True)
    context.close()

    # Database checks outside Playwright's event loop, whose context would hold a connection of its own.
    assert AnalysisReport.objects.get(study=study).status == AnalysisReport.Status.SUCCEEDED
    outside = [
        url for url in requested if not url.startswith(live_server.url) and not url.startswith("data:")
    ]
    assert requested and not outside, outside
