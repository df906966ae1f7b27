"""The results page in a real browser: it draws its chart from the server alone, with nothing fetched elsewhere."""

from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import sync_playwright

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_results_page_renders_its_chart_without_outside_assets(
    live_server, client, django_user_model, experiment
):
    staff = django_user_model.objects.create_user("browser-staff", password="pw-browser-1", is_staff=True)
    client.force_login(staff)
    session = client.cookies["sessionid"].value
    host = urlparse(live_server.url).hostname
    requested = []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_cookies([{"name": "sessionid", "value": session, "domain": host, "path": "/"}])
        page = context.new_page()
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{live_server.url}/runs/results/")

        assert page.locator("h1").inner_text() == "Results"
        chart = page.locator("svg.results-chart")
        assert chart.is_visible() and chart.bounding_box()["width"] > 600
        assert page.locator("svg.results-chart rect.bar").count() == 2
        assert page.get_by_role("note").inner_text().startswith("These are tiny CPU students")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "results-page.png", full_page=True)
        browser.close()

    assert requested and all(url.startswith(live_server.url) for url in requested), requested
