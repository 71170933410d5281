"""Significance statistics against SciPy and statsmodels on fixed data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower

from assay.metrics.significance import holm, mcnemar, paired_bootstrap, samples_needed


def _pairs(n: int, p_a: float, p_b: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random(n) < p_a, rng.random(n) < p_b


@pytest.mark.parametrize(("n", "p_b"), [(40, 0.7), (2000, 0.72), (2000, 0.70), (10, 0.5)])
def test_mcnemar_equals_statsmodels(n: int, p_b: float) -> None:
    a, b = _pairs(n, 0.7, p_b, seed=n)
    got = mcnemar(a, b)
    table = [
        [np.sum(a & b), np.sum(a & ~b)],
        [np.sum(~a & b), np.sum(~a & ~b)],
    ]
    want = sm_mcnemar(table, exact=got.exact, correction=True)
    assert got.p_value == pytest.approx(want.pvalue, rel=1e-12, abs=1e-15)
    assert got.statistic == pytest.approx(want.statistic, rel=1e-12)
    assert (got.only_baseline, got.only_candidate) == (table[0][1], table[1][0])
    assert got.exact == (table[0][1] + table[1][0] < 25)


def test_mcnemar_identical_results_are_no_evidence() -> None:
    a = np.array([True, False, True])
    assert mcnemar(a, a).p_value == 1.0


@pytest.mark.parametrize("seed", [1, 2])
def test_paired_bootstrap_agrees_with_scipy_and_is_reproducible(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(0.5, 0.2, 3000)
    b = a + rng.normal(0.01, 0.1, 3000)
    got = paired_bootstrap(a, b, resamples=4000, seed=7)
    assert got == paired_bootstrap(a, b, resamples=4000, seed=7)  # same seed, same numbers
    ref = stats.bootstrap(
        (a, b),
        lambda x, y, axis=-1: np.mean(y - x, axis=axis),
        paired=True,
        method="percentile",
        n_resamples=4000,
        confidence_level=0.95,
        random_state=np.random.default_rng(11),
    ).confidence_interval
    width = ref.high - ref.low
    assert got.delta == pytest.approx(float(np.mean(b - a)), rel=1e-12)
    assert abs(got.low - ref.low) < 0.1 * width and abs(got.high - ref.high) < 0.1 * width
    assert got.significant == (ref.low > 0 or ref.high < 0)


def test_holm_equals_statsmodels() -> None:
    p = [0.01, 0.04, 0.03, 0.2, 0.001, 0.04]
    want = multipletests(p, method="holm")[1]
    assert holm(p) == pytest.approx(list(want), abs=1e-15)


@pytest.mark.parametrize(("delta", "sd"), [(0.02, 0.3), (0.005, 0.1), (0.1, 0.5)])
def test_samples_needed_equals_a_one_sample_normal_power_solve(delta: float, sd: float) -> None:
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 1, 5000)
    noise = (noise - noise.mean()) / noise.std(ddof=1)
    a = np.zeros(5000)
    b = delta + sd * noise  # per-sample differences with exactly this mean and sd
    n = samples_needed(a, b, alpha=0.05, power=0.8)
    want = NormalIndPower().solve_power(
        effect_size=delta / sd, alpha=0.05, power=0.8, ratio=0, alternative="two-sided"
    )
    assert n is not None and abs(n - want) < 1  # statsmodels also counts the far tail
    assert samples_needed(a, a) is None


def test_bootstrap_of_discrete_scores_matches_scipy() -> None:
    a, b = _pairs(5000, 0.70, 0.74, seed=3)  # correctness: differences in {-1, 0, 1}
    got = paired_bootstrap(a, b, resamples=4000, seed=1)
    ref = stats.bootstrap(
        (a.astype(float), b.astype(float)),
        lambda x, y, axis=-1: np.mean(y - x, axis=axis),
        paired=True,
        method="percentile",
        n_resamples=4000,
        random_state=np.random.default_rng(5),
    ).confidence_interval
    width = ref.high - ref.low
    assert abs(got.low - ref.low) < 0.1 * width and abs(got.high - ref.high) < 0.1 * width
