"""A two-step decision study in headless Chromium: two participants answer, see the advice, answer again.

Back after the advice, a reload and double clicks must change nothing already stored; the decisions export must
then hold exactly what each chose. Once on the test server (PostgreSQL), once on the site as `make demo` serves it
(SQLite, the report computed in a thread), where the researcher then computes the report. Screenshots of both
steps on a laptop and a phone go to test-artifacts/decision/.
"""

import csv
import io
import re
import sqlite3

import pytest
from playwright.sync_api import expect

from studies.models import Decision, Participant
from tests.browser import enter_study, screenshot_path
from tests.distill_site.test_demo_site_browser import STAFF, demo_site  # noqa: F401 (a fixture)

from .factories import make_decision_study

pytestmark = pytest.mark.browser

SET_UP = f"""
from django.contrib.auth import get_user_model
from tests.studies.factories import make_decision_study

study = make_decision_study(allow_anonymous=True, completion_url="", ask_confidence=True)
get_user_model().objects.create_superuser({STAFF[0]!r}, "", {STAFF[1]!r})
print("OPEN-STUDY", study.pk, study.entry_token)
"""
TOTAL = 6  # make_decision_study: 3 conditions x 2 items

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


def take_part(
    browser, base: str, entry_token: str, participant: int, moves: dict[int, str], viewport: dict
) -> tuple:
    """One participant from the link to the end. `moves[position]`: "back" (Back from the advice to the first
    answer, then Forward), "reload" (choose half on the advice page, reload), "double" (double clicks on both
    buttons). Returns (token, {position: (first, first confidence, final, final confidence)})."""
    context = browser.new_context(viewport=viewport, has_touch=viewport is PHONE)
    page = context.new_page()
    enter_study(page, f"{base}/s/{entry_token}/")
    at(page, 1, advice=False)
    token = STEP_URL.search(page.url).group(1)
    total = TOTAL
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


PARTICIPANTS = (
    (0, {1: "back", 2: "reload", 4: "double"}, LAPTOP),
    (1, {2: "double", 3: "back", 5: "reload"}, PHONE),
)


def exported_answers(csv_text: str, public_ids: dict[str, str] | None = None) -> dict:
    """{participant: {position: (first, first confidence, final, final confidence)}} from decisions.csv."""
    exported = {}
    for row in csv.DictReader(io.StringIO(csv_text)):
        participant = public_ids[row["participant_id"]] if public_ids else row["participant_id"]
        slot = exported.setdefault(participant, {})
        assert int(row["position"]) not in slot, "a second row for one item"
        slot[int(row["position"])] = (
            row["initial_answer"],
            int(row["initial_confidence"]) if row["initial_confidence"] else None,
            row["final_answer"],
            int(row["final_confidence"]) if row["final_confidence"] else None,
        )
        assert int(row["clicks_initial"]) >= 2 and int(row["clicks_final"]) >= 2  # an answer and the submit
        assert float(row["seconds_initial"]) > 0 and float(row["seconds_final"]) > 0
    return exported


@pytest.mark.django_db(transaction=True)
def test_two_participants_through_a_two_step_decision_study(live_server, browser, admin_client):
    study = make_decision_study(allow_anonymous=True, completion_url="", ask_confidence=True)
    assert study.items_per_condition * study.conditions.count() == TOTAL
    chosen = {}
    for participant, moves, viewport in PARTICIPANTS:
        token, stored = take_part(browser, live_server.url, study.entry_token, participant, moves, viewport)
        chosen[Participant.objects.get(token=token).public_id] = stored

    assert Participant.objects.filter(status=Participant.Status.COMPLETED).count() == 2
    assert Decision.objects.count() == 12
    export = admin_client.get(f"/studies/{study.pk}/export/decisions.csv")
    assert exported_answers(export.getvalue().decode()) == chosen
    reloaded = Decision.objects.get(assignment__participant__token=token, assignment__position=5)
    assert [e["kind"] for e in reloaded.events["final"]].count("submit") == 1


def test_two_participants_then_the_researcher_on_the_demo_site(demo_site, browser):  # noqa: F811
    base, study_id, entry_token, database = demo_site
    chosen = {}
    for participant, moves, viewport in PARTICIPANTS:
        token, stored = take_part(browser, base, entry_token, participant, moves, viewport)
        chosen[token] = stored
    with sqlite3.connect(database) as db:
        public_ids = dict(db.execute("SELECT public_id, token FROM studies_participant").fetchall())
    assert sorted(public_ids.values()) == sorted(chosen)

    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.goto(f"{base}/admin/login/?next=/studies/{study_id}/")
    page.get_by_label("Username").fill(STAFF[0])
    page.get_by_label("Password").fill(STAFF[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/studies/{study_id}/")
    export = page.request.get(f"{base}/studies/{study_id}/export/decisions.csv")
    assert export.ok
    assert exported_answers(export.text(), public_ids) == chosen

    page.goto(f"{base}/studies/{study_id}/results/")
    page.get_by_role("button", name="Compute the report").click()
    expect(page.get_by_role("heading", name="Reliance: RAIR, RSR, over- and under-reliance")).to_be_visible(
        timeout=180_000  # the mixed model, on a machine that may be busy with other tests
    )
    expect(page.get_by_text("The last computation failed")).to_have_count(0)
    page.screenshot(path=screenshot_path("decision", "results-computed.png"), full_page=True)
    context.close()
