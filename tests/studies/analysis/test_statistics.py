"""Every statistic matches an independent computation: a formula by hand, a published example or another library."""

import numpy as np
import pandas as pd
import pytest
import scikit_posthocs
from scipy import stats
from statsmodels.stats.multitest import multipletests

from studies.analysis.agreement import krippendorff_alpha
from studies.analysis.descriptives import QUALITY, observations
from studies.analysis.design import holm
from studies.analysis.paper_tests import dunn_with_vda, kruskal_wallis, ols_quality, vargha_delaney_a
from studies.analysis.power import dunn_z

from .conftest import BETTER, CONDITIONS, small_study


def long_table(groups: dict[str, list[float]], outcome: str = "plausibility") -> pd.DataFrame:
    rows = [(outcome, "p", g, "q", v, 100) for g, values in groups.items() for v in values]
    return pd.DataFrame(
        rows, columns=["outcome", "participant_id", "condition", "question_id", "value", "explanation_chars"]
    )


def test_kruskal_wallis_matches_the_rank_formula_with_ties():
    groups = {"a": [1, 2, 2, 3, 5, 4], "b": [3, 3, 4, 5, 5, 5], "c": [1, 1, 2, 2, 3]}
    table = kruskal_wallis(long_table(groups), list(groups), alpha=0.05)
    values = np.concatenate([np.array(v, float) for v in groups.values()])
    ranks = stats.rankdata(values)
    n = len(values)
    sizes = [len(v) for v in groups.values()]
    rank_sums = [r.sum() for r in np.split(ranks, np.cumsum(sizes)[:-1])]
    h = 12 / (n * (n + 1)) * sum(r**2 / m for r, m in zip(rank_sums, sizes, strict=True)) - 3 * (n + 1)
    ties = np.unique(values, return_counts=True)[1]
    h /= 1 - (ties**3 - ties).sum() / (n**3 - n)
    assert table.loc[0, "H"] == pytest.approx(h, rel=1e-12)
    assert table.loc[0, "p"] == pytest.approx(stats.chi2.sf(h, df=2), rel=1e-12)
    assert table.loc[0, "epsilon_squared"] == pytest.approx(h / (n - 1))


def test_dunn_matches_a_hand_computed_case():
    # No ties: mean ranks 2, 5, 8 of N = 9; variance N(N+1)/12 = 7.5; z = diff / sqrt(7.5 * (1/3 + 1/3)).
    table = dunn_with_vda(
        long_table({"a": [1, 2, 3], "b": [4, 5, 6], "c": [7, 8, 9]}), ["a", "b", "c"], alpha=0.05
    )
    p_near = 2 * stats.norm.sf(3 / np.sqrt(5))  # a-b and b-c: 0.17971
    p_far = 2 * stats.norm.sf(6 / np.sqrt(5))  # a-c: 0.0072903
    assert p_near == pytest.approx(0.179713, abs=1e-6) and p_far == pytest.approx(0.0072903, abs=1e-6)
    by_pair = table.set_index(["condition_a", "condition_b"])
    assert by_pair.loc[("a", "b"), "p"] == pytest.approx(p_near)
    assert by_pair.loc[("a", "c"), "p"] == pytest.approx(p_far)
    assert by_pair.loc[("a", "b"), "p_bonferroni"] == pytest.approx(min(1, 3 * p_near))
    assert by_pair.loc[("a", "c"), "p_bonferroni"] == pytest.approx(3 * p_far)
    # Holm: smallest p times 3; the next two times 2 (then made monotone).
    assert by_pair.loc[("a", "c"), "p_holm"] == pytest.approx(3 * p_far)
    assert by_pair.loc[("a", "b"), "p_holm"] == pytest.approx(2 * p_near)
    assert by_pair.loc[("b", "c"), "p_holm"] == pytest.approx(2 * p_near)
    assert by_pair.loc[("a", "c"), "A"] == 0.0  # every value of a is below every value of c
    assert "c is rated higher on plausibility than a (A = 1.00" in by_pair.loc[("a", "c"), "statement"]


