"""Tests for analysis.classify: terciles, the 3×3 class, the flag, robustness and reasons."""

from __future__ import annotations

import mapclassify
import numpy as np
import pytest

from analysis.classify import (
    bivariate_class,
    flag_high_crime_low_trust,
    flags_under_settings,
    quantile_classes,
    reason_sentence,
    robustness_counts,
    tercile_classes,
    threshold_grid,
)
from analysis.stats import poisson_rate_ci, wilson_ci

NAN = float("nan")


@pytest.mark.parametrize(("values", "expected"), [
    # Terciles of 1..6 cut at 2.667 and 4.333.
    ([1, 2, 3, 4, 5, 6], [0, 0, 1, 1, 2, 2]),
    # Nine areas: cuts at 3.667 and 6.333.
    ([9, 8, 7, 6, 5, 4, 3, 2, 1], [2, 2, 2, 1, 1, 1, 0, 0, 0]),
    # NaN is left out of the quantiles and classed -1; cuts from 1..6 as above.
    ([NAN, 1, 2, 3, 4, 5, 6, None], [-1, 0, 0, 1, 1, 2, 2, -1]),
    # Ties share a class; a value equal to a cut goes to the lower class (cuts 2.0 and 2.333).
    ([1, 2, 2, 2, 3, 4], [0, 0, 0, 0, 2, 2]),
])
def test_tercile_classes_hand_computed(values: list, expected: list) -> None:
    assert tercile_classes(np.array(values, dtype=float)).tolist() == expected


@pytest.mark.parametrize(("values", "cuts", "expected"), [
    ([10, 20, 30, 40], (0.5,), [0, 0, 1, 1]),
    ([1, 2, 3, 4, 5], (0.2, 0.4, 0.6, 0.8), [0, 1, 2, 3, 4]),
    ([5, 1, 3], (0.5,), [1, 0, 0]),
])
def test_quantile_classes_other_cuts(values: list, cuts: tuple, expected: list) -> None:
    assert quantile_classes(values, cuts).tolist() == expected


def test_terciles_agree_with_mapclassify_on_distinct_values() -> None:
    values = np.random.default_rng(0).lognormal(2, 0.5, 680)
    np.testing.assert_array_equal(tercile_classes(values), mapclassify.Quantiles(values, k=3).yb)


@pytest.mark.parametrize(("values", "expected"), [
    ([4.0, 4.0, 4.0, 4.0], [0, 0, 0, 0]),
    ([1.0, 1.0, 1.0, 1.0, 2.0], [0, 0, 0, 0, 2]),
    # Both cuts fall on the tied 3s, so the middle class is empty.
    ([1, 2, 3, 3, 3, 4, 5], [0, 0, 0, 0, 0, 2, 2]),
    ([NAN, NAN], [-1, -1]),
])
def test_degenerate_input_warns_and_degrades(values: list, expected: list) -> None:
    with pytest.warns(UserWarning):
        assert tercile_classes(values).tolist() == expected


def test_empty_input_gives_empty_classes() -> None:
    with pytest.warns(UserWarning):
        assert tercile_classes([]).tolist() == []


@pytest.mark.parametrize("cuts", [(), (0.0, 0.5), (0.5, 1.0), (2 / 3, 1 / 3), (0.5, 0.5)])
def test_quantile_classes_rejects_bad_cuts(cuts: tuple) -> None:
    with pytest.raises(ValueError, match="cuts"):
        quantile_classes([1, 2, 3], cuts)


@pytest.mark.parametrize(("crime", "trust", "code", "label"), [
    (0, 0, "C1-T1", "low crime, low trust"),
    (0, 1, "C1-T2", "low crime, mid trust"),
    (0, 2, "C1-T3", "low crime, high trust"),
    (1, 0, "C2-T1", "mid crime, low trust"),
    (1, 1, "C2-T2", "mid crime, mid trust"),
    (1, 2, "C2-T3", "mid crime, high trust"),
    (2, 0, "C3-T1", "high crime, low trust"),
    (2, 1, "C3-T2", "high crime, mid trust"),
    (2, 2, "C3-T3", "high crime, high trust"),
    (-1, 2, "n/a", "no data"),
    (2, -1, "n/a", "no data"),
])
def test_bivariate_class_all_cells(crime: int, trust: int, code: str, label: str) -> None:
    codes, labels = bivariate_class([crime], [trust])
    assert (codes[0], labels[0]) == (code, label)


