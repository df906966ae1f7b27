"""95% bootstrap intervals of an accuracy (10,000 resamples), checked against exact distributions and scipy."""

import itertools

import numpy as np
import pytest
from scipy import stats

from training.intervals import bootstrap_interval, share_interval


def test_the_interval_of_a_mean_over_seeds_matches_the_exact_bootstrap_distribution():
    values = [0.6, 0.4, 0.8, 0.7]
    means = [
        np.mean(resample) for resample in itertools.product(values, repeat=len(values))
    ]  # all 256 resamples
    exact = np.quantile(means, [0.025, 0.975])
    assert bootstrap_interval(values) == pytest.approx(tuple(exact), abs=0.02)


def test_the_interval_of_a_mean_matches_scipys_percentile_bootstrap():
    values = np.random.default_rng(3).normal(0.7, 0.05, 40)
    reference = stats.bootstrap((values,), np.mean, n_resamples=10_000, method="percentile", random_state=1)
    ours = bootstrap_interval(values)
    assert ours[0] == pytest.approx(reference.confidence_interval.low, abs=0.002)
    assert ours[1] == pytest.approx(reference.confidence_interval.high, abs=0.002)


def test_the_interval_of_an_accuracy_over_questions_is_the_bootstrap_of_its_0_1_answers():
    correct, total = 933, 1221  # the study's T5-large accuracy, 76.4%
    answers = np.r_[np.ones(correct), np.zeros(total - correct)]
    low, high = share_interval(correct, total)
    assert (low, high) == pytest.approx(bootstrap_interval(answers), abs=0.003)
    # ... and, with this many questions, the normal approximation p ± 1.96·sqrt(p(1 − p)/n)
    p = correct / total
    half = 1.96 * np.sqrt(p * (1 - p) / total)
    assert (low, high) == pytest.approx((p - half, p + half), abs=0.003)


def test_a_share_of_few_questions_takes_the_binomial_quantiles():
    assert share_interval(3, 5) == (stats.binom.ppf(0.025, 5, 0.6) / 5, stats.binom.ppf(0.975, 5, 0.6) / 5)


def test_empty_input_is_refused():
    with pytest.raises(ValueError, match="at least one value"):
        bootstrap_interval([])
    with pytest.raises(ValueError, match="0 <= successes <= total"):
        share_interval(3, 0)