def test_vectorised_dunn_for_power_matches_scikit_posthocs_with_ties():
    rng = np.random.default_rng(3)
    values = rng.integers(1, 6, size=(5, 60)).astype(float)
    condition = np.repeat([0, 1, 2], 20)
    z = dunn_z(values, condition, 0, 1)
    for row, row_z in zip(values, z, strict=True):
        frame = pd.DataFrame({"value": row, "group": condition})
        expected = scikit_posthocs.posthoc_dunn(frame, val_col="value", group_col="group").loc[0, 1]
        assert 2 * stats.norm.sf(abs(row_z)) == pytest.approx(expected, rel=1e-10)


def test_vargha_delaney_a_matches_its_definition():
    rng = np.random.default_rng(0)
    x, y = rng.integers(1, 6, 40), rng.integers(1, 6, 55)
    greater = (np.subtract.outer(x, y) > 0).mean()
    equal = (np.subtract.outer(x, y) == 0).mean()
    assert vargha_delaney_a(x, y) == pytest.approx(greater + 0.5 * equal, rel=1e-12)
    assert vargha_delaney_a(y, x) == pytest.approx(1 - (greater + 0.5 * equal), rel=1e-12)


def test_ols_matches_least_squares_by_hand():
    ratings = small_study(n_participants=10, effects={BETTER: 0.5}, seed=4)
    long = observations(
        ratings.assign(value=ratings["value"].astype(int)),
        ["plausibility", "completeness", "contrastiveness"],
    )
    reference = CONDITIONS[1]
    table = ols_quality(long, CONDITIONS, reference, alpha=0.05)
    quality = long[long["outcome"] == QUALITY]
    others = [c for c in CONDITIONS if c != reference]
    x = np.column_stack(
        [np.ones(len(quality))]
        + [(quality["condition"] == c).to_numpy(float) for c in others]
        + [quality["explanation_chars"].to_numpy(float) / 100]
    )
    y = quality["value"].to_numpy(float)
    beta, residual_ss, *_ = np.linalg.lstsq(x, y, rcond=None)
    sigma2 = residual_ss[0] / (len(y) - x.shape[1])
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(x.T @ x)))
    np.testing.assert_allclose(table["estimate"], beta, rtol=1e-10)
    np.testing.assert_allclose(table["se"], se, rtol=1e-10)
    assert list(table["term"][1:3]) == others
    assert table["term"][0] == f"intercept ({reference}, length 0)"


def test_quality_is_the_mean_over_scales_of_one_item():
    ratings = small_study(n_participants=2)
    long = observations(
        ratings.assign(value=ratings["value"].astype(int)),
        ["plausibility", "completeness", "contrastiveness"],
    )
    first = ratings.iloc[0]
    item = ratings[
        (ratings["participant_id"] == first["participant_id"])
        & (ratings["question_id"] == first["question_id"])
    ]
    quality = long[(long["outcome"] == QUALITY) & (long["participant_id"] == first["participant_id"])]
    assert quality.loc[quality["question_id"] == first["question_id"], "value"].item() == pytest.approx(
        item["value"].astype(int).mean()
    )


