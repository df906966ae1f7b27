"""A study may mix datasets: a condition explains the questions of each dataset its runs come from, and the
exports say which dataset each item comes from and which run explained it."""

import pytest

from models_app.models import Dataset, Question
from studies import selectors, services
from tests.studies.factories import PAPER_CONDITIONS, make_inference_run, make_questions

pytestmark = pytest.mark.django_db


def strategyqa_questions(n: int) -> list[Question]:
    dataset = Dataset.objects.create(name="tiny-strategyqa", kind="strategyqa", source="tests")
    return Question.objects.bulk_create(
        Question(
            dataset=dataset,
            external_id=f"sq-{i:03d}",
            split=Question.Split.TEST,
            text=f"Is the number {i} even?",
            choices=["yes", "no"],
            answer_key="A" if i % 2 == 0 else "B",
        )
        for i in range(n)
    )


def test_a_study_over_two_datasets_mixes_their_questions_in_each_condition():
    cqa, strategyqa = make_questions(12), strategyqa_questions(12)
    runs = {
        (kind, cell): make_inference_run(questions, *cell)
        for kind, questions in (("cqa", cqa), ("strategyqa", strategyqa))
        for cell in PAPER_CONDITIONS
    }
    study = services.create_study(
        title="Two datasets", inference_runs=list(runs.values()), item_count=24, attention_checks=0
    )
    assert study.conditions.count() == 4  # one per method/variant, each explaining both datasets
    for condition in study.conditions.all():
        kinds = set(condition.explanations.values_list("question__dataset__kind", flat=True))
        assert kinds == {"cqa", "strategyqa"}
    services.sample_items(study=study, seed=1)
    assert {item.question.dataset.kind for item in study.items.select_related("question__dataset")} == {
        "cqa",
        "strategyqa",
    }
    services.open_study(study=study)
    services.fill_with_test_responses(study=study, participants=4)
    rows = list(selectors.rating_rows(study=study, include_test_responses=True))
    checks = [r for r in rows if r["attention_check"] == "false"]
    assert {r["dataset"] for r in checks} == {"cqa", "strategyqa"}
    for row in checks:  # each explanation is traced to the run of its own dataset
        kind = "strategyqa" if row["question_id"].startswith("sq-") else "cqa"
        run = runs[(kind, (row["method"], row["data_variant"]))]
        assert (row["dataset"], row["training_run_id"]) == (kind, str(run.training_run_id))
    items = list(selectors.item_rows(study=study))
    assert {(r["dataset"], r["question_id"][:3]) for r in items} == {("cqa", "cqa"), ("strategyqa", "sq-")}


def test_two_runs_of_one_dataset_under_one_name_are_still_refused():
    questions = make_questions(8)
    study = services.create_study(title="One dataset", inference_runs=[], attention_checks=0)
    services.add_inference_run_condition(
        study=study, inference_run=make_inference_run(questions, "multitask", "unrevised")
    )
    with pytest.raises(Exception, match="condition_name_unique_per_study"):
        services.add_inference_run_condition(
            study=study, inference_run=make_inference_run(questions, "multitask", "unrevised", seed=1)
        )
