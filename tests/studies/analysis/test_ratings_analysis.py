"""A known effect is found by every test, and null data gives false positives at the expected rate."""

import numpy as np
import pytest
from scipy import stats

from studies.analysis import RatingModel, analyze_ratings
from studies.analysis.descriptives import QUALITY, observations
from studies.analysis.mixed_models import fit_crossed_lmm
from studies.analysis.paper_tests import kruskal_wallis

from .conftest import BETTER, CONDITIONS, EFFECT, INDEPENDENT, SCALES, small_study


def expected_rating(model: RatingModel, shift: float, low: int = 1, high: int = 5) -> float:
    """E[clip(round(latent))] for a normal latent score: what a shift of the latent mean does on the 1-5 scale."""
    centre, sd = model.mean + shift, model.total_sd()
    edges = np.array([-np.inf, *np.arange(low, high) + 0.5, np.inf])
    return float(np.dot(np.arange(low, high + 1), np.diff(stats.norm.cdf(edges, centre, sd))))


def test_known_effect_is_found_by_the_papers_tests(effect_analysis):
    kw = effect_analysis.kruskal_wallis.set_index("outcome")
    assert (kw["p"] < 0.01).all(), kw
    pairs = effect_analysis.pairwise
    with_better = pairs[(pairs["condition_a"] == BETTER) | (pairs["condition_b"] == BETTER)]
    without = pairs[(pairs["condition_a"] != BETTER) & (pairs["condition_b"] != BETTER)]
    assert (with_better["p_bonferroni"] < 0.05).all()
    a_of_better = np.where(with_better["condition_a"] == BETTER, with_better["A"], 1 - with_better["A"])
    assert (a_of_better > 0.6).all()
    assert (without["p_holm"] > 0.05).all()
    statement = with_better.loc[with_better["outcome"] == "completeness", "statement"].iloc[0]
    assert statement.startswith(f"{BETTER} is rated higher on completeness than ")


def test_known_effect_is_recovered_by_the_mixed_model(effect_analysis):
    mixed = effect_analysis.mixed_pairs
    quality = mixed[(mixed["outcome"] == QUALITY) & (mixed["condition_b"] == BETTER)]
    # Rounding and clipping at 5 shrink the latent shift to this many scale points (quality is a mean of scales).
    realised = expected_rating(RatingModel(), EFFECT) - expected_rating(RatingModel(), 0.0)
    assert 0.55 < realised < EFFECT
    assert len(quality) == 2
    for row in quality.itertuples():
        assert row.p_holm < 0.001
        assert row.ci_low < -realised < row.ci_high  # a minus b, b the better condition
    variance = effect_analysis.mixed_variance.set_index("outcome")
    assert variance["converged"].all()
    assert (variance["participant_var"] > 0).all()
    assert all(f"Mixed model: {BETTER} is rated" in s for s in quality["statement"])


def test_mixed_model_recovers_crossed_variance_components():
    """With large participant and question effects and no condition effect, REML finds both variances."""
    model = RatingModel(mean=3.0, sd_participant=0.8, sd_question=0.6, sd_item=0.5, sd_rating=0.01)
    ratings = small_study(n_participants=60, model=model, seed=5)
    ratings = ratings[ratings["scale"] == "plausibility"].assign(value=lambda r: r["value"].astype(int))
    long = observations(ratings, ["plausibility"])
    result, names, notes = fit_crossed_lmm(
        long[long["outcome"] == QUALITY].reset_index(drop=True), CONDITIONS, CONDITIONS[0]
    )
    participant_var, question_var = result.vcomp
    # Rounding to whole points adds about 1/12 to the residual; the components stay near 0.64 and 0.36.
    assert participant_var == pytest.approx(0.64, rel=0.35)
    assert question_var == pytest.approx(0.36, rel=0.5)
    assert names == ["const", *CONDITIONS[1:]]
    assert (np.abs(result.fe_params[1:]) < 0.25).all()


def test_ordinal_view_agrees_on_a_clear_effect(effect_analysis):
    ordinal = effect_analysis.ordinal
    assert set(ordinal["outcome"]) == set(SCALES)
    assert not ordinal["conclusion_changes"].any()
    better_first = ordinal[ordinal["condition_b"] == BETTER]
    assert (better_first["ordinal_log_odds"] < 0).all() and (better_first["ordinal_p_holm"] < 0.05).all()
    assert effect_analysis.summary["Ordinal view"][0].startswith(
        "The proportional-odds view (clustered by participant) agrees"
    )