def test_krippendorff_alpha_reproduces_krippendorffs_published_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 coders x 12 units, ordinal alpha = 0.815.
    coders = {
        "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    }
    rows = [
        {"participant_id": coder, "condition": "c", "question_id": f"u{unit}", "scale": "s", "value": value}
        for coder, values in coders.items()
        for unit, value in enumerate(values)
        if value is not None
    ]
    table = krippendorff_alpha(pd.DataFrame(rows), ["s"], (1, 5))
    assert table.loc[0, "alpha_ordinal"] == pytest.approx(0.815, abs=0.0005)
    assert table.loc[0, "units_rated_twice_or_more"] == 11


def test_tukey_hsd_matches_scipy(accuracy_runs, accuracy_analysis):
    analysis = accuracy_analysis
    cell = accuracy_runs[
        (accuracy_runs["data_variant"] == "revised") & (accuracy_runs["student"] == "t5-large")
    ]
    methods = sorted(cell["method"].unique())
    reference = stats.tukey_hsd(*[cell.loc[cell["method"] == m, "accuracy"].to_numpy() for m in methods])
    ours = analysis.tukey[
        (analysis.tukey["data_variant"] == "revised") & (analysis.tukey["student"] == "t5-large")
    ]
    for row in ours.itertuples():
        i, j = methods.index(row.method_a), methods.index(row.method_b)
        assert row.p_adj == pytest.approx(reference.pvalue[i, j], abs=1e-3)
        assert row.difference == pytest.approx(
            -reference.statistic[i, j], rel=1e-10
        )  # b - a; scipy gives a - b


def test_anova_matches_sums_of_squares_by_hand(accuracy_runs, accuracy_analysis):
    analysis = accuracy_analysis
    data = accuracy_runs[accuracy_runs["data_variant"] == "revised"]
    grand = data["accuracy"].mean()
    cell = data.groupby(["method", "student"])["accuracy"]
    ss_method = (data.groupby("method")["accuracy"].transform("mean") - grand).pow(2).sum()
    ss_error = (data["accuracy"] - cell.transform("mean")).pow(2).sum()
    df_error = len(data) - cell.ngroups
    f_method = (ss_method / 2) / (ss_error / df_error)  # balanced design: type II = classical sums of squares
    row = analysis.anova[
        (analysis.anova["data_variant"] == "revised") & (analysis.anova["term"] == "method")
    ].iloc[0]
    assert row["F"] == pytest.approx(f_method, rel=1e-9)
    assert row["p"] == pytest.approx(stats.f.sf(f_method, 2, df_error), rel=1e-9)


def test_outliers_follow_the_1_5_iqr_rule_and_are_kept(accuracy_runs, accuracy_analysis):
    analysis = accuracy_analysis
    cell = accuracy_runs[
        (accuracy_runs["method"] == "standard")
        & (accuracy_runs["student"] == "t5-small")
        & (accuracy_runs["data_variant"] == "revised")
    ]["accuracy"]
    q1, q3 = np.percentile(cell, [25, 75])
    expected = ((cell < q1 - 1.5 * (q3 - q1)) | (cell > q3 + 1.5 * (q3 - q1))).sum()
    flagged = analysis.runs[analysis.runs["outlier"]]
    assert expected == 1
    assert len(flagged) == 2 and set(flagged["accuracy"]) == {0.30}  # the diverged run, in both data variants
    assert len(analysis.runs) == len(accuracy_runs)  # flagged, not dropped
    assert any("seed 5 at 30.0%" in line for line in analysis.summary["Accuracy (mean ± SD over seeds)"])
    cells = analysis.cells.set_index(["method", "data_variant", "student"])
    assert cells.loc[("standard", "revised", "t5-small"), "mean"] == pytest.approx(cell.mean())
    assert cells.loc[("standard", "revised", "t5-small"), "sd"] == pytest.approx(cell.std(ddof=1))


def test_bonferroni_and_holm_match_scikit_posthocs_and_statsmodels():
    rng = np.random.default_rng(8)
    groups = {g: list(rng.integers(1, 6, 30) + shift) for g, shift in zip("abcd", [0, 0, 1, 1], strict=True)}
    table = dunn_with_vda(long_table(groups), list(groups), alpha=0.05)
    frame = long_table(groups)
    for method, column in (("bonferroni", "p_bonferroni"), ("holm", "p_holm")):
        reference = scikit_posthocs.posthoc_dunn(
            frame, val_col="value", group_col="condition", p_adjust=method
        )
        expected = [
            reference.loc[a, b] for a, b in zip(table["condition_a"], table["condition_b"], strict=True)
        ]
        np.testing.assert_allclose(table[column], expected, rtol=1e-12)
    p = rng.uniform(0, 0.2, 9)
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-12)
