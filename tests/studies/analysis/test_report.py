"""The report: one call (or one command) writes every table, the plots and a readable report with the key numbers."""

import pandas as pd
import pytest

from studies.analysis import build_report, read_ratings_csv
from studies.analysis.__main__ import main

from .conftest import BETTER, CONDITIONS, SCALES, small_study


@pytest.fixture(scope="module")
def report(effect_ratings, accuracy_runs, tmp_path_factory):
    ratings = effect_ratings.astype(object)
    first = ratings["participant_id"].iloc[0]
    ratings.loc[ratings["participant_id"] == first, "participant_status"] = "screened_out"
    return build_report(ratings, accuracy_runs, tmp_path_factory.mktemp("report"), conditions=CONDITIONS)


def test_every_table_is_written_as_csv(report):
    written = sorted(p.name for p in (report.out_dir / "tables").iterdir())
    assert written == sorted(f"{name}.csv" for name in report.tables)
    assert {"pairwise_dunn_vda", "mixed_pairwise", "agreement_krippendorff", "accuracy_tukey_hsd"} <= set(
        report.tables
    )
    pairwise = pd.read_csv(report.out_dir / "tables" / "pairwise_dunn_vda.csv")
    assert len(pairwise) == 3 * (len(SCALES) + 1)  # three pairs per scale and for quality
    pd.testing.assert_frame_equal(
        pairwise, report.tables["pairwise_dunn_vda"].reset_index(drop=True), check_dtype=False
    )


def test_plots_are_png_files(report):
    for name in ("ratings_by_condition.png", "accuracy.png"):
        path = report.files[name]
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert path.stat().st_size > 20_000


def test_reports_carry_the_key_numbers_and_the_plots(report):
    markdown = report.files["report.md"].read_text()
    html = report.files["report.html"].read_text()
    assert "Excluded 18 rating row(s) of 1 participant(s): participant screened out" in markdown
    assert "![Ratings per condition](plots/ratings_by_condition.png)" in markdown
    assert html.count("data:image/png;base64,") == 2
    kw_line = report.ratings.kruskal_wallis.loc[0, "statement"]
    assert (
        kw_line in markdown
        and kw_line in report.summary["The paper's tests (ratings treated as independent)"]
    )
    assert f"{BETTER} is rated higher on completeness than" in markdown
    assert "| outcome | condition | n | mean | sd | median | q1 | q3 | iqr |" in markdown
    assert "Outlier runs (beyond 1.5 IQR of their cell; kept in every analysis)" in markdown


def test_cli_writes_the_report_and_prints_the_summary(accuracy_runs, tmp_path, capsys):
    small_study(n_participants=12, effects={BETTER: 1.0}).to_csv(tmp_path / "ratings.csv", index=False)
    accuracy_runs.to_csv(tmp_path / "runs.csv", index=False)
    code = main(
        [
            str(tmp_path / "ratings.csv"),
            "--accuracy",
            str(tmp_path / "runs.csv"),
            "--out",
            str(tmp_path / "out"),
            "--reference",
            BETTER,
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert f"reference condition {BETTER}" in printed
    assert "Two-way ANOVA on revised data" in printed
    assert (tmp_path / "out" / "report.html").is_file()
    assert read_ratings_csv(tmp_path / "ratings.csv").attrs["first_line"] == 2


def test_the_cli_reads_the_accuracy_table_of_its_own_report(accuracy_runs, tmp_path):
    """Issue 12, failure 6: tables/accuracy_runs.csv (with its outlier columns) was refused as --accuracy."""
    small_study(n_participants=12, effects={BETTER: 1.0}).to_csv(tmp_path / "ratings.csv", index=False)
    accuracy_runs.to_csv(tmp_path / "runs.csv", index=False)
    ratings = str(tmp_path / "ratings.csv")
    assert main([ratings, "--accuracy", str(tmp_path / "runs.csv"), "--out", str(tmp_path / "first")]) == 0
    again = tmp_path / "first" / "tables" / "accuracy_runs.csv"
    assert main([ratings, "--accuracy", str(again), "--out", str(tmp_path / "second")]) == 0
    for table in ("accuracy_runs", "accuracy_by_method_variant_student", "accuracy_anova"):
        first = pd.read_csv(tmp_path / "first" / "tables" / f"{table}.csv")
        second = pd.read_csv(tmp_path / "second" / "tables" / f"{table}.csv")
        pd.testing.assert_frame_equal(first, second)
