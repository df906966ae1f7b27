"""What the page tests do in Chromium (`distill_site.chromium` starts it): sign in, enter a study, screenshots."""

from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import Browser, BrowserContext, Page

SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def signed_in_context(browser: Browser, client, live_server, **options) -> BrowserContext:
    """A browser context carrying the session of a Django test client that has logged in."""
    context = browser.new_context(**options)
    context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "domain": urlparse(live_server.url).hostname,
                "path": "/",
            }
        ]
    )
    return context


def screenshot_path(*parts: str) -> Path:
    path = SCREENSHOTS.joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def enter_study(page: Page, url: str) -> None:
    """A participant opens the study link, consents, reads the instructions and answers the About-you page."""
    page.goto(url)
    page.get_by_role("button", name="I agree, continue").click()
    page.get_by_role("button", name="Start").click()
    page.get_by_role("group", name="What is your age?").get_by_label("25–34").check()
    page.get_by_role("group", name="How would you describe your English?").get_by_label("Fluent").check()
    page.get_by_role("button", name="Continue").click()
