"""The results page in a real browser: it draws its chart from the server alone, with nothing fetched elsewhere."""

import pytest

from tests.browser import screenshot_path, signed_in_context


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_results_page_renders_its_chart_without_outside_assets(
    live_server, client, django_user_model, experiment, browser
):
    staff = django_user_model.objects.create_user("browser-staff", password="pw-browser-1", is_staff=True)
    client.force_login(staff)
    requested = []

    context = signed_in_context(browser, client, live_server, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/runs/results/")

    assert page.locator("h1").inner_text() == "Results"
    chart = page.locator("svg.results-chart")
    assert chart.is_visible() and chart.bounding_box()["width"] > 600
    assert page.locator("svg.results-chart rect.bar").count() == 2
    assert page.get_by_role("note").inner_text().startswith("These are tiny CPU students")
    page.screenshot(path=screenshot_path("results-page.png"), full_page=True)
    context.close()

    assert requested and all(url.startswith(live_server.url) for url in requested), requested
