"""Is a difference between two evaluations on the same samples real or noise?

Pure functions over per-sample arrays, checked against SciPy and statsmodels in the tests:

- ``mcnemar``: paired correctness (accuracy-like metrics): the exact binomial test on the
  discordant pairs when there are fewer than 25 of them, else the chi-squared test with
  continuity correction, as statsmodels' ``mcnemar`` computes them;
- ``paired_bootstrap``: a percentile interval of the difference of means of any
  per-sample-decomposable score, resampling samples (pairs) with a seeded generator;
- ``paired_bootstrap_of``: the same for a metric computed from weighted samples (COCO AP over
  images, mIoU from per-image pixel counts), resampling images;
- ``holm``: Holm's step-down correction when several comparisons are made at once;
- ``samples_needed``: how many samples a paired comparison needs to detect the observed
  difference at a stated significance level and power.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

EXACT_BELOW = 25  # discordant pairs under which McNemar's test is exact
RESAMPLES = 2000
CHUNK = 64  # resamples drawn at once (bounded memory: CHUNK x samples indices)
DISCRETE = 64  # at most this many distinct differences: resample counts, not indices


@dataclass(frozen=True)
class McNemar:
    only_baseline: int  # right in the baseline, wrong in the candidate (regressed)
    only_candidate: int  # wrong in the baseline, right in the candidate (fixed)
    statistic: float
    p_value: float
    exact: bool


def mcnemar(baseline: NDArray[Any], candidate: NDArray[Any]) -> McNemar:
    """McNemar's test of paired correctness (boolean arrays, one entry per sample)."""
    from scipy import stats

    a = np.asarray(baseline, dtype=bool)
    b = np.asarray(candidate, dtype=bool)
    if a.shape != b.shape:
        raise ValueError("the two evaluations must score the same samples")
    regressed = int(np.count_nonzero(a & ~b))
    fixed = int(np.count_nonzero(~a & b))
    n = regressed + fixed
    if n == 0:
        return McNemar(regressed, fixed, 0.0, 1.0, True)
    if n < EXACT_BELOW:
        low = min(regressed, fixed)
        p = min(1.0, 2 * float(stats.binom.cdf(low, n, 0.5)))
        return McNemar(regressed, fixed, float(low), p, True)
    statistic = (abs(regressed - fixed) - 1) ** 2 / n
    return McNemar(regressed, fixed, statistic, float(stats.chi2.sf(statistic, 1)), False)


@dataclass(frozen=True)
class Interval:
    delta: float  # mean(candidate) - mean(baseline)
    low: float
    high: float
    confidence: float
    resamples: int

    @property
    def significant(self) -> bool:
        """The interval excludes no difference."""
        return self.low > 0 or self.high < 0


def paired_bootstrap(
    baseline: NDArray[Any],
    candidate: NDArray[Any],
    *,
    resamples: int = RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile interval of ``mean(candidate - baseline)`` over resampled samples."""
    a = np.asarray(baseline, dtype=np.float64)
    b = np.asarray(candidate, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError("the two evaluations must score the same, non-empty samples")
    diff = b - a
    n = len(diff)
    rng = np.random.default_rng(seed)
    values, counts = np.unique(diff, return_counts=True)
    if len(values) <= DISCRETE:
        # Few distinct differences (correctness, keyword hits, judge scores): drawing n
        # samples with replacement is drawing how many of each value, a multinomial, so the
        # resampled means have exactly the index-resampling distribution at O(values) each.
        drawn = rng.multinomial(n, counts / n, size=resamples)
        means = drawn @ values / n
    else:
        means = np.empty(resamples)
        for start in range(0, resamples, CHUNK):
            k = min(CHUNK, resamples - start)
            idx = rng.integers(0, n, size=(k, n))
            means[start : start + k] = diff[idx].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Interval(float(diff.mean()), float(low), float(high), confidence, resamples)


Stat = Callable[[NDArray[np.float64]], dict[str, NDArray[np.float64]]]


def paired_bootstrap_of(
    baseline: Stat,
    candidate: Stat,
    samples: int,
    *,
    resamples: int = RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Interval]:
    """Percentile intervals of ``candidate(w)[m] - baseline(w)[m]`` for metrics that are no
    mean of per-sample values (COCO AP, mIoU). Each function maps weights (resamples x
    samples: how often each sample was drawn) to each metric per resample; both see the same
    draws. Resamples where a metric is undefined (nothing left to measure) are left out."""
    if samples < 1:
        raise ValueError("the two evaluations must score the same, non-empty samples")
    ones = np.ones((1, samples))
    a, b = baseline(ones), candidate(ones)
    rng = np.random.default_rng(seed)
    p = np.full(samples, 1 / samples)
    diffs = {m: np.empty(resamples) for m in a}
    for start in range(0, resamples, CHUNK):
        k = min(CHUNK, resamples - start)
        w = rng.multinomial(samples, p, size=k).astype(np.float64)
        wa, wb = baseline(w), candidate(w)
        for m, d in diffs.items():
            d[start : start + k] = wb[m] - wa[m]
    tail = (1 - confidence) / 2
    out = {}
    for m, d in diffs.items():
        delta = float(b[m][0] - a[m][0])
        kept = d[~np.isnan(d)]
        low, high = np.quantile(kept, [tail, 1 - tail]) if len(kept) else (delta, delta)
        out[m] = Interval(delta, float(low), float(high), confidence, resamples)
    return out


def holm(p_values: list[float]) -> list[float]:
    """Holm-adjusted p-values, in the given order."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    order = np.argsort(p, kind="mergesort")
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def samples_needed(
    baseline: NDArray[Any], candidate: NDArray[Any], *, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Samples a paired two-sided test needs to detect the observed mean difference with
    this power (normal approximation: ``n = ((z_a/2 + z_b) * sd / delta)^2``, sd of the
    per-sample differences). None when there is no difference to detect."""
    from scipy import stats

    diff = np.asarray(candidate, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    delta = float(diff.mean())
    sd = float(diff.std(ddof=1)) if len(diff) > 1 else 0.0
    if delta == 0 or sd == 0:
        return None
    z = float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))
    return int(np.ceil((z * sd / abs(delta)) ** 2))
