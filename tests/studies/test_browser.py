"""The annotator pages in headless Chromium: the whole flow, keyboard rating, resume, double clicks, phones.

Screenshots of the item page (desktop and phone) are saved under test-artifacts/studies/.
"""

import re

import pytest
from playwright.sync_api import expect

from studies.models import Participant, Rating
from tests.browser import SCREENSHOTS

from .factories import make_open_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = SCREENSHOTS / "studies"
PROLIFIC = "https://app.prolific.com/submissions/complete"
CHECK_VALUE = re.compile(r"\((\d)\) for every statement")


def new_page(browser, **context_options):
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.route(f"{PROLIFIC}**", lambda route: route.fulfill(status=200, body="Prolific"))
    return page


def entry_url(live_server, study, pid: str) -> str:
    return f"{live_server.url}/s/{study.entry_token}/?PROLIFIC_PID={pid}&STUDY_ID=S1&SESSION_ID=X{pid}"


def start(page, live_server, study, pid: str, screenshots: str = "") -> None:
    """From the entry link through consent, instructions and demographics to item 1.

    With `screenshots` (e.g. "desktop"), each of those pages is saved as <page>-<screenshots>.png.
    """

    def shoot(name: str) -> None:
        if screenshots:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=ARTIFACTS / f"{name}-{screenshots}.png", full_page=True)

    page.goto(entry_url(live_server, study, pid))
    expect(page.get_by_role("heading", name="Before you start")).to_be_visible()
    shoot("consent")
    page.get_by_role("button", name="I agree, continue").click()
    expect(page.get_by_role("heading", name="Instructions")).to_be_visible()
    shoot("instructions")
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", name="About you")).to_be_visible()
    shoot("demographics")
    page.get_by_role("group", name="What is your age?").get_by_label("25–34").check()
    page.get_by_role("group", name="How would you describe your English?").get_by_label("Fluent").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Item 1 of 13")).to_be_attached()
    page.wait_for_load_state("domcontentloaded")


def instructed_value(page) -> int | None:
    match = CHECK_VALUE.search(page.locator(".explanation-text").inner_text())
    return int(match.group(1)) if match else None


def rate_with_keys(page, value: int) -> None:
    """Focus the first scale and type the value once per scale: focus moves on by itself."""
    page.locator("fieldset.scale").first.locator("input[type=radio]").first.focus()
    for _ in range(5):
        page.keyboard.press(str(value))


def current_position(page) -> int:
    """Each item has its own address: /s/p/<token>/item/<position>/."""
    return int(re.search(r"/item/(\d+)/$", page.url).group(1))


def test_an_annotator_completes_the_study_in_the_browser(live_server, browser):
    study = make_open_study()
    page = new_page(browser, viewport={"width": 1280, "height": 900})
    page.clock.install()
    start(page, live_server, study, "BROWSER1", screenshots="desktop")

    # Item page: one fieldset with a legend per scale, a labelled radio per point.
    scales = page.get_by_role("group")
    expect(scales).to_have_count(5)
    expect(page.get_by_role("group", name="Plausibility")).to_be_visible()
    expect(page.get_by_role("radio", name="4 Agree")).to_have_count(5)
    page.screenshot(path=ARTIFACTS / "item-desktop.png", full_page=True)

    # A number key rates the focused scale and moves the focus to the next one.
    first = page.get_by_role("group", name="Plausibility")
    first.get_by_role("radio").first.focus()
    page.keyboard.press("4")
    expect(first.get_by_role("radio", name="4 Agree")).to_be_checked()
    expect(page.get_by_role("group", name="Understandability").get_by_role("radio").first).to_be_focused()

    participant = Participant.objects.get(prolific_pid="BROWSER1")
    while True:
        position = current_position(page)
        if position == 4:  # a reload in the middle shows the same item again
            page.reload()
            assert current_position(page) == 4
        rate_with_keys(page, instructed_value(page) or 1 + position % 5)
        if position == 6:  # a double click stores one rating per scale
            page.get_by_role("button", name="Next").dblclick()
        else:
            page.get_by_role("button", name="Finish" if position == 13 else "Next").click()
        if position == 13:
            break
        expect(page.get_by_role("heading", name=f"Item {position + 1} of 13")).to_be_attached()
        page.wait_for_load_state("domcontentloaded")  # the page's script (number keys) has run

    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    expect(page.locator("#code")).to_have_text("DONE1234")
    expect(page.get_by_role("link", name="Return to Prolific now")).to_have_attribute(
        "href", f"{PROLIFIC}?cc=DONE1234"
    )
    page.screenshot(path=ARTIFACTS / "done-desktop.png")
    page.clock.run_for(6000)
    page.wait_for_url(f"{PROLIFIC}?cc=DONE1234")

    participant.refresh_from_db()
    assert participant.status == Participant.Status.COMPLETED
    ratings = Rating.objects.filter(assignment__participant=participant)
    assert ratings.count() == 13 * 5
    assert set(ratings.filter(assignment__position=6).values_list("value", flat=True)) == {2}


