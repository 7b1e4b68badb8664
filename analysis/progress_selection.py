"""What selection alone would do: the cohort's expected change with no real change anywhere, and a placebo.

Areas picked because their crime was high in one year tend to come down the next even if
nothing is done: part of what made them high was a passing spell or chance (regression to
the mean). To say how much, each area's crime rate is modelled as

    rate in year t = persistent level × year-to-year spell × Poisson noise,

with the level varying between areas (variance ``persistent``), the spells independent from
year to year (part shared by a borough's wards, ``transient_borough``, part the ward's own,
``transient_ward``), and Poisson noise from the counts themselves. The variances are
estimated by moments on the period before the baseline and the baseline (empirical Bayes on
rates relative to London's: the level is what both years share, the spells what they do
not, less the Poisson part). Each area's expected level given both years is its best
prediction for any later year if nothing real changed; the cohort's expected change against
``all_other`` follows, and simulating later years from the fitted model gives the 95% range
that chance and selection alone would produce (Barnett, van der Pols & Dobson 2005 give the
idea for one variable; this is its version for Poisson counts of areas).

The **placebo** applies the same flag rule one window earlier, before the plan, and follows
that cohort over the next window: a large "improvement" there is selection, not the plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Simulated later years behind the selection-alone range (fixed seed: the same figures every time).
DRAWS = 1000
SEED = 20230101


@dataclass(frozen=True)
class SelectionModel:
    """The fitted variances (relative to London's rate, which is 1): level, borough spell, ward spell."""

    persistent: float
    transient_borough: float
    transient_ward: float


@dataclass(frozen=True)
class SelectionAlone:
    """The cohort-vs-comparison ratio expected with no real change, and the 95% range simulated around it."""

    expected: float
    lo: float
    hi: float
    draws: int
    model: SelectionModel


def fit_levels(earlier: np.ndarray, baseline: np.ndarray, population: np.ndarray,
               cluster: np.ndarray) -> tuple[SelectionModel, np.ndarray, np.ndarray, np.ndarray]:
    """Fit the model by moments; return it, each area's expected level and its variance, and which areas count.

    Rates are relative to London's in each period (``r = count / (population × London
    rate)``), so London's own change between the periods drops out. With ``E`` the expected
    count: ``Cov(r₁, r₂) = persistent``; ``Var(r_t) = persistent + transient + mean(1/E)``;
    the covariance of two wards' year-to-year differences within a borough is twice the
    borough spell's variance. Each area's level is the linear empirical Bayes (best linear)
    prediction from its two rates, weighting each by its precision.

    Examples
    --------
    Two periods that agree exactly for large areas: everything is persistent, levels equal
    the rates.

    >>> model, level, _, ok = fit_levels(np.array([100., 200., 400.]), np.array([100., 200., 400.]),
    ...                                  np.array([1e6, 1e6, 1e6]), np.array([0, 1, 2]))
    >>> [round(x, 2) for x in level.tolist()]
    [0.43, 0.86, 1.71]
    """
    ok = (population > 0) & np.isfinite(earlier) & np.isfinite(baseline)
    pop = np.where(ok, population, 0.0)
    expected = [pop * (k[ok].sum() / pop.sum()) for k in (earlier, baseline)]
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = [np.where(ok & (e > 0), k / np.where(e > 0, e, 1.0), np.nan) for k, e in zip((earlier, baseline),
                                                                                            expected, strict=True)]
        noise = [np.where(ok & (e > 0), 1 / np.where(e > 0, e, 1.0), np.nan) for e in expected]
    ok &= np.isfinite(rates[0]) & np.isfinite(rates[1])
    r1, r2 = rates[0][ok], rates[1][ok]
    persistent = max(float(np.mean((r1 - r1.mean()) * (r2 - r2.mean()))), 0.0)
    within = np.mean([np.var(r) - np.mean(p[ok]) for r, p in zip((r1, r2), noise, strict=True)])
    transient = max(float(within) - persistent, 0.0)
    borough = min(max(_pair_covariance(r2 - r1, cluster[ok]) / 2, 0.0), transient)
    model = SelectionModel(persistent, borough, transient - borough)
    level, var = np.full(len(ok), np.nan), np.full(len(ok), np.nan)
    a1, a2 = (persistent + transient + p[ok] for p in noise)
    det = a1 * a2 - persistent ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        w1 = np.where(det > 0, persistent * (a2 - persistent) / det, 0.0)
        w2 = np.where(det > 0, persistent * (a1 - persistent) / det, 0.0)
    level[ok] = 1 + w1 * (r1 - 1) + w2 * (r2 - 1)
    var[ok] = np.maximum(persistent - persistent * (w1 + w2), 0.0)
    return model, level, var, ok


def _pair_covariance(d: np.ndarray, cluster: np.ndarray) -> float:
    """Mean product of the centred values of two different areas in one cluster (0 without pairs)."""
    d = d - d.mean()
    sums = np.bincount(cluster, weights=d)
    sizes = np.bincount(cluster).astype(float)
    pairs = float(np.sum(sizes * (sizes - 1)))
    return float((np.sum(sums ** 2) - np.sum(d ** 2)) / pairs) if pairs > 0 else 0.0


def selection_alone(earlier: np.ndarray, baseline: np.ndarray, population: np.ndarray, cluster: np.ndarray,
                    cohort: np.ndarray, other: np.ndarray, *, draws: int = DRAWS,
                    seed: int = SEED) -> SelectionAlone | None:
    """Return the cohort-vs-``other`` ratio of changes selection alone would give, with its 95% range.

    ``expected`` sets each area's expected later count to its population times its expected
    level (London's rate unchanged); the range comes from ``draws`` simulated later years:
    a level drawn from each area's posterior (gamma with its mean and variance), a borough
    and a ward spell (log-normal, the fitted variances) and Poisson counts. None when
    fewer than three areas have both periods, or a group has no crime.

    Examples
    --------
    With every area's two years identical and large there is (almost) no regression to the mean:

    >>> k = np.array([1e4, 2e4, 4e4, 8e4])
    >>> s = selection_alone(k, k, np.full(4, 1e6), np.arange(4), np.array([0, 0, 1, 1], bool),
    ...                     np.array([1, 1, 0, 0], bool), draws=200)
    >>> round(s.expected, 3)
    1.0
    """
    model, level, var, ok = fit_levels(earlier, baseline, population, cluster)
    first, second = cohort & ok, other & ok
    if ok.sum() < 3 or baseline[first].sum() <= 0 or baseline[second].sum() <= 0:
        return None
    pop = np.where(ok, population, 0.0)
    mean = pop * np.nan_to_num(level)
    expected = _ratio_of_changes(mean, baseline, first, second)
    rng = np.random.default_rng(seed)
    n = int(ok.sum())
    m = np.maximum(level[ok], 1e-9)
    v = var[ok]
    shape = np.where(v > 0, m ** 2 / np.where(v > 0, v, 1.0), np.inf)
    levels = np.where(v > 0, rng.gamma(np.where(np.isfinite(shape), shape, 1.0), np.where(v > 0, v / m, 1.0),
                                       size=(draws, n)), m)
    spell = model.transient_borough + model.transient_ward
    relative = spell / (1 + model.persistent)
    s_b = np.log1p(relative * (model.transient_borough / spell)) if spell > 0 else 0.0
    s_w = np.log1p(relative * (model.transient_ward / spell)) if spell > 0 else 0.0
    codes = np.unique(cluster[ok], return_inverse=True)[1]
    shocks = (rng.normal(0, np.sqrt(s_b), size=(draws, codes.max() + 1))[:, codes]
              + rng.normal(0, np.sqrt(s_w), size=(draws, n)) - (s_b + s_w) / 2)
    london = baseline[ok].sum() / pop[ok].sum()
    counts = rng.poisson(pop[ok] * london * levels * np.exp(shocks))
    b = baseline[ok]
    f, s = first[ok], second[ok]
    simulated = (counts[:, f].sum(axis=1) / b[f].sum()) / (counts[:, s].sum(axis=1) / b[s].sum())
    lo, hi = np.quantile(simulated, [0.025, 0.975])
    return SelectionAlone(expected, float(lo), float(hi), draws, model)


def _ratio_of_changes(later: np.ndarray, baseline: np.ndarray, first: np.ndarray, second: np.ndarray) -> float:
    return float((later[first].sum() / baseline[first].sum()) / (later[second].sum() / baseline[second].sum()))
