"""Tests for analysis.stats: Garwood and Wilson intervals against published values, EB against PySAL."""

from __future__ import annotations

import numpy as np
import pytest
from esda.smoothing import Empirical_Bayes
from scipy import stats

from analysis.stats import empirical_bayes_rates, poisson_rate_ci, wilson_ci

# Garwood 95% limits for k events, as tabulated (e.g. Ulm 1990, Am J Epidemiol 131:373).
GARWOOD_95 = [
    (0, 0.0, 3.689),
    (1, 0.0253, 5.572),
    (5, 1.623, 11.668),
    (10, 4.795, 18.390),
    (20, 12.217, 30.888),
]


@pytest.mark.parametrize(("k", "low", "high"), GARWOOD_95)
def test_garwood_limits_match_published_table(k: int, low: float, high: float) -> None:
    _, lower, upper = poisson_rate_ci(k, 1000, per=1000)
    assert lower == pytest.approx(low, abs=6e-4)
    assert upper == pytest.approx(high, abs=6e-4)


@pytest.mark.parametrize(("count", "population", "per", "rate"), [
    (10, 2000, 1000, 5.0),
    (3, 1500, 1000, 2.0),
    (7, 70_000, 100_000, 10.0),
    (0, 400, 1000, 0.0),
])
def test_rate_is_count_over_population_per(count: int, population: int, per: float, rate: float) -> None:
    got, lower, upper = poisson_rate_ci(count, population, per=per)
    assert got == pytest.approx(rate)
    assert lower <= got <= upper


def test_ten_crimes_in_two_thousand_residents() -> None:
    rate, lower, upper = poisson_rate_ci([10], [2000])
    np.testing.assert_allclose([rate[0], lower[0], upper[0]], [5.0, 4.795 / 2, 18.390 / 2], atol=5e-4)


@pytest.mark.parametrize(("count", "population"), [
    (5, 0), (5, np.nan), (5, -10), (np.nan, 100), (5, None),
])
def test_missing_or_zero_population_gives_nan(count: float, population: float | None) -> None:
    rate, lower, upper = poisson_rate_ci([count], np.array([population], dtype=object))
    assert np.isnan(rate[0]) and np.isnan(lower[0]) and np.isnan(upper[0])


def test_poisson_ci_is_vectorised_and_keeps_shape() -> None:
    counts = np.array([[0, 1], [10, 20]])
    rate, lower, upper = poisson_rate_ci(counts, 1000, per=1000)
    assert rate.shape == lower.shape == upper.shape == (2, 2)
    np.testing.assert_allclose(lower.ravel(), [row[1] for row in GARWOOD_95 if row[0] in (0, 1, 10, 20)], atol=6e-4)