@pytest.mark.parametrize(("crime", "trust"), [([3], [0]), ([0], [-2]), ([0, 1], [0])])
def test_bivariate_class_rejects_bad_classes(crime: list, trust: list) -> None:
    with pytest.raises(ValueError):
        bivariate_class(crime, trust)


CRIME = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
TRUST = [0.9, 0.5, 0.8, 0.6, 0.55, 0.85]


@pytest.mark.parametrize(("crime_pct", "trust_pct", "expected"), [
    # Cuts: crime 4.333, trust 0.5833 → only area 5 (crime 5, trust 0.55).
    (2 / 3, 1 / 3, [0, 0, 0, 0, 1, 0]),
    # Cuts: crime 3.5, trust 0.7 → areas 4 and 5.
    (0.5, 0.5, [0, 0, 0, 1, 1, 0]),
    # Cuts: crime 1.0 (everyone), trust 0.5 (minimum) → area 2 only.
    (0.0, 0.0, [0, 1, 0, 0, 0, 0]),
    # Cuts: crime 6.0 (maximum), trust 0.9 → area 6 only.
    (1.0, 1.0, [0, 0, 0, 0, 0, 1]),
])
def test_percentile_flag_hand_computed(crime_pct: float, trust_pct: float, expected: list) -> None:
    flags = flag_high_crime_low_trust(CRIME, TRUST, crime_pct=crime_pct, trust_pct=trust_pct)
    assert flags.astype(int).tolist() == expected


def test_percentile_flag_includes_ties_at_the_threshold_and_never_flags_missing() -> None:
    # Trust is a borough figure shared by wards: 1/3 quantile of [0.6]*3 + [0.7]*3 is 0.6.
    crime = [10.0, 11.0, 12.0, 1.0, 2.0, NAN]
    trust = [0.6, 0.6, 0.6, 0.7, 0.7, 0.6]
    flags = flag_high_crime_low_trust(crime, trust, crime_pct=0.5, trust_pct=1 / 3)
    assert flags.tolist() == [True, True, True, False, False, False]


def test_default_flag_is_the_c3_t1_cell_when_values_are_distinct() -> None:
    rng = np.random.default_rng(5)
    crime, trust = rng.gamma(3, 20, 680), rng.beta(8, 4, 680)
    codes, _ = bivariate_class(tercile_classes(crime), tercile_classes(trust))
    np.testing.assert_array_equal(flag_high_crime_low_trust(crime, trust), codes == "C3-T1")


def test_percentile_flag_per_period_columns() -> None:
    crime = np.column_stack([CRIME, CRIME[::-1]])
    trust = np.column_stack([TRUST, TRUST])
    flags = flag_high_crime_low_trust(crime, trust)
    assert flags.shape == (6, 2)
    assert flags[:, 0].astype(int).tolist() == [0, 0, 0, 0, 1, 0]
    # Reversed crime: areas 1-2 have the top crime (6, 5); area 2 has trust 0.5.
    assert flags[:, 1].astype(int).tolist() == [0, 1, 0, 0, 0, 0]
    assert robustness_counts(flags).tolist() == [0, 1, 0, 0, 1, 0]


@pytest.mark.parametrize(("crime_lower", "trust_upper", "expected"), [
    ([12.0, 12.0, 9.0, 10.0, NAN], [0.60, 0.70, 0.60, 0.60, 0.60], [True, False, False, False, False]),
    ([10.1, 50.0, 11.0, 11.0, 11.0], [0.649, 0.65, NAN, 0.1, 0.9], [True, False, False, True, False]),
])
def test_interval_flag_hand_computed(crime_lower: list, trust_upper: list, expected: list) -> None:
    # London: 10 crimes per 1,000 and 65% trust; both comparisons strict.
    flags = flag_high_crime_low_trust([0] * 5, [0] * 5, method="interval", crime_ci=(crime_lower, None),
                                      trust_ci=(None, trust_upper), london_crime=10.0, london_trust=0.65)
    assert flags.tolist() == expected


