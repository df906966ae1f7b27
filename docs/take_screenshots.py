"""Screenshots for the README, taken in headless Chromium from a running demo: the annotator's rating page, the
students' results page and the study's results page.

    .venv/bin/python manage.py demo                 # in another shell: serves on 127.0.0.1:8000
    .venv/bin/python docs/take_screenshots.py [--url http://127.0.0.1:8000]   # needs the dev extra (Playwright)

It enters the demo's latest open study as a participant (as you would) and signs in with the demo's admin account.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "distill_site.settings")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="where the demo serves")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the PNG files")
    args = parser.parse_args()

    import django

    django.setup()
    from distill_site.chromium import chromium
    from models_app.management.commands.ensure_admin import credentials_file
    from studies.models import Study

    study = Study.objects.filter(status=Study.Status.OPEN).order_by("-pk").first()
    if study is None or not credentials_file().exists():
        print("no open study or admin account: run `manage.py demo` first", file=sys.stderr)
        return 2
    login = dict(line.split(": ", 1) for line in credentials_file().read_text().splitlines())

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(f"{args.url}/s/{study.entry_token}/")
        page.get_by_role("button", name="I agree, continue").click()
        page.get_by_role("button", name="Start").click()
        page.get_by_role("group", name="What is your age?").get_by_label("25–34").check()
        page.get_by_role("group", name="How would you describe your English?").get_by_label("Fluent").check()
        page.get_by_role("button", name="Continue").click()
        page.get_by_role("heading", name="The model’s explanation").wait_for()
        page.screenshot(path=args.out / "annotator-item.png", full_page=True)

        staff = browser.new_page(viewport={"width": 1280, "height": 1000})
        staff.goto(f"{args.url}/admin/login/?next=/runs/results/")
        staff.get_by_label("Username").fill(login["username"])
        staff.get_by_label("Password").fill(login["password"])
        staff.get_by_role("button", name="Log in").click()
        staff.wait_for_url(f"{args.url}/runs/results/")
        staff.screenshot(path=args.out / "results-students.png", full_page=True)
        staff.goto(f"{args.url}/studies/{study.pk}/results/")
        staff.screenshot(path=args.out / "results-study.png", full_page=True)
    print(f"wrote annotator-item.png, results-students.png and results-study.png to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
