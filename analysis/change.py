"""Change between two periods, with honest intervals: rate ratios, their ratios, survey differences.

The plan-progress question is a before/after comparison of crime counts and survey
proportions, for single areas and for groups of areas. The pieces, each standard:

- one area's crime: the ratio of two Poisson counts over equal populations, with the
  exact conditional (Clopper-Pearson) interval, which keeps its coverage for small counts;
- a group's crime: the ratio of the group's totals, with a log-scale interval widened by
  the quasi-Poisson dispersion of its areas (areas within a group change more unevenly than
  chance alone would make them, and an interval that ignores this is too narrow);
- two groups compared: the ratio of their rate ratios, log-scale, variances added;
- survey proportions: Newcombe's hybrid score interval for a difference of two Wilson
  intervals (one area), and a normal interval for population-weighted means of borough
  figures (groups), with borough figures shared between groups counted once;
- whether a group was already diverging: a log-linear trend difference before the baseline
  (``trend_difference``, the quasi-Poisson GLM with month effects, fitted in its binomial form).

``group_ratio`` and ``ratio_of_ratios`` treat areas as independent; the plan-progress page
now uses borough-clustered intervals (``analysis.stats.cluster_influence``) and keeps these
as the reference the coverage simulation (``analysis.coverage``) shows to be too narrow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from analysis.periods import months_between
from analysis.stats import clopper_pearson, t_quantile, wilson_ci


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    return float(stats.norm.ppf(1 - (1 - level) / 2))


def rate_ratio_exact(after: ArrayLike, before: ArrayLike, *,
                     level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``after / before`` for counts over the same population, with exact conditional intervals.

    Given their total, the ``after`` count is binomial with probability ``RR / (1 + RR)``;
    the Clopper-Pearson interval of that probability, mapped back, is the exact interval of
    the rate ratio (Breslow & Day 1987, §2.5). The ratio is NaN when both counts are 0 and
    its upper bound infinite when ``before`` is 0.

    Parameters
    ----------
    after, before
        Counts in the later and the earlier period (same residents, same length).
    level
        Two-sided confidence level.

    Returns
    -------
    ratio, lower, upper
        Float arrays of the broadcast shape.

    Examples
    --------
    >>> ratio, lower, upper = rate_ratio_exact([10, 0], [20, 5])
    >>> ratio.tolist(), [round(x, 4) for x in lower.tolist()], [round(x, 4) for x in upper.tolist()]
    ([0.5, 0.0], [0.209, 0.0], [1.1192, 1.0913])
    """
    a, b = np.broadcast_arrays(np.asarray(after, dtype=float), np.asarray(before, dtype=float))
    p_lo, p_hi = clopper_pearson(a, a + b, level=level)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(b > 0, a / np.where(b > 0, b, 1.0), np.where(a > 0, np.inf, np.nan))
        lower = p_lo / (1 - p_lo)
        upper = np.where(p_hi < 1, p_hi / (1 - p_hi), np.inf)
    missing = np.isnan(a) | np.isnan(b) | ((a == 0) & (b == 0))
    return tuple(np.where(missing, np.nan, x) for x in (ratio, lower, upper))  # type: ignore[return-value]


def dispersion(after: ArrayLike, before: ArrayLike) -> float:
    """Return the quasi-Poisson dispersion of a group's areas around the group's common change.

    Conditioning on each area's total, ``after_i`` is binomial with the group's share
    ``π = Σafter / Σ(after + before)`` if every area changed alike; the Pearson χ² of that
    model over its degrees of freedom (areas with any crime, minus one) measures how much
    more unevenly they changed. It is floored at 1: a group is never taken as steadier than
    Poisson noise. Areas with no count in either period are left out.

    Examples
    --------
    Two areas that changed in opposite directions (15 → 5 and 5 → 15 crimes): each is 5
    from its expected 10, so χ² = 25/5 + 25/5 = 10 on 1 degree of freedom:

    >>> dispersion([5, 15], [15, 5])
    10.0
    >>> dispersion([10, 10], [10, 10])
    1.0
    """
    a, b = np.asarray(after, dtype=float), np.asarray(before, dtype=float)
    keep = ~(np.isnan(a) | np.isnan(b)) & (a + b > 0)
    a, b = a[keep], b[keep]
    df = len(a) - 1
    if df < 1 or a.sum() == 0 or b.sum() == 0:
        return 1.0
    n = a + b
    share = a.sum() / n.sum()
    chi2 = float(np.sum((a - n * share) ** 2 / (n * share * (1 - share))))
    return max(1.0, chi2 / df)