def test_null_data_gives_false_positives_at_the_nominal_rate():
    """200 null studies of 12 participants with independent ratings: Kruskal-Wallis on quality rejects about 5%."""
    studies, per_study = 200, 12
    ratings = small_study(n_participants=studies * per_study, model=INDEPENDENT, seed=11)
    long = observations(ratings.assign(value=ratings["value"].astype(int)), SCALES)
    quality = long[long["outcome"] == QUALITY].copy()
    # One "outcome" per simulated study, so that one call runs the analysis's test on each study separately.
    quality["outcome"] = quality["participant_id"].str[1:].astype(int) // per_study
    table = kruskal_wallis(quality, CONDITIONS, alpha=0.05)
    assert len(table) == studies and (table["n"] == per_study * 6).all()
    rejections = int((table["p"] < 0.05).sum())
    # Binomial(200, 0.05): mean 10, and 3 <= X <= 19 with probability > 0.99.
    assert 3 <= rejections <= 19, rejections


def test_mixed_model_is_not_overconfident_on_null_data():
    """30 small null studies with participant and question effects: the mixed model rarely rejects."""
    rejections = 0
    for seed in range(30):
        ratings = small_study(n_participants=12, seed=100 + seed)
        long = observations(ratings.assign(value=ratings["value"].astype(int)), SCALES)
        result, _, _ = fit_crossed_lmm(
            long[long["outcome"] == QUALITY].reset_index(drop=True), CONDITIONS, CONDITIONS[0]
        )
        rejections += int(result.pvalues.iloc[1] < 0.05)
    assert rejections <= 5  # Binomial(30, 0.05) exceeds 5 with probability < 0.01


def test_reference_condition_is_selectable(effect_ratings):
    analysis = analyze_ratings(effect_ratings, reference=BETTER, conditions=CONDITIONS, scales=SCALES)
    terms = list(analysis.ols["term"])
    assert terms[0] == f"intercept ({BETTER}, length 0)"
    assert BETTER not in terms
    below = analysis.ols[analysis.ols["term"].isin(CONDITIONS)]
    assert (below["estimate"] < 0).all() and (below["p"] < 0.05).all()
    with pytest.raises(ValueError, match="reference condition 'nope' has no ratings here; choose one of"):
        analyze_ratings(effect_ratings, reference="nope")


def test_descriptives_per_condition_and_scale(effect_analysis, effect_ratings):
    table = effect_analysis.descriptives.set_index(["outcome", "condition"])
    rows = effect_ratings[
        (effect_ratings["scale"] == "completeness") & (effect_ratings["condition"] == BETTER)
    ]
    values = rows["value"].astype(int)
    row = table.loc[("completeness", BETTER)]
    assert row["n"] == len(values) == 80
    assert row["mean"] == pytest.approx(values.mean())
    assert row["sd"] == pytest.approx(values.std())
    assert row["median"] == values.median()
    assert row["iqr"] == values.quantile(0.75) - values.quantile(0.25)
    assert set(table.index.get_level_values("outcome")) == {*SCALES, QUALITY}


def test_study_scales_with_their_own_names_and_range():
    ratings = small_study(n_participants=12, effects={BETTER: 1.0}, seed=2)
    ratings = ratings.assign(
        scale=ratings["scale"].map(dict(zip(SCALES, ["clarity", "trust", "novelty"], strict=True)))
    )
    ratings["value"] = ratings["value"].astype(int) + 1  # 2..6 on a 1-7 scale
    analysis = analyze_ratings(ratings, scale_range=(1, 7))
    assert analysis.scales == ["clarity", "trust", "novelty"]
    assert list(analysis.agreement["scale"]) == ["clarity", "trust", "novelty"]
    assert analysis.conditions == sorted(CONDITIONS)


def test_a_scale_without_variation_is_reported_not_tested():
    ratings = small_study(n_participants=6, seed=3)
    ratings.loc[ratings["scale"] == "plausibility", "value"] = 3
    analysis = analyze_ratings(ratings)
    assert (
        "Every rating on plausibility is 3: no test can compare conditions on it"
        in analysis.summary["Data and exclusions"][1]
    )
    assert "plausibility" not in set(analysis.kruskal_wallis["outcome"]) | set(
        analysis.mixed_pairs["outcome"]
    )
    assert "plausibility" in set(analysis.descriptives["outcome"])
