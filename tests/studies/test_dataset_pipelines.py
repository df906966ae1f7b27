"""StrategyQA and e-SNLI through the whole site: the demo's pipeline (`manage.py demo --data FOLDER --teacher
recorded:FILE`) on samples the tests write (laid out like ../shared/data/strategyqa and ../shared/data/esnli) imports, trains,
predicts on the dataset's test split and opens a study whose item page, in headless Chromium, shows the question
as a person reads it; the exports say which dataset each item comes from."""

from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from distill_site.chromium import chromium
from models_app.models import Dataset, GenerationRun, InferenceRun, Question, TrainingRun
from models_app.selectors import training_results
from studies import selectors
from studies import services as study_services
from studies.management.commands.demo import DEMO_LIMIT, RANDOM_HYPERPARAMETERS
from studies.models import Study
from studies.pipeline import STUDY_CONDITIONS, ForegroundRunner, Outcome, Plan, advance
from tests.browser import enter_study, screenshot_path
from tests.dataset_samples import WRITERS
from training.datasets import dataset_spec
from training.teacher import TeacherSpec

pytestmark = pytest.mark.django_db(transaction=True)


def run_demo(folder) -> Outcome:
    """What `manage.py demo --data FOLDER --teacher recorded:FILE --steps 60` runs, evaluated once at the end: a
    held-out share of one or two questions swings from 1 to 0 between evaluations of a tiny student, which the
    divergence check would take for a collapse."""
    plan = Plan(
        data=str(folder),
        teacher=TeacherSpec(backend="recorded", model=str(folder / "teacher_llama_train.jsonl")),
        students=("random:t5-tiny",),
        cells=STUDY_CONDITIONS,
        hyperparameters={**RANDOM_HYPERPARAMETERS, "max_steps": 60, "eval_every": 60},
        limit=DEMO_LIMIT,
        study_title="Demo: explanations of small students",
        study_options={"allow_anonymous": True, "completion_url": ""},
    )
    return advance(plan=plan, runner=ForegroundRunner(lambda line: None), echo=lambda line: None)


@pytest.mark.browser
@pytest.mark.parametrize("name", ["strategyqa", "esnli"])
def test_the_demo_runs_each_dataset_and_its_items_read_as_people_read_them(
    name, tmp_path, settings, live_server
):
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    folder = WRITERS[name](tmp_path / name)
    spec = dataset_spec(name)
    assert run_demo(folder).finished

    dataset = Dataset.objects.get()
    assert (dataset.kind, dataset.name, dataset.test_split) == (name, f"{name}-first16", "test")
    assert (
        Question.objects.filter(dataset=dataset, split="test").count() == {"strategyqa": 5, "esnli": 6}[name]
    )
    assert {tuple(fields) for fields in Question.objects.values_list("fields", flat=True)} == {spec.fields}
    assert {(r.status, r.split) for r in InferenceRun.objects.all()} == {("succeeded", "test")}
    # The results read each dataset's test split, and chance is one in its number of options.
    results = training_results()
    assert {(cell.dataset, cell.chance) for cell in results.cells} == {(dataset.name, 1 / spec.option_count)}
    assert len(results.cells) == 4
    assert {row.n_predictions for row in results.rows} == {{"strategyqa": 5, "esnli": 6}[name]}
    study = Study.objects.get()
    assert study.status == Study.Status.OPEN and study.title.endswith(f"({spec.title})")

    with chromium() as browser:
        page = browser.new_page()
        enter_study(page, f"{live_server.url}/s/{study.entry_token}/")
        expect(page.get_by_role("heading", name="The model’s explanation")).to_be_visible()
        options = page.get_by_role(
            "list", name="The two answers" if name == "strategyqa" else "Answer options"
        )
        texts = [
            item.inner_text().replace("model’s answer", "").strip()
            for item in options.get_by_role("listitem").all()
        ]
        assert texts == list(spec.option_wording)
        if name == "esnli":
            for label in ("Statement", "Claim about it"):
                expect(page.get_by_role("heading", name=label, exact=True)).to_be_visible()
            expect(page.get_by_text("Given the statement, the claim …")).to_be_visible()
            assert "Premise:" not in page.inner_text("main")
        else:
            question = page.locator(".question-text").inner_text()
            assert question.endswith("?") and "Choices" not in question
        answer = page.locator(".answer strong").inner_text()
        assert answer.removeprefix("the claim ") in spec.option_wording
        page.screenshot(path=str(screenshot_path("studies", f"item-{name}.png")), full_page=True)

    study_services.fill_with_test_responses(study=study, participants=2)
    ratings = list(selectors.rating_rows(study=study, include_test_responses=True))
    assert ratings and {row["dataset"] for row in ratings} == {name}
    assert list(ratings[0])[10] == "dataset"  # a new column after the first ten
    assert {row["dataset"] for row in selectors.item_rows(study=study)} == {name}


@pytest.mark.django_db
def test_reproduce_runs_the_chain_for_each_dataset_of_a_data_folder(tmp_path):
    """`reproduce --datasets strategyqa esnli --data ROOT`: each dataset from its subfolder, with the recorded
    teacher file named through {dataset}; its training runs are queued (no worker consumes them here)."""
    for name, write in WRITERS.items():
        write(tmp_path / name)
    out = StringIO()
    call_command(
        "reproduce",
        "--datasets",
        "strategyqa",
        "esnli",
        "--data",
        str(tmp_path),
        "--teacher",
        f"recorded:{tmp_path}/{{dataset}}/teacher_llama_train.jsonl",
        "--students",
        "random:t5-tiny",
        "--seeds",
        "0",
        "--set",
        "max_steps=5",
        stdout=out,
    )
    text = out.getvalue()
    assert "== StrategyQA" in text and "== e-SNLI" in text
    datasets = {d.kind: d for d in Dataset.objects.all()}
    assert set(datasets) == {"strategyqa", "esnli"}
    for kind, dataset in datasets.items():
        assert set(dataset.questions.values_list("split", flat=True)) == {"train", "test"}
        runs = TrainingRun.objects.filter(dataset=dataset)
        assert runs.count() == 6 and {r.hyperparameters["formats"] for r in runs} == {"paper"}
        assert GenerationRun.objects.get(dataset=dataset).outputs.filter(
            kind="option_explanation"
        ).count() == (dataset.questions.filter(split="train").count() * dataset_spec(kind).option_count)
