"""`--preset paper`: the study's outlier removal, its one ANOVA of condition x student size with Tukey HSD within
each size, and sentences where removing outliers changes a conclusion. Synthetic data with planted outliers;
every number is checked against least squares by hand, scipy or a t-test, never against the code's own output."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from studies.analysis import analyze_accuracy, analyze_ratings, build_report
from studies.analysis.__main__ import main
from studies.analysis.ratings_format import RATINGS_COLUMNS

CF_U, MT_U, MTCF_U, MTCF_R = (
    "counterfactual/unrevised",
    "multitask/unrevised",
    "multitask_counterfactual/unrevised",
    "multitask_counterfactual/revised",
)
SCALES = ["plausibility", "completeness", "contrastiveness"]
# Quality of each participant's item per condition (every scale gets the same value, so quality is the value).
# Quartiles as R's type 7 with 9 values are the 3rd and 7th smallest:
# c1: Q1 = 2, Q3 = 3, bounds [0.5, 4.5]: the 5 (participant p9) is an outlier.
# c2: Q1 = 3, Q3 = 4, bounds [1.5, 5.5]: the 1 (p1) is an outlier (type 6 quartiles, 2.5 and 4.5, would keep it).
# c3: Q1 = 3, Q3 = 5, bounds [0, 8]: none.
QUALITY = {
    "c1": [2, 2, 2, 2, 2, 2, 3, 3, 5],
    "c2": [1, 2, 3, 3, 3, 4, 4, 5, 5],
    "c3": [2, 3, 3, 4, 4, 4, 5, 5, 5],
}
PLANTED = {("c1", "p9"), ("c2", "p1")}


def chars(participant: int, condition: int) -> int:
    return 100 + 37 * ((participant * 7 + condition * 3) % 9)


@pytest.fixture(scope="module")
def ratings() -> pd.DataFrame:
    rows = []
    for c_index, (condition, values) in enumerate(QUALITY.items()):
        for p_index, value in enumerate(values, start=1):
            for scale in SCALES:
                row = dict.fromkeys(RATINGS_COLUMNS, "")
                row |= {
                    "study_id": "1",
                    "participant_id": f"p{p_index}",
                    "condition": condition,
                    "question_id": f"q{c_index}{p_index}",
                    "position": str(c_index + 1),
                    "scale": scale,
                    "value": str(value),
                    "explanation_chars": str(chars(p_index, c_index)),
                    "participant_status": "completed",
                    "attention_check": "false",
                    "test_response": "false",
                }
                rows.append(row)
    return pd.DataFrame(rows, columns=list(RATINGS_COLUMNS))


def items(removed: set) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (condition, f"p{p}", value, chars(p, c))
            for c, (condition, values) in enumerate(QUALITY.items())
            for p, value in enumerate(values, start=1)
            if (condition, f"p{p}") not in removed
        ],
        columns=["condition", "participant", "quality", "chars"],
    )


def least_squares(data: pd.DataFrame) -> dict[str, float]:
    x = np.column_stack(
        [np.ones(len(data)), data["condition"] == "c2", data["condition"] == "c3", data["chars"] / 100]
    ).astype(float)
    beta, *_ = np.linalg.lstsq(x, data["quality"].to_numpy(float), rcond=None)
    return dict(zip(["intercept", "c2", "c3", "length"], beta, strict=True))


@pytest.mark.parametrize("remove", [True, False])
def test_the_ols_of_quality_leaves_out_exactly_the_planted_outliers(ratings, remove):
    analysis = analyze_ratings(ratings, scales=SCALES, remove_outliers=remove)
    flagged = set(
        zip(analysis.quality_outliers["condition"], analysis.quality_outliers["participant_id"], strict=True)
    )
    assert flagged == PLANTED  # flagged either way; left out of the OLS only when removing
    expected = least_squares(items(PLANTED if remove else set()))
    ols = analysis.ols.set_index("term")["estimate"]
    assert ols["c2"] == pytest.approx(expected["c2"], rel=1e-9)
    assert ols["c3"] == pytest.approx(expected["c3"], rel=1e-9)
    assert ols.iloc[-1] == pytest.approx(expected["length"], rel=1e-9)  # per 100 characters
    assert f"n = {27 - 2 * remove}" in analysis.ols["statement"].iloc[-1]


def test_the_mean_explanation_length_per_condition_is_reported(ratings):
    analysis = analyze_ratings(ratings, scales=SCALES)
    table = analysis.explanation_length.set_index("condition")
    for c, condition in enumerate(QUALITY):
        expected = np.mean([chars(p, c) for p in range(1, 10)])
        assert table.loc[condition, "mean_chars"] == pytest.approx(expected)
        assert f"{condition}: {expected:.0f} characters on average" in " ".join(
            analysis.summary["Explanation length"]
        )


# Accuracy: the study's four conditions x two student sizes x six seeds, and two planted outlier runs.
GAIN = {CF_U: 0.0, MT_U: 0.01, MTCF_U: 0.02, MTCF_R: 0.03}
BASE = {"t5-base": 0.40, "t5-large": 0.70}
JITTER = [0.002, -0.001, 0.003, -0.002, 0.001, -0.003]
OUTLIER_RUNS = {(MT_U, "t5-base", 2): 0.10, (MTCF_R, "t5-large", 4): 0.95}


@pytest.fixture(scope="module")
def accuracy() -> pd.DataFrame:
    rows = []
    for condition, gain in GAIN.items():
        method, variant = condition.split("/")
        for student, base in BASE.items():
            for seed, noise in enumerate(JITTER):
                value = OUTLIER_RUNS.get((condition, student, seed), round(base + gain + noise, 4))
                rows.append((method, variant, student, seed, value))
    # A condition outside the study: left out when the study's conditions are named.
    rows += [("standard", "unrevised", student, seed, 0.3) for student in BASE for seed in range(6)]
    return pd.DataFrame(rows, columns=["method", "data_variant", "student", "seed", "accuracy"])


def rss(data: pd.DataFrame, *terms: str) -> float:
    """Residual sum of squares of least squares on dummies of the terms (`a*b`: one mean per cell)."""
    columns = [np.ones(len(data))]
    for term in terms:
        if term == "a*b":
            keys = data["condition"] + "|" + data["student"]
            columns += [(keys == k).to_numpy(float) for k in sorted(keys.unique())[1:]]
        else:
            columns += [(data[term] == level).to_numpy(float) for level in sorted(data[term].unique())[1:]]
    x = np.column_stack(columns)
    y = data["accuracy"].to_numpy(float)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    return float(((y - x @ beta) ** 2).sum())


def test_paper_accuracy_removes_outliers_per_condition_and_size_then_one_anova(accuracy):
    conditions = list(GAIN)
    analysis = analyze_accuracy(accuracy, remove_outliers=True, design="conditions", conditions=conditions)
    removed = analysis.runs[analysis.runs["outlier"]]
    assert set(zip(removed["condition"], removed["student"], removed["seed"], strict=True)) == set(
        OUTLIER_RUNS
    )
    assert set(analysis.runs["condition"]) == set(conditions)

    kept = accuracy.assign(condition=accuracy["method"] + "/" + accuracy["data_variant"])
    kept = kept[kept["condition"].isin(conditions)]
    kept = kept[
        [
            (c, s, d) not in OUTLIER_RUNS
            for c, s, d in zip(kept["condition"], kept["student"], kept["seed"], strict=True)
        ]
    ]
    full = rss(kept, "condition", "student", "a*b")
    residual_df = len(kept) - 8
    expected = {  # type II sums of squares: each main effect after the other, the interaction after both
        "condition": (rss(kept, "student") - rss(kept, "condition", "student"), 3),
        "student size": (rss(kept, "condition") - rss(kept, "condition", "student"), 1),
        "condition x student size": (rss(kept, "condition", "student") - full, 3),
    }
    anova = analysis.anova.set_index("term")
    assert "data_variant" not in analysis.anova.columns  # one ANOVA over the conditions
    for term, (ss, df) in expected.items():
        f = (ss / df) / (full / residual_df)
        assert anova.loc[term, "F"] == pytest.approx(f, rel=1e-6)
        assert anova.loc[term, "p"] == pytest.approx(stats.f.sf(f, df, residual_df), rel=1e-6, abs=1e-300)
    assert anova.loc["residual", "df"] == residual_df

    # Tukey HSD compares the conditions within each student size.
    assert sorted(set(analysis.tukey["student"])) == sorted(BASE)
    for student in BASE:
        cell = kept[kept["student"] == student]
        reference = stats.tukey_hsd(
            *[cell.loc[cell["condition"] == c, "accuracy"].to_numpy() for c in sorted(GAIN)]
        )
        ours = analysis.tukey[analysis.tukey["student"] == student]
        assert len(ours) == 6
        for row in ours.itertuples():
            i, j = sorted(GAIN).index(row.condition_a), sorted(GAIN).index(row.condition_b)
            assert row.p_adj == pytest.approx(reference.pvalue[i, j], abs=1e-3)
            assert row.difference == pytest.approx(-reference.statistic[i, j], rel=1e-9)


def test_the_project_default_keeps_outliers_and_fits_one_anova_per_data_variant(accuracy):
    analysis = analyze_accuracy(accuracy)
    assert analysis.runs["outlier"].sum() == 2 and len(analysis.runs) == len(accuracy)
    assert set(analysis.anova["data_variant"]) == {"unrevised", "revised"} - {
        "revised"
    }  # revised: one method
    cells = analysis.cells.set_index(["method", "data_variant", "student"])
    planted = accuracy[(accuracy["method"] == "multitask") & (accuracy["student"] == "t5-base")]["accuracy"]
    assert cells.loc[("multitask", "unrevised", "t5-base"), "mean"] == pytest.approx(planted.mean())


def test_a_conclusion_that_removing_outliers_changes_is_said_in_one_sentence():
    # B beats A by one point with tiny noise; one diverged run of B hides it unless removed.
    noise = [0.001, -0.002, 0.002, -0.001, 0.0, 0.001]
    rows = [("a", "unrevised", "t5", seed, 0.50 + n) for seed, n in enumerate(noise)]
    rows += [("b", "unrevised", "t5", seed, 0.51 + n) for seed, n in enumerate(noise[:5])]
    rows.append(("b", "unrevised", "t5", 5, 0.20))
    runs = pd.DataFrame(rows, columns=["method", "data_variant", "student", "seed", "accuracy"])
    a, b = runs.loc[runs["method"] == "a", "accuracy"], runs.loc[runs["method"] == "b", "accuracy"]
    p_all = stats.ttest_ind(a, b).pvalue  # one factor of two levels: the ANOVA's F test is the t-test
    p_removed = stats.ttest_ind(a, b[b > 0.3]).pvalue
    assert p_all > 0.05 > p_removed

    for remove in (True, False):
        lines = analyze_accuracy(runs, remove_outliers=remove).summary["Accuracy (mean ± SD over seeds)"]
        changes = [line for line in lines if line.startswith("Removing outliers changes a conclusion")]
        assert (
            "Removing outliers changes a conclusion: the accuracy ANOVA's method on unrevised data is significant "
            f"only after removing them (p = {p_all:.3f} with all data, p < 0.001 without outliers)."
        ) in changes
        assert any("the accuracy difference b − a with t5 on unrevised data" in line for line in changes)
        assert len(changes) == 2


def test_cli_analyses_an_accuracy_file_alone_with_the_paper_preset(accuracy, tmp_path, capsys):
    accuracy.to_csv(tmp_path / "runs.csv", index=False)
    conditions = ",".join(GAIN)
    argv = ["--accuracy", str(tmp_path / "runs.csv"), "--out", str(tmp_path / "out"), "--preset", "paper"]
    assert main([*argv, "--conditions", conditions]) == 0
    printed = capsys.readouterr().out
    assert "Two-way ANOVA over the conditions" in printed and "left out of every statistic" in printed
    report = (tmp_path / "out" / "report.md").read_text()
    assert "Preset: paper; outliers removed, accuracy ANOVA over the conditions." in report
    assert "Outliers: the paper's analysis:" in report and "Why the project differs:" in report


def test_each_preset_choice_is_its_own_option(accuracy, tmp_path):
    report = build_report(None, accuracy, tmp_path, preset="paper", remove_outliers=False)
    assert not report.accuracy.removed_outliers and report.accuracy.design == "conditions"
