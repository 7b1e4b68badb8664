"""Tests for analysis.progress_selection: the selection-alone model by hand, its range, and no-regression cases."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.progress_selection import fit_levels, selection_alone

# Four areas of 1,000 residents; London's rate is the same in both periods (100 crimes), so each area's
# expected count is 25 and its relative rates are count / 25.
EARLIER = np.array([10.0, 20.0, 30.0, 40.0])
BASELINE = np.array([20.0, 10.0, 40.0, 30.0])
POP = np.full(4, 1000.0)
BOROUGH = np.array([0, 0, 1, 1])


def test_fit_levels_by_hand() -> None:
    # r₁ = .4 .8 1.2 1.6 and r₂ = .8 .4 1.6 1.2 (mean 1). Cov(r₁, r₂) = (.12 × 4)/4 = .12: the persistent level.
    # Var(r_t) = .2, less Poisson 1/25 = .04, less .12: .04 of year-to-year spells. The year-to-year differences
    # (+.4, −.4 in each borough) cancel within boroughs: no borough spell, all .04 the ward's own.
    model, level, var, ok = fit_levels(EARLIER, BASELINE, POP, BOROUGH)
    assert ok.all()
    assert (model.persistent, model.transient_borough, model.transient_ward) == pytest.approx((0.12, 0.0, 0.04))
    # Each rate's variance .12 + .04 + .04 = .2, covariance .12: weights .12 × (.2 − .12) / (.2² − .12²) = .375.
    assert level.tolist() == pytest.approx([0.7, 0.7, 1.3, 1.3])
    assert var.tolist() == pytest.approx([0.12 - 0.12 * 0.75] * 4)


def test_selection_alone_expected_ratio_by_hand() -> None:
    # Cohort: area 3 (40 at baseline); expected later 1,000 × 1.3 (× London's rate, which cancels).
    # Others: (700 + 700 + 1,300) / (20 + 10 + 30). Ratio (1,300/40) / (2,700/60) = 32.5 / 45.
    cohort = np.array([False, False, True, False])
    s = selection_alone(EARLIER, BASELINE, POP, BOROUGH, cohort, ~cohort, draws=2000)
    assert s.expected == pytest.approx(32.5 / 45)
    assert s.lo < s.expected < s.hi


def test_no_regression_when_levels_are_all_persistent() -> None:
    k = np.array([4e4, 8e4, 1.2e5, 1.6e5, 2e5, 2.4e5])
    cohort = np.array([False, False, False, False, True, True])
    s = selection_alone(k, k, np.full(6, 1e6), np.arange(6), cohort, ~cohort, draws=500)
    assert s.model.transient_borough == s.model.transient_ward == 0.0
    assert s.expected == pytest.approx(1.0, abs=1e-3) and s.hi - s.lo < 0.02


def test_no_regression_toward_a_mean_when_nothing_persists() -> None:
    # The two periods are unrelated across areas (covariance ≤ 0): every level is London's, so the cohort picked
    # for its high baseline is expected to fall back all the way: ratio = (its share of residents / its share
    # of baseline crime) against the others'.
    earlier = np.array([30.0, 10.0, 30.0, 10.0])
    baseline = np.array([10.0, 30.0, 10.0, 30.0])
    cohort = np.array([False, True, False, True])
    s = selection_alone(earlier, baseline, POP, BOROUGH, cohort, ~cohort, draws=500)
    assert s.model.persistent == 0.0
    assert s.expected == pytest.approx((2000 / 60) / (2000 / 20))


def test_too_few_areas_give_no_figure() -> None:
    one = np.array([True, False])
    assert selection_alone(np.array([5.0, 5.0]), np.array([5.0, 5.0]), np.full(2, 100.0), np.arange(2), one,
                           ~one) is None