def test_narrower_level_gives_narrower_interval() -> None:
    _, low95, high95 = poisson_rate_ci(10, 1000)
    _, low90, high90 = poisson_rate_ci(10, 1000, level=0.90)
    assert low95 < low90 < high90 < high95


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"count": [-1], "population": [10]}, "non-negative"),
    ({"count": [1], "population": [10], "level": 1.0}, "level"),
    ({"count": [1], "population": [10], "level": 0}, "level"),
])
def test_poisson_ci_rejects_bad_input(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        poisson_rate_ci(**kwargs)


# Wilson intervals: p=0.5, n=100 (textbook) and the examples in Newcombe (1998), Stat Med 17:857, Table I.
WILSON_PUBLISHED = [
    (50, 100, 0.4038, 0.5962),
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
    (29, 29, 0.8830, 1.0),
]


@pytest.mark.parametrize(("x", "n", "low", "high"), WILSON_PUBLISHED)
def test_wilson_matches_published_values(x: int, n: int, low: float, high: float) -> None:
    lower, upper = wilson_ci(x / n, n)
    assert lower == pytest.approx(low, abs=6e-5)
    assert upper == pytest.approx(high, abs=6e-5)


def _wilson_closed_form(p: np.ndarray, n: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson (1927) written as (2np + z² ± z·sqrt(z² + 4np(1-p))) / (2(n + z²))."""
    z = stats.norm.isf((1 - level) / 2)
    root = z * np.sqrt(z**2 + 4 * n * p * (1 - p))
    return (2 * n * p + z**2 - root) / (2 * (n + z**2)), (2 * n * p + z**2 + root) / (2 * (n + z**2))


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99])
def test_wilson_matches_independent_closed_form(level: float) -> None:
    rng = np.random.default_rng(7)
    n = rng.integers(5, 2000, 200).astype(float)
    p = rng.integers(0, n + 1) / n
    lower, upper = wilson_ci(p, n, level=level)
    expected_lower, expected_upper = _wilson_closed_form(p, n, level)
    np.testing.assert_allclose(lower, expected_lower, atol=1e-12)
    np.testing.assert_allclose(upper, expected_upper, atol=1e-12)


@pytest.mark.parametrize("n", [0, np.nan, -5])
def test_wilson_missing_sample_size_gives_nan(n: float) -> None:
    lower, upper = wilson_ci([0.6], [n])
    assert np.isnan(lower[0]) and np.isnan(upper[0])


@pytest.mark.parametrize("p", [-0.1, 1.2, 66.0])
def test_wilson_rejects_proportions_outside_unit_interval(p: float) -> None:
    with pytest.raises(ValueError, match="proportions"):
        wilson_ci([p], [100])


def test_eb_global_matches_pysal() -> None:
    rng = np.random.default_rng(1)
    populations = rng.integers(200, 20_000, 300)
    counts = rng.poisson(populations * rng.gamma(4, 0.01 / 4, populations.size))
    ours = empirical_bayes_rates(counts, populations)
    pysal = Empirical_Bayes(counts, populations).r.ravel()
    np.testing.assert_allclose(ours, pysal, rtol=1e-12)


def test_eb_hand_computed_example() -> None:
    # m = 47/2300; s² = Σn(r-m)²/Σn; A = s² - m/575; C_i = A/(A + m/n_i).
    counts, pops = np.array([2, 10, 30, 5]), np.array([100, 1000, 1000, 200])
    m = counts.sum() / pops.sum()
    r = counts / pops
    a = (pops * (r - m) ** 2).sum() / pops.sum() - m / pops.mean()
    c = a / (a + m / pops)
    np.testing.assert_allclose(empirical_bayes_rates(counts, pops), c * r + (1 - c) * m)
    assert a > 0


def test_eb_negative_variance_is_floored_to_the_mean() -> None:
    # Rates 0.010, 0.011, 0.009 on 1,000 residents: spread far below Poisson noise.
    rates = empirical_bayes_rates([10, 11, 9], [1000, 1000, 1000], per=1000)
    np.testing.assert_allclose(rates, [10.0, 10.0, 10.0])


def test_eb_groups_shrink_toward_their_own_group() -> None:
    rng = np.random.default_rng(3)
    pops = rng.integers(500, 5000, 120)
    groups = np.repeat(["E09000001", "E09000002", "E09000003"], 40)
    risk = np.repeat([0.01, 0.03, 0.06], 40) * rng.gamma(3, 1 / 3, 120)
    counts = rng.poisson(pops * risk)
    local = empirical_bayes_rates(counts, pops, groups)
    for code in np.unique(groups):
        inside = groups == code
        np.testing.assert_allclose(local[inside], Empirical_Bayes(counts[inside], pops[inside]).r.ravel(), rtol=1e-12)


def test_eb_all_zero_counts_stay_zero() -> None:
    np.testing.assert_array_equal(empirical_bayes_rates([0, 0, 0], [10, 20, 30]), [0.0, 0.0, 0.0])


def test_eb_excludes_zero_population_and_missing_group() -> None:
    counts, pops = [5, 7, 3, 9, 4], [1000, 0, 800, 1200, 900]
    groups = ["a", "a", None, "b", "b"]
    got = empirical_bayes_rates(counts, pops, groups)
    assert np.isnan(got[1]) and np.isnan(got[2])
    # The zero-population ward leaves group "a" with one ward, whose rate is its own.
    assert got[0] == pytest.approx(5 / 1000)
    expected = empirical_bayes_rates([5, 3, 9, 4], [1000, 800, 1200, 900])
    np.testing.assert_allclose(empirical_bayes_rates(counts, pops)[[0, 2, 3, 4]], expected)


def test_eb_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="length"):
        empirical_bayes_rates([1, 2], [10, 20, 30])
