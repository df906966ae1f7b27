"""The site as `make demo` serves it, driven in Chromium by two participants and then the researcher.

Nothing of the settings is overridden: the server is `manage.py runserver` in a process of its own, with a fresh
environment (no DATABASE_URL, no broker, no ARTIFACTS_DIR), so it runs on the SQLite file under var/ and computes
the report in a thread beside itself, exactly as the demo does. To leave this checkout's own var/ alone, the site
runs from a temporary copy of the project whose Python packages are links to this one's; only `distill_site/` (whose
location decides where var/ is) and `manage.py` are copied, unchanged.

The participants use Back, Forward, reload, a second tab and a double click; the ratings export must then hold
exactly what each chose on each item, and Compute must show the report. Screenshots go to test-artifacts/demo-site/.
"""

import csv
import io
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from distill_site.chromium import chromium
from tests.browser import enter_study, screenshot_path

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
LINKED = ("studies", "models_app", "training", "templates", "tests")
STAFF = ("researcher", "pw-demo-site-researcher-1")
CHECK_VALUE = re.compile(r"\((\d)\) for every statement")
ITEM_URL = re.compile(r"/s/p/([^/]+)/item/(\d+)/$")

SET_UP = f"""
from django.contrib.auth import get_user_model
from tests.studies.factories import make_open_study

study = make_open_study(allow_anonymous=True, completion_url="")  # as the demo opens its study
get_user_model().objects.create_superuser({STAFF[0]!r}, "", {STAFF[1]!r})
print("OPEN-STUDY", study.pk, study.entry_token)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory, request):
    """(base URL, study id, entry token, the SQLite file) of a demo site serving an open study.

    The study is made by the test module's SET_UP (this module's: a rating study), which prints
    "OPEN-STUDY <id> <entry token>" and creates the STAFF account."""
    set_up = getattr(request.module, "SET_UP", SET_UP)
    site = tmp_path_factory.mktemp("demo-site")
    shutil.copytree(
        ROOT / "distill_site", site / "distill_site", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "manage.py", site / "manage.py")
    for name in LINKED:
        (site / name).symlink_to(ROOT / name)
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep} | {
        "PYTHONPATH": str(site),
        "OMP_NUM_THREADS": "1",
    }

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=site,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    manage("migrate", "--noinput")
    printed = manage("shell", "-c", set_up)
    _, study_id, entry_token = next(
        line for line in printed.splitlines() if line.startswith("OPEN-STUDY")
    ).split()
    port = free_port()
    log = (site / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=site,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    log_text = (site / "server.log").read_text()[-3000:]
                    raise AssertionError(f"the site did not start: {log_text}") from None
                time.sleep(0.3)
        yield base, int(study_id), entry_token, site / "var" / "db.sqlite3"
    finally:
        server.terminate()
        server.wait(30)
        log.close()


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


def shoot(page, name: str) -> None:
    page.screenshot(path=screenshot_path("demo-site", f"{name}.png"), full_page=True)


def position_of(page) -> int:
    return int(ITEM_URL.search(page.url).group(2))


def ready(page, position: int) -> None:
    """The page of item `position` is shown and its script has run."""
    expect(page).to_have_url(ITEM_URL)
    assert position_of(page) == position, page.url
    page.wait_for_load_state("load")


def answers_for(page, participant: int, position: int, variant: int = 0) -> dict[str, int]:
    """What this participant chooses on this item: the instructed value on an attention check, else a pattern."""
    scales = page.locator("fieldset.scale").evaluate_all("sets => sets.map(s => s.dataset.scale)")
    check = CHECK_VALUE.search(page.locator(".explanation-text").inner_text())
    if check:
        return dict.fromkeys(scales, int(check.group(1)))
    return {name: 1 + (participant + 2 * position + k + variant) % 5 for k, name in enumerate(scales)}


def choose(page, answers: dict[str, int]) -> None:
    for name, value in answers.items():
        page.locator(f"fieldset[data-scale='{name}'] input[value='{value}']").check()


def take_part(
    browser, base: str, entry_token: str, participant: int, moves: dict[int, str]
) -> tuple[str, dict]:
    """One participant from the link to the end; `moves[position]` is what they do on that item besides answering
    it: "back" (Next, Back, Forward), "reload" (half the answers, F5), "tabs" (a second tab answers it first) or
    "double" (a double click on Next). Returns (their token, {position: the answers stored for it})."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    enter_study(page, f"{base}/s/{entry_token}/")
    ready(page, 1)
    token = ITEM_URL.search(page.url).group(1)
    total = int(re.search(r"of (\d+)", page.locator("label[for=progress]").inner_text()).group(1))
    stored: dict[int, dict[str, int]] = {}
    position = 1
    while position <= total:
        move = moves.get(position, "")
        answers = answers_for(page, participant, position)
        button = page.get_by_role("button", name="Finish" if position == total else "Next")
        if move == "reload":
            half = dict(list(answers.items())[:2])
            choose(page, half)
            page.locator("textarea[name=comment]").fill(f"note {participant}/{position}")
            page.reload()
            ready(page, position)
            for name, value in half.items():
                expect(page.locator(f"fieldset[data-scale='{name}'] input[value='{value}']")).to_be_checked()
            expect(page.locator("textarea[name=comment]")).to_have_value(f"note {participant}/{position}")
            choose(page, answers)
            button.click()
        elif move == "tabs":
            other = context.new_page()
            other.goto(page.url)
            ready(other, position)
            first = answers_for(other, participant, position, variant=1)
            choose(other, first)
            other.get_by_role("button", name="Next").click()
            ready(other, position + 1)
            other.close()
            choose(page, answers)  # this tab still shows the item: its answers come second and are not kept
            button.click()
            expect(page.get_by_text("had already been saved, so they were kept")).to_be_visible()
            answers = first
        elif move == "double":
            choose(page, answers)
            button.dblclick()
        else:
            choose(page, answers)
            button.click()
        stored[position] = answers
        if position == total:
            break
        ready(page, position + 1)
        if move == "back":
            page.go_back()
            ready(page, position)
            expect(page.get_by_role("heading", name="You have rated this item")).to_be_visible()
            for name, value in answers.items():
                expect(page.locator(f"fieldset[data-scale='{name}'] input[value='{value}']")).to_be_checked()
            expect(page.locator("input[type=radio]:not(:disabled)")).to_have_count(0)
            if participant == 0:
                shoot(page, "item-rated-after-back")
            page.go_forward()
            ready(page, position + 1)
            expect(page.locator("input[type=radio]:checked")).to_have_count(0)
        position += 1
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    shoot(page, f"done-participant-{participant}")
    context.close()
    return token, stored


