"""Tests for analysis.change against published values, independent references and hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from analysis.change import (
    dispersion,
    group_ratio,
    newcombe_difference,
    rate_ratio_exact,
    ratio_of_ratios,
    shared_weights,
    trend_difference,
    weighted_change,
)

Z = 1.959963984540054


@pytest.mark.parametrize(("after", "before"), [(10, 20), (1, 3), (37, 12), (250, 260), (0, 7), (5, 0)])
def test_exact_rate_ratio_is_clopper_pearson_mapped(after: int, before: int) -> None:
    ratio, lo, hi = rate_ratio_exact(after, before)
    ci = binomtest(after, after + before).proportion_ci(0.95, method="exact")
    assert float(lo) == pytest.approx(ci.low / (1 - ci.low), rel=1e-9)
    expected_hi = math.inf if ci.high == 1 else ci.high / (1 - ci.high)
    assert float(hi) == pytest.approx(expected_hi, rel=1e-9)
    assert float(ratio) == (math.inf if before == 0 else after / before)


def test_exact_rate_ratio_of_two_zeros_is_missing() -> None:
    assert all(np.isnan(x) for x in rate_ratio_exact(0, 0))


@pytest.mark.parametrize(("after", "before", "phi"), [
    ([5, 15], [15, 5], 10.0),  # each area 5 from its expected 10: χ² = 25/5 + 25/5 on 1 df
    ([10, 10], [10, 10], 1.0),  # alike: floored at Poisson
    ([7], [3], 1.0),  # one area: no degrees of freedom
    ([0, 6, 6], [0, 2, 6], 1.25),  # the empty area is left out; π = 12/20; χ² = 1.44/1.92 + 1.44/2.88
])
def test_dispersion_hand_computed(after: list[int], before: list[int], phi: float) -> None:
    assert dispersion(after, before) == pytest.approx(phi)


def test_group_ratio_and_ratio_of_ratios_hand_computed() -> None:
    r = group_ratio(20, 20, phi=10.0)  # log variance 10 × (1/20 + 1/20) = 1
    assert (r.value, r.lo, r.hi, r.log_var) == pytest.approx((1.0, math.exp(-Z), math.exp(Z), 1.0))
    cohort, rest = group_ratio(80, 100), group_ratio(90, 100)
    rr = ratio_of_ratios(cohort, rest)
    var = 1 / 80 + 1 / 100 + 1 / 90 + 1 / 100
    assert rr.value == pytest.approx(0.8 / 0.9)
    assert (rr.lo, rr.hi) == pytest.approx((0.8 / 0.9 * math.exp(-Z * math.sqrt(var)),
                                            0.8 / 0.9 * math.exp(Z * math.sqrt(var))))
    assert math.isnan(group_ratio(0, 10).value)


# Newcombe (1998), Table II, method 10 (hybrid score): p1 = a/m, p2 = b/n; interval for p2 - p1.
@pytest.mark.parametrize(("a", "m", "b", "n", "lo", "hi"), [
    (48, 80, 56, 70, 0.0524, 0.3339), (3, 10, 9, 10, 0.1705, 0.8090), (2, 7, 6, 7, 0.0582, 0.8062),
    (0, 29, 5, 56, -0.0381, 0.1926), (0, 20, 0, 10, -0.1611, 0.2775), (0, 10, 0, 10, -0.2775, 0.2775),
    (0, 20, 10, 10, 0.6791, 1.0000), (0, 10, 10, 10, 0.6075, 1.0000),
])
def test_newcombe_published_examples(a: int, m: int, b: int, n: int, lo: float, hi: float) -> None:
    d, got_lo, got_hi = newcombe_difference(a / m, m, b / n, n)
    assert float(d) == pytest.approx(b / n - a / m)
    assert (round(float(got_lo), 4), round(float(got_hi), 4)) == (lo, hi)


def test_shared_boroughs_count_once_in_a_group_comparison() -> None:
    # Two boroughs; the cohort is all in B1, the rest half in each (by population).
    boroughs = ["B1", "B2"]
    cohort = shared_weights(["B1", "B1", "B2"], [100, 100, 200], [True, True, False], boroughs)
    rest = shared_weights(["B1", "B2"], [100, 100], [True, True], boroughs)
    assert cohort.tolist() == [1.0, 0.0] and rest.tolist() == [0.5, 0.5]
    before, after, n = np.array([0.6, 0.7]), np.array([0.65, 0.7]), np.array([400.0, 400.0])
    change, lo, hi, var = weighted_change(cohort - rest, before, n, after, n)
    assert change == pytest.approx(0.05 - 0.025)
    # Only the borough-level samples enter, weighted 0.5 and -0.5: B1 once, not twice.
    expected_var = 0.25 * (0.65 * 0.35 / 400 + 0.6 * 0.4 / 400) + 0.25 * (0.7 * 0.3 / 400 * 2)
    assert var == pytest.approx(expected_var)
    assert (lo, hi) == pytest.approx((change - Z * math.sqrt(expected_var), change + Z * math.sqrt(expected_var)))


def test_trend_difference_recovers_a_known_extra_trend() -> None:
    months = [f"2021-{m:02d}" for m in range(1, 13)]
    season = np.array([1.0, 0.9, 1.1, 1.0, 1.2, 0.8, 1.0, 1.1, 0.9, 1.0, 1.05, 0.95])
    rest = 1000 * season
    grows = trend_difference(200 * season * 1.02 ** np.arange(12), rest, months)
    assert grows.per_year == pytest.approx(1.02 ** 12)
    same = trend_difference(200 * season, rest, months)
    assert same.per_year == pytest.approx(1.0)
    assert grows.months == ("2021-01", "2021-12")


def test_trend_difference_is_calibrated_when_nothing_diverges() -> None:
    """With Poisson noise and the same trend, 'diverging' (p < 0.05) comes up about 5% of the time."""
    rng = np.random.default_rng(11)
    months = [f"2021-{m:02d}" for m in range(1, 13)]
    season = np.array([1.0, 0.9, 1.1, 1.0, 1.2, 0.8, 1.0, 1.1, 0.9, 1.0, 1.05, 0.95]) * 0.98 ** np.arange(12)
    p = [trend_difference(rng.poisson(300 * season), rng.poisson(3000 * season), months).p for _ in range(300)]
    assert 0.01 <= np.mean(np.array(p) < 0.05) <= 0.11


def test_trend_difference_interval_widens_with_noise() -> None:
    rng = np.random.default_rng(3)
    months = [f"2021-{m:02d}" for m in range(1, 13)]
    noisy = trend_difference(rng.poisson(200, 12), rng.poisson(1000, 12), months)
    assert noisy.lo < noisy.per_year < noisy.hi and noisy.lo < 1 < noisy.hi
    with pytest.raises(ValueError, match="at least 3 months"):
        trend_difference([1, 2], [3, 4], months[:2])


def test_trend_difference_equals_statsmodels_quasi_poisson_glm_with_t() -> None:
    """The binomial form gives the GLM's estimate, scale and standard error; the interval uses t on months − 2."""
    import statsmodels.api as sm
    from scipy import stats

    rng = np.random.default_rng(5)
    months = [f"2021-{m:02d}" for m in range(1, 13)]
    group = rng.poisson(300 * 1.01 ** np.arange(12) * rng.gamma(40, 1 / 40, 12))
    rest = rng.poisson(900 * rng.gamma(40, 1 / 40, 12))
    ours = trend_difference(group, rest, months)
    k = 12
    design = np.column_stack([np.tile(np.eye(k), (2, 1)), np.r_[np.ones(k), np.zeros(k)],
                              np.r_[np.arange(k), np.zeros(k)]])
    fit = sm.GLM(np.r_[group, rest], design, family=sm.families.Poisson()).fit(scale="X2")
    beta, se, df = fit.params[-1], fit.bse[-1], fit.df_resid
    assert df == k - 2
    half = stats.t.ppf(0.975, df) * se
    assert (ours.per_year, ours.lo, ours.hi) == pytest.approx(
        (math.exp(12 * beta), math.exp(12 * (beta - half)), math.exp(12 * (beta + half))), rel=1e-8)
    assert ours.p == pytest.approx(2 * stats.t.sf(abs(beta / se), df), rel=1e-6)
