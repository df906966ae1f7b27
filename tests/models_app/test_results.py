"""The results page, its numbers, and the CSV downloads of predictions and of the run table."""

import csv
import io

import pytest

from models_app import selectors

pytestmark = pytest.mark.django_db


def test_accuracy_is_the_mean_and_sd_over_seeds_of_the_latest_test_predictions(experiment):
    results = selectors.training_results()

    assert [(c.method, c.data_variant) for c in results.cells] == [
        ("standard", "unrevised"),
        ("multitask", "unrevised"),
    ]
    standard, multitask = results.cells
    assert multitask.accuracy.mean == pytest.approx(0.6) and multitask.accuracy.sd == pytest.approx(0.2)
    assert (multitask.accuracy.n, multitask.seeds) == (3, [0, 1, 2])
    assert multitask.metrics["consistency"].mean == pytest.approx(0.7)
    assert multitask.metrics["rouge_l.f"].sd == pytest.approx(0.0)
    assert (standard.accuracy.mean, standard.accuracy.sd, standard.accuracy.n) == (
        pytest.approx(0.2),
        None,
        1,
    )
    assert results.metric_names == [
        "consistency",
        "explanation_length",
        "rouge_l.f",
    ]  # accuracy comes from predictions
    assert (
        len(results.rows) == 5 and results.rows[-1].accuracy is None
    )  # the running run is listed, not averaged
    assert results.tiny_students == ["tiny-t5"]
    assert results.near_chance_cells == [standard]


def test_results_page_shows_conditions_runs_chart_and_says_these_are_tiny_students(staff_client, experiment):
    page = staff_client.get("/runs/results/").content.decode()

    assert "60.0 ± 20.0" in page and "20.0" in page
    # 95% bootstrap intervals: of the mean over the seeds' 60%, 40% and 80% (each extreme resample, all three
    # seeds at 40% or at 80%, has probability 1/27 > 2.5%), and of one run's 3 of 5 questions (binomial quantiles).
    assert "60.0 ± 20.0 [40.0–80.0]" in page and "60.0% [20.0–100.0]" in page
    assert "<svg" in page and 'class="results-chart"' in page and page.count('class="seed"') == 4
    assert "These are tiny CPU students" in page and "5000 steps at batch 48" in page
    assert "1 condition answers" in page and "tiny-t5 standard/unrevised" in page  # near chance
    running = experiment["running"]
    assert f'href="/admin/models_app/trainingrun/{running.pk}/change/"' in page and "running" in page
    _, latest = experiment["runs"][1]
    assert f'href="/runs/inference/{latest.pk}/predictions.csv"' in page
    for metric in ("consistency", "explanation_length", "rouge_l.f"):
        assert metric in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # no assets from elsewhere


def test_results_page_without_runs_says_what_to_do(staff_client):
    page = staff_client.get("/runs/results/").content.decode()
    assert "No training runs yet" in page and "tiny CPU students" not in page


def read_csv(response) -> list[dict]:
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_predictions_csv_has_each_question_with_its_run(staff_client, experiment):
    training_run, inference_run = experiment["runs"][2]
    rows = read_csv(staff_client.get(f"/runs/inference/{inference_run.pk}/predictions.csv"))

    assert len(rows) == 5
    first = rows[0]
    assert first["question_id"] == "v0" and first["question"] == "Where is v0?"
    assert [first[f"choice_{c}"] for c in "abcde"] == ["shelf", "box", "car", "desk", "bag"]
    assert (
        first["gold_label"],
        first["gold_answer"],
        first["predicted_label"],
        first["predicted_answer"],
    ) == (
        "D",
        "desk",
        "D",
        "desk",
    )
    assert [row["correct"] for row in rows] == ["1", "1", "1", "1", "0"]
    assert rows[4]["predicted_answer"] == "shelf"
    assert (first["parse_rule"], first["explanation"]) == ("exact", "because v0")
    assert (first["method"], first["data_variant"], first["seed"]) == ("multitask", "unrevised", "2")
    assert (first["training_run_id"], first["inference_run_id"]) == (
        str(training_run.pk),
        str(inference_run.pk),
    )


def test_run_table_csv_has_every_training_run_with_its_result(staff_client, experiment):
    rows = read_csv(staff_client.get("/runs/results.csv"))

    assert len(rows) == 5
    by_name = {row["name"]: row for row in rows}
    assert float(by_name["mt seed 2"]["test_accuracy"]) == pytest.approx(0.8)
    assert by_name["mt seed 2"]["consistency"] == "0.9" and by_name["mt seed 2"]["n_predictions"] == "5"
    assert by_name["cf"]["status"] == "running" and by_name["cf"]["test_accuracy"] == ""
    assert by_name["baseline"]["settings"] == "paper defaults"


def test_downloads_are_for_staff_only(plain_client, experiment):
    _, inference_run = experiment["runs"][0]
    assert plain_client.get(f"/runs/inference/{inference_run.pk}/predictions.csv").status_code == 403
    assert plain_client.get("/runs/results.csv").status_code == 403


def test_the_inference_run_list_shows_each_accuracy_with_its_bootstrap_interval(staff_client, experiment):
    page = staff_client.get("/admin/models_app/inferencerun/").content.decode()
    assert "accuracy [95% ci]" in page.lower()
    assert "60.0% [20.0–100.0]" in page and "80.0% [40.0–100.0]" in page  # 3 and 4 of 5 questions


def test_the_run_table_csv_is_an_accuracy_file_for_the_analysis_cli(staff_client, experiment, tmp_path):
    """Issue 12, failure 6: `python -m studies.analysis … --accuracy results.csv` refused /runs/results.csv."""
    from studies.analysis.inputs import read_accuracy_csv, validate_accuracy

    path = tmp_path / "results.csv"
    path.write_bytes(b"".join(staff_client.get("/runs/results.csv").streaming_content))
    read = read_accuracy_csv(path)
    runs = validate_accuracy(read)
    # The four runs with a test accuracy (correct of 5 predictions); the running one has none yet.
    assert sorted(zip(runs["method"], runs["seed"], runs["accuracy"].round(6), strict=True)) == [
        ("multitask", 0, 0.6),
        ("multitask", 1, 0.4),
        ("multitask", 2, 0.8),
        ("standard", 0, 0.2),
    ]
    assert read.attrs["note"] == f"{path}: 1 training run without a test accuracy left out"