@dataclass(frozen=True)
class Ratio:
    """A ratio with its interval, on the log scale: ``value`` and ``lo``–``hi``, and its log variance."""

    value: float
    lo: float
    hi: float
    log_var: float


def group_ratio(after: float, before: float, phi: float = 1.0, *, level: float = 0.95) -> Ratio:
    """Return a group's ``after / before`` with a quasi-Poisson log-scale interval.

    ``Var(log ratio) = φ (1/after + 1/before)``: the Poisson variance of the two totals,
    widened by the group's dispersion ``φ`` (see ``dispersion``).

    Examples
    --------
    >>> r = group_ratio(20, 20, phi=10.0)
    >>> r.value, round(r.lo, 4), round(r.hi, 4)
    (1.0, 0.1409, 7.0991)
    """
    if after <= 0 or before <= 0:
        return Ratio(np.nan, np.nan, np.nan, np.nan)
    log_var = phi * (1 / after + 1 / before)
    return _ratio(float(np.log(after / before)), log_var, level)


def ratio_of_ratios(first: Ratio, second: Ratio, *, level: float = 0.95) -> Ratio:
    """Return ``first / second`` (e.g. the cohort's change over the rest's) with its interval.

    The two groups hold different areas, so their log variances add.

    Examples
    --------
    >>> r = ratio_of_ratios(group_ratio(80, 100), group_ratio(90, 100))
    >>> round(r.value, 4), round(r.lo, 4), round(r.hi, 4)
    (0.8889, 0.5903, 1.3385)
    """
    return _ratio(float(np.log(first.value / second.value)), first.log_var + second.log_var, level)


def _ratio(log_value: float, log_var: float, level: float) -> Ratio:
    half = _z(level) * np.sqrt(log_var)
    return Ratio(float(np.exp(log_value)), float(np.exp(log_value - half)), float(np.exp(log_value + half)), log_var)