def test_interval_flag_from_real_intervals() -> None:
    # 40 crimes / 2,000 residents → 20 per 1,000 (lower 14.3) vs London 10: clearly higher.
    # 12 crimes / 1,000 → 12 per 1,000 (lower 6.2): could be London's rate by chance.
    rate, low, high = poisson_rate_ci([40, 12], [2000, 1000])
    trust_low, trust_high = wilson_ci([0.50, 0.50], [400, 400])
    flags = flag_high_crime_low_trust(rate, [0.5, 0.5], method="interval", crime_ci=(low, high),
                                      trust_ci=(trust_low, trust_high), london_crime=10.0, london_trust=0.66)
    assert flags.tolist() == [True, False]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "interval"}, "interval rule needs"),
    ({"method": "interval", "crime_ci": ([1], [2]), "trust_ci": ([1], [2]), "london_crime": 1.0}, "needs"),
    ({"method": "zscore"}, "method"),
    ({"crime_pct": 1.5}, "crime_pct"),
    ({"trust_pct": -0.1}, "trust_pct"),
])
def test_flag_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        flag_high_crime_low_trust([1.0], [0.5], **kwargs)


def test_threshold_grid_is_3_by_3_around_the_setting() -> None:
    grid = threshold_grid(2 / 3, 1 / 3, step=0.05)
    assert grid.shape == (9, 2)
    np.testing.assert_allclose(grid[4], [2 / 3, 1 / 3])
    np.testing.assert_allclose(np.unique(grid[:, 0]), [2 / 3 - 0.05, 2 / 3, 2 / 3 + 0.05])
    np.testing.assert_allclose(np.unique(grid[:, 1]), [1 / 3 - 0.05, 1 / 3, 1 / 3 + 0.05])


def test_threshold_grid_clips_to_unit_interval() -> None:
    grid = threshold_grid(0.98, 0.02, step=0.05)
    assert grid.min() >= 0.0 and grid.max() <= 1.0
    np.testing.assert_allclose(grid[-1], [1.0, 0.07])


def test_flags_under_settings_equals_one_flag_per_setting() -> None:
    rng = np.random.default_rng(9)
    crime, trust = rng.gamma(3, 20, 200), rng.beta(8, 4, 200)
    crime[::17] = np.nan
    grid = threshold_grid()
    matrix = flags_under_settings(crime, trust, grid)
    expected = np.column_stack([flag_high_crime_low_trust(crime, trust, crime_pct=c, trust_pct=t) for c, t in grid])
    np.testing.assert_array_equal(matrix, expected)


@pytest.mark.parametrize(("matrix", "expected"), [
    ([[True, True, True], [False, True, False], [False, False, False]], [3, 1, 0]),
    (np.zeros((4, 0), dtype=bool), [0, 0, 0, 0]),
    ([[1, 0, 1, 1]], [3]),
])
def test_robustness_counts(matrix: list, expected: list) -> None:
    assert robustness_counts(matrix).tolist() == expected


def test_robustness_counts_rejects_1d() -> None:
    with pytest.raises(ValueError, match="2-D"):
        robustness_counts([True, False])


@pytest.mark.parametrize(("args", "kwargs", "expected"), [
    (("Burglary", 2.14, "Trust MPS", 0.58, 0.66), {"trust_ci": (0.52, 0.64)},
     "Burglary 2.1× the London rate; 'Trust MPS' 58% (95% CI 52–64%) against London 66%"),
    (("Burglary", 2.14, "Trust MPS", 0.58, 0.66), {"trust_ci": (0.52, 0.64), "borough_figure": True},
     "Burglary 2.1× the London rate; 'Trust MPS' 58% (borough figure; 95% CI 52–64%) against London 66%"),
    (("Violence", 1.25, "Fair treatment", 0.7, 0.75), {"trust_ci": (0.61, 0.78), "level": 0.9},
     "Violence 1.2× the London rate; 'Fair treatment' 70% (90% CI 61–78%) against London 75%"),
    (("Robbery", NAN, "Trust MPS", 0.6, 0.66), {},
     "Robbery rate not available; 'Trust MPS' 60% against London 66%"),
    (("Robbery", 3.0, "Trust MPS", NAN, 0.66), {"trust_ci": (0.5, 0.7)},
     "Robbery 3.0× the London rate; 'Trust MPS' not available"),
    (("Robbery", 3.0, "Trust MPS", 0.55, NAN), {"trust_ci": (NAN, 0.7)},
     "Robbery 3.0× the London rate; 'Trust MPS' 55%"),
])
def test_reason_sentence(args: tuple, kwargs: dict, expected: str) -> None:
    assert reason_sentence(*args, **kwargs) == expected

