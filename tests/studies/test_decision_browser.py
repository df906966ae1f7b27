"""A two-step decision study in headless Chromium: two participants answer, see the advice, answer again.

Back after the advice, a reload and double clicks must change nothing already stored; the decisions export must
then hold exactly what each chose. Screenshots of both steps on a laptop and a phone go to
test-artifacts/decision/.
"""

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from studies.models import Decision, Participant
from tests.browser import enter_study, screenshot_path

from .factories import make_decision_study

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STEP_URL = re.compile(r"/s/p/([^/]+)/item/(\d+)/(advice/)?$")
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}


def at(page, position: int, advice: bool) -> None:
    """The page of this item's step is shown and its scripts have run."""
    expect(page).to_have_url(STEP_URL)
    match = STEP_URL.search(page.url)
    assert (int(match.group(2)), bool(match.group(3))) == (position, advice), page.url
    page.wait_for_load_state("load")


def shoot(page, name: str) -> None:
    page.screenshot(path=screenshot_path("decision", f"{name}.png"), full_page=True)


def choose(page, answer: str, confidence: int | None) -> None:
    page.locator(f"input[name=answer][value='{answer}']").check()
    if confidence is not None:
        page.locator(f"input[name=confidence][value='{confidence}']").check()


def take_part(browser, live_server, study, participant: int, moves: dict[int, str], viewport: dict) -> tuple:
    """One participant from the link to the end. `moves[position]`: "back" (Back from the advice to the first
    answer, then Forward), "reload" (choose half on the advice page, reload), "double" (double clicks on both
    buttons). Returns (token, {position: (first, first confidence, final, final confidence)})."""
    context = browser.new_context(viewport=viewport, has_touch=viewport is PHONE)
    page = context.new_page()
    enter_study(page, f"{live_server.url}/s/{study.entry_token}/")
    at(page, 1, advice=False)
    token = STEP_URL.search(page.url).group(1)
    total = study.items_per_condition * study.conditions.count()
    chosen = {}
    size = "phone" if viewport is PHONE else "laptop"
    shot = set()
    for position in range(1, total + 1):
        move = moves.get(position, "")
        first = "ABCDE"[(participant + position) % 5]
        first_confidence = 1 + (participant + position) % 5 if position % 3 else None
        expect(page.get_by_text("Step 1 of 2")).to_be_visible()
        expect(page.get_by_role("heading", name="The model’s advice")).to_have_count(0)
        choose(page, first, first_confidence)
        if position == 1:
            shoot(page, f"step1-{size}")
        show = page.get_by_role("button", name="Show the advice")
        show.dblclick() if move == "double" else show.click()
        at(page, position, advice=True)
        expect(page.get_by_text("Step 2 of 2")).to_be_visible()
        expect(page.get_by_text(f"Your first answer: {first}:")).to_be_visible()
        if move == "back":
            page.go_back()
            at(page, position, advice=False)
            expect(page.get_by_role("heading", name="Your first answer is saved")).to_be_visible()
            expect(page.locator("input[name=answer]")).to_have_count(0)  # nothing to change
            shoot(page, f"back-after-advice-{size}")
            page.go_forward()
            at(page, position, advice=True)
        final = "ABCDE"[(participant + 2 * position) % 5]
        final_confidence = 1 + position % 5 if position % 2 else None
        if move == "reload":
            page.locator(f"input[name=answer][value='{first}']").check()
            page.reload()
            at(page, position, advice=True)
            expect(page.get_by_text(f"Your first answer: {first}:")).to_be_visible()
        choose(page, final, final_confidence)
        advice = "explanation" if page.locator(".explanation-text").count() else "answer"
        if not page.locator(".no-advice").count() and advice not in shot:  # one of each kind of advice
            shot.add(advice)
            shoot(page, f"step2-{advice}-{size}")
        if viewport is PHONE:
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        button = page.get_by_role("button", name="Finish" if position == total else "Next")
        button.dblclick() if move == "double" else button.click()
        chosen[position] = (first, first_confidence, final, final_confidence)
        if position < total:
            at(page, position + 1, advice=False)
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    context.close()
    return token, chosen


def test_two_participants_through_a_two_step_decision_study(live_server, browser, admin_client):
    study = make_decision_study(allow_anonymous=True, completion_url="", ask_confidence=True)
    chosen = {}
    for participant, moves, viewport in (
        (0, {1: "back", 2: "reload", 4: "double"}, LAPTOP),
        (1, {2: "double", 3: "back", 5: "reload"}, PHONE),
    ):
        token, stored = take_part(browser, live_server, study, participant, moves, viewport)
        chosen[Participant.objects.get(token=token).public_id] = stored

    assert Participant.objects.filter(status=Participant.Status.COMPLETED).count() == 2
    assert Decision.objects.count() == 12
    export = admin_client.get(f"/studies/{study.pk}/export/decisions.csv")
    rows = list(csv.DictReader(io.StringIO(export.getvalue().decode())))
    exported = {}
    for row in rows:
        slot = exported.setdefault(row["participant_id"], {})
        assert int(row["position"]) not in slot, "a second row for one item"
        slot[int(row["position"])] = (
            row["initial_answer"],
            int(row["initial_confidence"]) if row["initial_confidence"] else None,
            row["final_answer"],
            int(row["final_confidence"]) if row["final_confidence"] else None,
        )
        assert int(row["clicks_initial"]) >= 2 and int(row["clicks_final"]) >= 2  # an answer and the submit
        assert float(row["seconds_initial"]) > 0 and float(row["seconds_final"]) > 0
    assert exported == chosen
    reloaded = Decision.objects.get(
        assignment__participant__public_id=rows[0]["participant_id"], assignment__position=2
    )
    assert [e["kind"] for e in reloaded.events["final"]].count("submit") == 1