def newcombe_difference(p1: ArrayLike, n1: ArrayLike, p2: ArrayLike, n2: ArrayLike, *,
                        level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``p2 - p1`` for two independent survey proportions, with Newcombe's hybrid score interval.

    Newcombe (1998, method 10) combines the two Wilson intervals, so it inherits their good
    coverage near 0 and 1, where ``p ± z·se`` does not.

    Examples
    --------
    Newcombe's Table II example (56/70 against 48/80): difference 0.2, interval 0.0524 to 0.3339.

    >>> d, lo, hi = newcombe_difference(48 / 80, 80, 56 / 70, 70)
    >>> round(float(d), 4), round(float(lo), 4), round(float(hi), 4)
    (0.2, 0.0524, 0.3339)
    """
    l1, u1 = wilson_ci(p1, n1, level=level)
    l2, u2 = wilson_ci(p2, n2, level=level)
    a, b = np.asarray(p1, dtype=float), np.asarray(p2, dtype=float)
    d = b - a
    return d, d - np.sqrt((b - l2) ** 2 + (u1 - a) ** 2), d + np.sqrt((u2 - b) ** 2 + (a - l1) ** 2)


def shared_weights(area_borough: ArrayLike, population: ArrayLike, in_group: ArrayLike,
                   boroughs: list[str]) -> np.ndarray:
    """Return each borough's weight in a group's population-weighted mean of borough figures.

    At ward level a ward's trust is its borough's figure, so a group's mean trust is a
    weighted mean of borough figures; these weights (summing to 1 over ``boroughs``) let the
    variance count each borough's survey once, however many of the group's wards it covers.
    """
    codes = pd.Index(boroughs).get_indexer(np.asarray(area_borough, dtype=object))
    pop = np.where(np.asarray(in_group, dtype=bool) & (codes >= 0), np.asarray(population, dtype=float), 0.0)
    total = np.bincount(np.where(codes >= 0, codes, 0), weights=pop, minlength=len(boroughs))
    return total / total.sum() if total.sum() > 0 else total


def weighted_change(weights: np.ndarray, before: np.ndarray, before_n: np.ndarray, after: np.ndarray,
                    after_n: np.ndarray, *, level: float = 0.95) -> tuple[float, float, float, float]:
    """Return a weighted mean's change ``Σ w (after - before)`` with a normal interval, and its variance.

    Each borough figure is an independent survey sample in each period, so
    ``Var = Σ w² [p_a(1 - p_a)/n_a + p_b(1 - p_b)/n_b]``. Weights may be differences of two
    groups' weights, which compares the groups' changes with shared boroughs counted once.

    Examples
    --------
    One borough, 0.60 → 0.70 with 400 interviews each time:

    >>> [round(x, 4) for x in weighted_change(np.array([1.0]), np.array([0.6]), np.array([400.0]),
    ...                                        np.array([0.7]), np.array([400.0]))]
    [0.1, 0.0343, 0.1657, 0.0011]
    """
    use = weights != 0
    var = float(np.sum(weights[use] ** 2 * (after[use] * (1 - after[use]) / after_n[use]
                                            + before[use] * (1 - before[use]) / before_n[use])))
    change = float(np.sum(weights[use] * (after[use] - before[use])))
    half = float(_z(level) * np.sqrt(var))
    return change, change - half, change + half, var


@dataclass(frozen=True)
class TrendTest:
    """How fast a group's crime changed relative to the rest's before the baseline.

    ``per_year`` is the ratio by which the group's crime grew (> 1) or fell (< 1) each year
    relative to the rest's, with its interval; ``p`` tests "no difference in trend".
    """

    months: tuple[str, str]
    per_year: float
    lo: float
    hi: float
    p: float


def trend_difference(group: ArrayLike, rest: ArrayLike, months: list[str], *, level: float = 0.95) -> TrendTest:
    """Test whether a group's monthly counts were already diverging from the rest's.

    The model is the quasi-Poisson GLM ``log E[count] = month effect + group effect + β ·
    months since start · [group]`` on both series: the month effects absorb the season and
    the common trend, so β is the group's own extra trend. Given each month's total, the
    group's count is then binomial with ``logit p = α + β t``, the same likelihood and the
    same Pearson χ² (so the same estimate, scale and standard error) with two parameters
    instead of months + 2; it is fitted here by Newton's method in numpy, because it runs
    for four comparisons on every filter change (tests check it against statsmodels' GLM).
    Reported per year, ``exp(12 β)``, with a t interval and p-value on months − 2 degrees of
    freedom: the scale is estimated from few months, and the normal quantile would overstate
    how sure the test is.

    Parameters
    ----------
    group, rest
        Monthly counts of the group and of the comparison, same months.
    months
        The months, 'YYYY-MM' (at least 3; gaps are allowed, time counts calendar months).

    Examples
    --------
    A group growing 5% a month against a flat rest:

    >>> t = trend_difference([100 * 1.05 ** k for k in range(6)], [200] * 6, [f"2021-0{k}" for k in range(1, 7)])
    >>> round(t.per_year, 4) == round(1.05 ** 12, 4)
    True
    """
    g, r = np.asarray(group, dtype=float), np.asarray(rest, dtype=float)
    k = len(months)
    if k < 3 or len(g) != k or len(r) != k:
        raise ValueError(f"need at least 3 months of both series, got {k}")
    t = np.array([months_between(months[0], m) - 1 for m in months], dtype=float)
    n = g + r
    x = np.column_stack([np.ones(k), t])
    beta = np.array([np.log(g.sum() / r.sum()), 0.0])
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ beta)))
        info = x.T @ (x * (n * p * (1 - p))[:, None])
        step = np.linalg.solve(info, x.T @ (g - n * p))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12:
            break
    p = 1 / (1 + np.exp(-(x @ beta)))
    used = n > 0
    df = float(used.sum() - 2)
    chi2 = float(np.sum((g - n * p)[used] ** 2 / (n * p * (1 - p))[used]))
    se = float(np.sqrt(chi2 / df * np.linalg.inv(info)[1, 1])) if df > 0 else 0.0
    slope = float(beta[1])
    half = t_quantile(df, level=level) * se if df > 0 else 0.0
    p_value = float(2 * stats.t.sf(abs(slope) / se, df)) if se > 0 else (1.0 if slope == 0 else 0.0)
    return TrendTest((months[0], months[-1]), float(np.exp(12 * slope)), float(np.exp(12 * (slope - half))),
                     float(np.exp(12 * (slope + half))), p_value)
