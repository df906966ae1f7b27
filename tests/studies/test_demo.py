"""`manage.py demo` with the smallest settings (5 questions, the tiny random teacher): the whole pipeline runs with
the default students (SmolLM2 with LoRA, 2 steps) and leaves an open study whose explanations do not loop, which a
participant enters in headless Chromium; a second run (tiny T5 students, 120 steps) reuses every stage."""

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from distill_site.chromium import chromium
from models_app.management.commands import ensure_admin
from models_app.models import GenerationRun, InferenceRun, Prediction, Run, TeacherOutput, TrainingRun
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

    def run(*options: str) -> str:
        out = StringIO()
        call_command("demo", "--limit", "5", "--teacher", str(teacher), *options, no_serve=True, stdout=out)
        return out.getvalue()

    return run


def repetitions(text: str) -> list[str]:
    """What makes a text loop: a word 4 or more times in a row, or a 3-word sequence 3 or more times."""
    words = re.findall(r"\w+", text.lower())
    found = [w for i, w in enumerate(words[:-3]) if len(set(words[i : i + 4])) == 1]
    trigrams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
    return found + [" ".join(t) for t in set(trigrams) if trigrams.count(t) >= 3]


def test_repetitions_are_found():
    assert repetitions("A gift is in a common is a common common common common.") == ["common"]
    assert repetitions("is a common, is a common and is a common") == ["is a common"]
    assert repetitions("A bird builds a nest in a tree to keep its eggs safe.") == []


@pytest.mark.browser
def test_the_demo_runs_the_whole_pipeline_and_a_participant_reaches_a_rating_page(
    demo, live_server, client, django_user_model
):
    out = demo("--steps", "2")  # the default students, SmolLM2 with LoRA, for 2 steps

    generation = GenerationRun.objects.order_by("pk")
    assert [(r.method, r.status) for r in generation] == [
        ("critique_revise", "succeeded"),
        ("option_explanations", "succeeded"),
    ]
    assert set(TeacherOutput.objects.values_list("kind", flat=True)) == set(TeacherOutput.Kind.values)
    training = TrainingRun.objects.all()
    assert {(r.method, r.data_variant) for r in training} == set(STUDY_CONDITIONS)
    assert {(r.status, r.student, r.hyperparameters["max_steps"]) for r in training} == {
        ("succeeded", "smollm2", 2)
    }
    settings = ("lora_rank", "no_repeat_ngram_size", "evaluated_checkpoint")
    assert {tuple(r.hyperparameters[name] for name in settings) for r in training} == {(8, 3, "final")}
    inference = InferenceRun.objects.all()
    assert len(inference) == 4 and {(r.status, r.split) for r in inference} == {("succeeded", "validation")}
    explanations = list(Prediction.objects.values_list("explanation", flat=True))
    assert len(explanations) == 4 * 5 and all(explanations)
    assert [e for e in explanations if repetitions(e)] == []

    study = Study.objects.get()
    assert study.status == Study.Status.OPEN
    assert list(study.conditions.order_by("position").values_list("name", flat=True)) == [
        f"{method}/{variant}" for method, variant in STUDY_CONDITIONS
    ]
    for printed in (f"/s/{study.entry_token}/", "/admin/", "password: ", f"/studies/{study.pk}/results/"):
        assert printed in out
    assert "/runs/results/" in out and "Teacher and students are the same small model here" in out

    client.force_login(django_user_model.objects.get(username="admin"))  # made by the demo
    for page in (f"/studies/{study.pk}/results/", "/runs/results/"):
        assert client.get(page).status_code == 200

    with chromium() as browser:
        page = browser.new_page()
        enter_study(page, f"{live_server.url}/s/{study.entry_token}/")
        expect(page.get_by_role("heading", name="The model’s explanation")).to_be_visible()
        expect(page.get_by_role("group", name="Plausibility")).to_be_visible()
    assert Participant.objects.get(study=study).status == Participant.Status.IN_PROGRESS


def test_a_second_demo_reuses_every_stage(demo):
    tiny = ("--student", "random:t5-tiny", "--steps", "120")
    out = demo(*tiny)
    assert "near chance" in out
    runs = list(Run.objects.order_by("pk").values_list("pk", "status", "finished_at"))
    studies = list(Study.objects.values_list("pk", flat=True))

    out = demo(*tiny)

    assert list(Run.objects.order_by("pk").values_list("pk", "status", "finished_at")) == runs
    assert list(Study.objects.values_list("pk", flat=True)) == studies
    assert "launching" not in out
    assert out.count("succeeded earlier, reused") == 2 + 4 + 4
    assert "already imported" in out and "made earlier, reused (open)" in out
