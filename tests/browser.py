"""Headless Chromium for the page tests: Debian's chromium, driven by Playwright through executable_path
(Playwright's own browser download does not work here). `make test` installs the package when it is missing."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

SCREENSHOTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


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
