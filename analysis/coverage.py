"""Checks of the plan-progress intervals: a coverage simulation and a borough bootstrap.

Why the group intervals cluster by borough is an empirical claim, so it is shown, not
asserted: ``simulate_coverage`` builds synthetic wards whose boroughs get shared year-to-year
shocks and no real change anywhere, and counts how often each interval covers "no change";
``borough_bootstrap`` resamples the real boroughs (each with all its wards) to check the
clustered intervals on the data held. The test suite runs both at a small size, and
``benchmarks/bench_progress_coverage.py`` at full size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.change import dispersion, group_ratio, ratio_of_ratios
from analysis.stats import cluster_influence, clustered_interval


@dataclass(frozen=True)
class Coverage:
    """Share of simulated intervals that contain the truth (1: no change), clustered-t against independent-z."""

    reps: int
    clustered: dict[str, float]
    independent: dict[str, float]


def simulate_coverage(reps: int, *, boroughs: int = 32, wards: int = 20, cohort_boroughs: int = 10,
                      borough_sd: float = 0.08, ward_sd: float = 0.1, mean_count: float = 50.0,
                      seed: int = 1) -> Coverage:
    """Simulate wards with borough shocks and no real change; return how often each interval covers 1.

    Each ward's expected yearly count is gamma (mean ``mean_count``, shape 2); in each of the
    two years every borough gets a log-normal shock (sd ``borough_sd``) and every ward its
    own (sd ``ward_sd``), then Poisson counts. The cohort is the top third of wards (by their
    expected count, so there is no regression to the mean) in the first ``cohort_boroughs``
    boroughs. "independent" is the old interval: quasi-Poisson over wards with the normal
    quantile; "clustered" is the page's: cluster-robust by borough with t.
    """
    rng = np.random.default_rng(seed)
    cluster = np.repeat(np.arange(boroughs), wards)
    mu = rng.gamma(2.0, mean_count / 2, size=boroughs * wards)
    in_first = cluster < cohort_boroughs
    cohort = in_first & (mu >= np.quantile(mu[in_first], 2 / 3))
    other = ~cohort
    hits = {"clustered": {"cohort": 0, "cohort_vs_all_other": 0}, "independent": {"cohort": 0,
                                                                                  "cohort_vs_all_other": 0}}
    for _ in range(reps):
        before, after = (rng.poisson(mu * np.exp(rng.normal(0, borough_sd, boroughs)[cluster]
                                                 + rng.normal(0, ward_sd, mu.size))) for _ in range(2))
        fits = {}
        for name, m in (("cohort", cohort), ("all_other", other)):
            log_r, psi = cluster_influence(after, before, m, cluster)
            fits[name] = (log_r, psi, int(np.unique(cluster[m]).size))
        (l1, p1, g1), (l2, p2, g2) = fits["cohort"], fits["all_other"]
        clustered = {"cohort": clustered_interval(l1, p1, g1),
                     "cohort_vs_all_other": clustered_interval(l1 - l2, p1 - p2, boroughs, df=min(g1, g2) - 1)}
        old = {name: group_ratio(float(after[m].sum()), float(before[m].sum()), dispersion(after[m], before[m]))
               for name, m in (("cohort", cohort), ("all_other", other))}
        independent = {"cohort": old["cohort"], "cohort_vs_all_other": ratio_of_ratios(old["cohort"],
                                                                                      old["all_other"])}
        for name in hits["clustered"]:
            hits["clustered"][name] += clustered[name][1] <= 1 <= clustered[name][2]
            hits["independent"][name] += independent[name].lo <= 1 <= independent[name].hi
    return Coverage(reps, {k: v / reps for k, v in hits["clustered"].items()},
                    {k: v / reps for k, v in hits["independent"].items()})


def borough_bootstrap(after: np.ndarray, before: np.ndarray, first: np.ndarray, second: np.ndarray,
                      cluster: np.ndarray, *, reps: int = 2000, seed: int = 1) -> dict[str, tuple[float, float]]:
    """Percentile 95% intervals of the first group's change and of first ÷ second, resampling boroughs.

    Each replicate draws as many boroughs as there are, with replacement, each bringing all
    its areas (the cluster bootstrap of Cameron, Gelbach & Miller 2008). Totals per borough
    are summed once, so a replicate is one matrix product.
    """
    rng = np.random.default_rng(seed)
    size = int(cluster.max()) + 1
    sums = np.stack([np.bincount(cluster, weights=np.where(m, x, 0.0), minlength=size)
                     for m in (first, second) for x in (after, before)])  # 4 × boroughs
    picks = rng.multinomial(size, np.full(size, 1 / size), size=reps)  # reps × boroughs: times each is drawn
    totals = picks @ sums.T  # reps × 4
    with np.errstate(divide="ignore", invalid="ignore"):
        change = totals[:, 0] / totals[:, 1]
        ratio = change / (totals[:, 2] / totals[:, 3])
    bounds = {}
    for name, values in (("first", change), ("first_vs_second", ratio)):
        lo, hi = np.nanquantile(values, [0.025, 0.975])
        bounds[name] = (float(lo), float(hi))
    return bounds
