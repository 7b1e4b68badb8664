"""Tests for the plan-progress group intervals: the borough-clustered estimator, t quantiles, coverage.

The estimator (``analysis.stats.cluster_influence`` / ``clustered_interval``) is checked by hand
on two boroughs, against statsmodels' cluster-robust binomial GLM (the same model: one
parameter, so its CR1 correction is exactly G/(G − 1)), and by simulation: synthetic wards
with borough shocks and no real change, where the clustered t intervals cover about 95% and
the old independent-ward intervals do not.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.coverage import borough_bootstrap, simulate_coverage
from analysis.stats import cluster_influence, clustered_interval, t_quantile


def test_cluster_influence_by_hand() -> None:
    # Borough 0: wards 10 → 20 and 10 → 10; borough 1: 20 → 10. Totals 40 → 40: R = 1, share ½.
    # Scores (after − total × ½): +5, 0, −5 → borough 0: +5, borough 1: −5; information 80 × ¼ = 20.
    log_r, psi = cluster_influence([20, 10, 10], [10, 10, 20], [True, True, True], [0, 0, 1])
    assert log_r == pytest.approx(0.0) and psi.tolist() == pytest.approx([0.25, -0.25])
    value, lo, hi, var = clustered_interval(log_r, psi, 2)
    assert value == pytest.approx(1.0)
    assert var == pytest.approx(2 * (0.25 ** 2 + 0.25 ** 2))  # G/(G − 1) Σψ²
    assert (lo, hi) == pytest.approx((math.exp(-t_quantile(1) * 0.5), math.exp(t_quantile(1) * 0.5)))
    # a ward outside the group, or missing, adds nothing
    _, psi_out = cluster_influence([20, 10, 10, 99], [10, 10, 20, np.nan], [True, True, True, True], [0, 0, 1, 1])
    assert psi_out.tolist() == pytest.approx([0.25, -0.25])


def test_clustered_variance_equals_statsmodels_cluster_robust_glm() -> None:
    """Binomial GLM of after out of after + before, intercept only, cov_type='cluster' (CR1, K = 1)."""
    import statsmodels.api as sm

    rng = np.random.default_rng(2)
    cluster = np.repeat(np.arange(12), 8)
    before = rng.poisson(40, cluster.size)
    after = rng.poisson(40 * np.exp(rng.normal(0, 0.2, 12))[cluster])
    log_r, psi = cluster_influence(after, before, np.ones(cluster.size, bool), cluster)
    _, _, _, var = clustered_interval(log_r, psi, 12)
    endog = np.column_stack([after, before])
    fit = sm.GLM(endog, np.ones((cluster.size, 1)), family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": cluster, "use_correction": True})
    assert log_r == pytest.approx(float(fit.params[0]))
    assert var == pytest.approx(float(fit.bse[0]) ** 2, rel=1e-6)


def test_clustered_interval_is_wider_than_independent_when_boroughs_move_together() -> None:
    from analysis.change import dispersion, group_ratio

    rng = np.random.default_rng(4)
    cluster = np.repeat(np.arange(10), 12)
    before = rng.poisson(50, cluster.size)
    after = rng.poisson(50 * np.exp(rng.normal(0, 0.15, 10))[cluster])  # each borough shifted together
    everyone = np.ones(cluster.size, bool)
    _, lo, hi, _ = clustered_interval(*cluster_influence(after, before, everyone, cluster), 10)
    old = group_ratio(after.sum(), before.sum(), dispersion(after, before))
    assert math.log(hi / lo) > 1.5 * math.log(old.hi / old.lo)


@pytest.mark.parametrize(("df", "quantile"), [(1, 12.706204736), (6, 2.446911851), (31, 2.039513446),
                                              (math.inf, 1.959963985)])
def test_t_quantiles_for_few_clusters(df: float, quantile: float) -> None:
    assert t_quantile(df) == pytest.approx(quantile, rel=1e-8)
    assert math.isnan(t_quantile(0))


def test_t_widens_a_seven_borough_interval_by_the_ratio_of_quantiles() -> None:
    psi = np.array([0.1, -0.1, 0.05, -0.05, 0.02, -0.02, 0.0])
    _, lo_t, hi_t, var = clustered_interval(0.0, psi, 7)
    _, lo_z, hi_z, _ = clustered_interval(0.0, psi, 7, df=math.inf)
    assert (lo_t * hi_t, lo_z * hi_z) == pytest.approx((1.0, 1.0))  # symmetric on the log scale
    assert math.log(hi_t) / math.log(hi_z) == pytest.approx(2.446911851 / 1.959963985, rel=1e-8)
    assert math.log(hi_z) == pytest.approx(1.959963985 * math.sqrt(var), rel=1e-8)


def test_coverage_simulation_clustered_near_95_independent_not() -> None:
    """Small version of benchmarks/bench_progress_coverage.py (400 replicates; ±2.2 points of simulation error)."""
    coverage = simulate_coverage(400)
    for name in ("cohort", "cohort_vs_all_other"):
        assert 0.91 <= coverage.clustered[name] <= 0.995
        assert coverage.independent[name] < 0.88
        assert coverage.independent[name] < coverage.clustered[name] - 0.08


def test_borough_bootstrap_by_hand_when_every_borough_is_alike() -> None:
    # Every borough's wards changed by the same ratio: every resample gives it, the interval is a point.
    cluster = np.repeat(np.arange(5), 2)
    before = np.full(10, 20.0)
    after = np.where(np.arange(10) % 2 == 0, 10.0, 30.0)  # first ward of each borough halves, second rises 50%
    first = np.arange(10) % 2 == 0
    bounds = borough_bootstrap(after, before, first, ~first, cluster, reps=200)
    assert bounds["first"] == pytest.approx((0.5, 0.5))
    assert bounds["first_vs_second"] == pytest.approx((0.5 / 1.5, 0.5 / 1.5))
