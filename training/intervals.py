"""Percentile bootstrap intervals of a mean: how sure an accuracy is (the study's extension reports 95%, 10,000
resamples). numpy only, so the web app and the Django-free analysis use the same one."""

import numpy as np

RESAMPLES = 10_000
LEVEL = 0.95
_CHUNK = 1_000  # resamples drawn at once, to bound memory on large samples


def bootstrap_interval(
    values, *, resamples: int = RESAMPLES, level: float = LEVEL, seed: int = 0
) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean of `values` (e.g. 0/1 correctness, or accuracies over
    seeds): resample with replacement `resamples` times, take the (1 − level)/2 and (1 + level)/2 quantiles of
    the resampled means. Seeded, so a report is reproducible."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise ValueError("a bootstrap interval needs at least one value")
    rng = np.random.default_rng(seed)
    means = np.concatenate(
        [
            data[rng.integers(0, data.size, size=(min(_CHUNK, resamples - start), data.size))].mean(axis=1)
            for start in range(0, resamples, _CHUNK)
        ]
    )
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def share_interval(
    successes: int, total: int, *, resamples: int = RESAMPLES, level: float = LEVEL, seed: int = 0
) -> tuple[float, float]:
    """`bootstrap_interval` of a share (e.g. accuracy: `successes` correct of `total`), drawn the fast way: the
    number of ones in a resample of 0/1 values is Binomial(total, successes / total), the same distribution."""
    if total < 1 or not 0 <= successes <= total:
        raise ValueError(f"a share needs 0 <= successes <= total and total >= 1, got {successes} of {total}")
    means = np.random.default_rng(seed).binomial(total, successes / total, size=resamples) / total
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)
