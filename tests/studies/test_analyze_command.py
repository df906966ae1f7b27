"""`manage.py analyze_study`: the CLI's report, from the database, with the accuracies of the grid behind the study."""

import io

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from models_app.models import Dataset, Prediction, Question, TrainingRun
from studies.analysis import build_report, read_ratings_csv
from studies.export import write_study_export
from studies.models import AnalysisReport

from .factories import BETTER, make_questions, make_rated_study, make_seed_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def artifacts(settings, tmp_path):
    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    return settings.ARTIFACTS_DIR


def analyze(*args) -> str:
    out = io.StringIO()
    call_command("analyze_study", *map(str, args), stdout=out)
    return out.getvalue()


def test_stores_the_report_and_prints_the_same_numbers_as_the_cli(artifacts, tmp_path):
    study = make_rated_study()
    printed = analyze(study.pk, "--include-test-responses")

    report = AnalysisReport.objects.get(study=study)
    assert report.status == AnalysisReport.Status.SUCCEEDED
    assert report.directory == artifacts / "reports" / f"study-{study.pk}" / f"report-{report.pk}"
    assert {
        "report.html",
        "report.md",
        "tables/pairwise_dunn_vda.csv",
        "plots/ratings_by_condition.png",
    } <= set(report.files)
    assert all((report.directory / name).is_file() for name in report.files)
    assert f"Report: {report.directory / 'report.html'}" in printed

    # The same analysis from the exported CSV, as `python -m studies.analysis` runs it.
    paths = write_study_export(study=study, directory=tmp_path / "export", include_test_responses=True)
    ratings = read_ratings_csv(next(p for p in paths if p.name == "ratings.csv"))
    assert report.ratings_read == len(ratings)
    from_csv = build_report(
        ratings,
        None,
        tmp_path / "cli",
        include_test_responses=True,
        conditions=list(study.conditions.values_list("name", flat=True)),
        scales=["plausibility", "understandability"],
    )
    stored = dict(report.summary)
    assert list(stored)[: len(from_csv.summary)] == list(from_csv.summary)  # ratings sections, in order
    for heading in ("Data and exclusions", "The paper's tests (ratings treated as independent)"):
        assert stored[heading] == from_csv.summary[heading]
        assert all(line in printed for line in from_csv.summary[heading])
    mixed = stored["Mixed models (random intercepts for participant and question)"]
    assert any(line.startswith(f"Mixed model: {BETTER} is rated") for line in mixed)
    assert report.participants_analysed == 6


def test_test_responses_are_left_out_unless_asked_for(artifacts):
    study = make_rated_study(participants=2)
    with pytest.raises(
        CommandError, match=r"there are no ratings yet \(test responses are left out unless included\)"
    ):
        analyze(study.pk)
    failed = AnalysisReport.objects.get(study=study)
    assert failed.status == AnalysisReport.Status.FAILED
    assert not failed.directory.exists()


def test_accuracy_covers_the_grid_behind_the_conditions(artifacts, tmp_path):
    study = make_rated_study(participants=2)
    questions = list(Question.objects.filter(dataset=study.items.first().question.dataset))
    n = len(questions)
    grid = [run for run in TrainingRun.objects.all()]  # seed 0 of each condition, behind the study
    for seed in (1, 2):
        for offset, (method, variant) in enumerate(
            [
                ("counterfactual", "unrevised"),
                ("multitask", "unrevised"),
                ("multitask_counterfactual", "unrevised"),
            ]
        ):
            grid.append(make_seed_run(questions, method, variant, seed, correct=10 + 2 * offset + seed))
    grid.append(
        make_seed_run(questions, "multitask", "revised", 1, correct=12)
    )  # a method × variant crossed in
    unfinished = TrainingRun.objects.create(
        student="t5-tiny", method="multitask", data_variant="unrevised", seed=3, dataset=questions[0].dataset
    )
    make_seed_run(questions, "standard", "unrevised", 1, correct=9)  # a method the study does not compare
    make_seed_run(questions, "multitask", "unrevised", 4, correct=9, hyperparameters={"learning_rate": 1e-4})
    make_seed_run(make_questions(n), "multitask", "unrevised", 5, correct=9)  # another dataset
    assert Dataset.objects.count() == 2

    printed = analyze(study.pk, "--include-test-responses", "--out", tmp_path / "out")

    runs = pd.read_csv(tmp_path / "out" / "tables" / "accuracy_runs.csv")
    assert sorted(runs["training_run_id"]) == sorted(run.pk for run in grid)
    counted = {
        run.pk: Prediction.objects.filter(inference_run__training_run=run, correct=True).count() / n
        for run in grid
    }
    assert runs.set_index("training_run_id")["accuracy"].to_dict() == pytest.approx(counted)
    assert set(zip(runs["method"], runs["data_variant"], strict=True)) == {
        ("counterfactual", "unrevised"),
        ("multitask", "unrevised"),
        ("multitask_counterfactual", "unrevised"),
        ("multitask_counterfactual", "revised"),
        ("multitask", "revised"),
    }
    assert (
        "Two-way ANOVA on unrevised data" in printed
        or "ANOVA on unrevised data (one student size)" in printed
    )
    assert f"#{unfinished.pk} (multitask/unrevised t5-tiny seed 3)" in printed
    assert (tmp_path / "out" / "plots" / "accuracy.png").is_file()
    assert not AnalysisReport.objects.exists()  # --out writes files only


def test_bad_study_id_and_reference_are_clear_errors(artifacts):
    study = make_rated_study(participants=2)
    with pytest.raises(
        CommandError, match=rf"no study with id 999999; studies: {study.pk} \(Rating explanations\)"
    ):
        analyze(999999)
    with pytest.raises(CommandError, match="no condition 'nope' in study .*multitask/unrevised"):
        analyze(study.pk, "--reference", "nope")