def test_two_participants_then_the_researcher_on_the_demo_site(demo_site, browser):
    base, study_id, entry_token, database = demo_site
    chosen = {}
    for participant, moves in enumerate(
        [
            {1: "back", 3: "reload", 4: "tabs", 6: "double", 9: "back"},
            {2: "double", 3: "back", 5: "tabs", 8: "reload", 12: "double"},
        ]
    ):
        token, stored = take_part(browser, base, entry_token, participant, moves)
        chosen[token] = stored

    with sqlite3.connect(database) as db:
        public_ids = dict(db.execute("SELECT public_id, token FROM studies_participant").fetchall())
    assert sorted(public_ids.values()) == sorted(chosen)  # no participant beyond the two

    context = browser.new_context(viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/admin/login/?next=/studies/{study_id}/")
    page.get_by_label("Username").fill(STAFF[0])
    page.get_by_label("Password").fill(STAFF[1])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/studies/{study_id}/")
    export = page.request.get(f"{base}/studies/{study_id}/export/ratings.csv")
    assert export.ok
    exported: dict[str, dict[int, dict[str, int]]] = {}
    for row in csv.DictReader(io.StringIO(export.text())):
        slot = exported.setdefault(public_ids[row["participant_id"]], {}).setdefault(int(row["position"]), {})
        assert row["scale"] not in slot, f"a second rating of {row['scale']} at item {row['position']}"
        slot[row["scale"]] = int(row["value"])
    assert exported == chosen

    page.goto(f"{base}/studies/{study_id}/results/")
    page.get_by_role("button", name="Compute the report").click()
    expect(page.get_by_text("Computing a new report")).to_be_visible()
    expect(page.get_by_role("heading", name="Ratings per condition")).to_be_visible(timeout=90_000)
    expect(page.get_by_text("The last computation failed")).to_have_count(0)
    shoot(page, "results-computed")
    context.close()
