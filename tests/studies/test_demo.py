"""`manage.py demo` with the smallest settings (5 questions, the tiny random teacher, 120 steps): the whole
pipeline runs, leaves an open study that a participant enters in headless Chromium, and a second run reuses it."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from distill_site.chromium import chromium
from models_app.management.commands import ensure_admin
from models_app.models import GenerationRun, InferenceRun, Run, TeacherOutput, TrainingRun
from studies.models import Participant, Study
from studies.pipeline import STUDY_CONDITIONS
from tests.browser import enter_study

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(tmp_path, settings, monkeypatch, tiny_lm_dir):
    """Runs `manage.py demo` on 5 demo questions with the tiny teacher; returns what it printed."""
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    monkeypatch.setattr(ensure_admin, "VAR_DIR", tmp_path / "var")  # not the real demo's credentials file
    teacher = tmp_path / "teacher.json"
    teacher.write_text(
        json.dumps({"backend": "transformers", "model": str(tiny_lm_dir), "decoding": {"max_new_tokens": 8}})
    )

    def run() -> str:
        out = StringIO()
        call_command(
            "demo", "--limit", "5", "--teacher", str(teacher), "--steps", "120", no_serve=True, stdout=out
        )
        return out.getvalue()

    return run


@pytest.mark.browser
def test_the_demo_runs_the_whole_pipeline_and_a_participant_reaches_a_rating_page(
    demo, live_server, client, django_user_model
):
    out = demo()

    generation = GenerationRun.objects.order_by("pk")
    assert [(r.method, r.status) for r in generation] == [
        ("critique_revise", "succeeded"),
        ("option_explanations", "succeeded"),
    ]
    assert set(TeacherOutput.objects.values_list("kind", flat=True)) == set(TeacherOutput.Kind.values)
    training = TrainingRun.objects.all()
    assert {(r.method, r.data_variant) for r in training} == set(STUDY_CONDITIONS)
    assert {(r.status, r.student, r.hyperparameters["max_steps"]) for r in training} == {
        ("succeeded", "random:t5-tiny", 120)
    }
    inference = InferenceRun.objects.all()
    assert len(inference) == 4 and {(r.status, r.split) for r in inference} == {("succeeded", "validation")}

    study = Study.objects.get()
    assert study.status == Study.Status.OPEN
    assert list(study.conditions.order_by("position").values_list("name", flat=True)) == [
        f"{method}/{variant}" for method, variant in STUDY_CONDITIONS
    ]
    for printed in (f"/s/{study.entry_token}/", "/admin/", "password: ", f"/studies/{study.pk}/results/"):
        assert printed in out
    assert "/runs/results/" in out and "near chance" in out

    client.force_login(django_user_model.objects.get(username="admin"))  # made by the demo
    for page in (f"/studies/{study.pk}/results/", "/runs/results/"):
        assert "These are tiny CPU students" in client.get(page).content.decode()

    with chromium() as browser:
        page = browser.new_page()
        enter_study(page, f"{live_server.url}/s/{study.entry_token}/")
        expect(page.get_by_role("heading", name="The model’s explanation")).to_be_visible()
        expect(page.get_by_role("group", name="Plausibility")).to_be_visible()
    assert Participant.objects.get(study=study).status == Participant.Status.IN_PROGRESS


def test_a_second_demo_reuses_every_stage(demo):
    demo()
    runs = list(Run.objects.order_by("pk").values_list("pk", "status", "finished_at"))
    studies = list(Study.objects.values_list("pk", flat=True))

    out = demo()

    assert list(Run.objects.order_by("pk").values_list("pk", "status", "finished_at")) == runs
    assert list(Study.objects.values_list("pk", flat=True)) == studies
    assert "launching" not in out
    assert out.count("succeeded earlier, reused") == 2 + 4 + 4
    assert "already imported" in out and "made earlier, reused (open)" in out