def test_the_item_page_fits_a_phone_screen(live_server, browser):
    study = make_open_study()
    # Not is_mobile: Chromium's mobile emulation cuts full-page screenshots short.
    page = new_page(browser, viewport={"width": 375, "height": 740}, has_touch=True)
    start(page, live_server, study, "PHONE1", screenshots="phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    expect(page.get_by_text("to answer the statement you are on")).to_be_hidden()  # no number keys on a phone
    option = page.get_by_role("group", name="Completeness").get_by_text("Strongly agree")
    assert option.bounding_box()["height"] >= 24
    page.get_by_role("group", name="Completeness").get_by_role("radio", name="5 Strongly agree").tap()
    page.screenshot(path=ARTIFACTS / "item-phone.png", full_page=True)
    box = page.get_by_role("button", name="Next").bounding_box()
    assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 375


def test_declining_consent_shows_the_screen_out_code(live_server, browser):
    study = make_open_study()
    page = new_page(browser)
    page.clock.install()
    page.goto(entry_url(live_server, study, "NOPE1"))
    page.get_by_role("button", name="I do not agree").click()
    expect(page.get_by_role("alertdialog", name="Leave the study?")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "consent-declined-confirm.png", full_page=True)
    assert not Participant.objects.exists()
    page.get_by_role("button", name="Yes, leave the study").click()
    expect(page.locator("#code")).to_have_text("STOP5678")
    expect(page.get_by_text("You chose not to take part")).to_be_visible()
    page.clock.run_for(6000)
    page.wait_for_url(f"{PROLIFIC}?cc=STOP5678")


def test_failing_the_attention_check_shows_the_screen_out_code(live_server, browser):
    study = make_open_study()
    page = new_page(browser)
    start(page, live_server, study, "CARELESS1")
    while (expected := instructed_value(page)) is None:
        rate_with_keys(page, 3)
        page.get_by_role("button", name="Next").click()
        page.wait_for_load_state("domcontentloaded")
    expect(page.get_by_role("heading", name="Please read this carefully")).to_be_visible()
    expect(page.get_by_text("The model answered")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "attention-check.png", full_page=True)
    rate_with_keys(page, 5 if expected != 5 else 1)
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#code")).to_have_text("STOP5678")
    expect(page.get_by_text("did not follow the instructions on the attention-check pages")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "screened-out.png")
    assert Participant.objects.get(prolific_pid="CARELESS1").status == Participant.Status.SCREENED_OUT


def test_back_then_next_never_stores_answers_on_another_item(live_server, browser):
    """Issue 12, failure 1: Chromium restored item 1's answers onto item 2 after Back, and Next stored them."""
    study = make_open_study()
    page = new_page(browser)
    start(page, live_server, study, "BACK1")
    rate_with_keys(page, 2)
    page.locator("textarea[name=comment]").fill("about the first item")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Item 2 of 13")).to_be_attached()

    page.go_back()  # item 1 again, as it was rated: read-only, with the way on to item 2
    expect(page.get_by_role("heading", name="You have rated this item")).to_be_visible()
    assert current_position(page) == 1
    expect(page.locator("input[type=radio]:checked")).to_have_count(5)
    expect(page.locator("input[type=radio][value='2']:checked")).to_have_count(5)
    expect(page.locator("textarea[name=comment]")).to_be_disabled()
    expect(page.get_by_role("button", name="Next")).to_have_count(0)
    page.screenshot(path=ARTIFACTS / "item-rated.png", full_page=True)

    page.go_forward()  # item 2 has nothing of item 1's answers
    expect(page.get_by_role("heading", name="Item 2 of 13")).to_be_attached()
    page.wait_for_load_state("domcontentloaded")
    assert page.locator("input[type=radio]:checked").count() == 0
    assert page.locator("textarea[name=comment]").input_value() == ""
    page.go_back()
    page.get_by_role("link", name="Continue with item 2").click()
    expect(page.get_by_role("heading", name="Item 2 of 13")).to_be_attached()
    page.wait_for_load_state("domcontentloaded")
    assert page.locator("input[type=radio]:checked").count() == 0

    participant = Participant.objects.get(prolific_pid="BACK1")
    assert not participant.assignments.get(position=2).ratings.exists()
    assert participant.assignments.get(position=1).comment == "about the first item"


def test_a_reload_keeps_unsent_answers_and_a_second_tab_cannot_answer_another_item(live_server, browser):
    study = make_open_study()
    page = new_page(browser)
    start(page, live_server, study, "TABS1")
    page.get_by_role("group", name="Plausibility").get_by_role("radio", name="4 Agree").check()
    page.locator("textarea[name=comment]").fill("half done")
    page.reload()
    page.wait_for_load_state("domcontentloaded")
    expect(
        page.get_by_role("group", name="Plausibility").get_by_role("radio", name="4 Agree")
    ).to_be_checked()
    expect(page.locator("textarea[name=comment]")).to_have_value("half done")

    other = page.context.new_page()  # a second tab on the same item
    other.goto(page.url)
    other.wait_for_load_state("domcontentloaded")
    rate_with_keys(other, 5)
    other.get_by_role("button", name="Next").click()
    expect(other.get_by_role("heading", name="Item 2 of 13")).to_be_attached()

    rate_with_keys(page, 1)  # the first tab, still on item 1, answers it differently
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text("had already been saved, so they were kept")).to_be_visible()
    assert current_position(page) == 2
    participant = Participant.objects.get(prolific_pid="TABS1")
    assert set(participant.assignments.get(position=1).ratings.values_list("value", flat=True)) == {5}
    assert not participant.assignments.get(position=2).ratings.exists()
