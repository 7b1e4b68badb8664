"""Rates with exact intervals, survey-proportion intervals and empirical Bayes smoothing.

Everything here is vectorised numpy over areas: the ward priority table (about 680 wards)
is recomputed on every threshold change, so no function loops over areas in Python.
Missing or zero denominators give NaN rather than an error, because a dashboard should show
a gap for one bad ward instead of failing for all of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special, stats


def _as_float(values: ArrayLike) -> np.ndarray:
    """Return ``values`` as a float array, turning pandas' missing values into NaN.

    Numeric arrays (the usual case, on every dashboard rerun) are converted directly; only
    other inputs (object arrays holding ``pd.NA``, strings) go through pandas.
    """
    array = np.asarray(values)
    if array.dtype.kind in "fiub":
        return array.astype(float, copy=False)
    return np.asarray(pd.to_numeric(pd.Series(np.ravel(array)), errors="coerce"),
                      dtype=float).reshape(np.shape(array))


def _alpha(level: float) -> float:
    """Return ``1 - level`` after checking the confidence level lies strictly in (0, 1)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    return 1.0 - level


def poisson_rate_ci(count: ArrayLike, population: ArrayLike, *, per: float = 1000,
                    level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return crime rates per ``per`` residents with exact (Garwood) Poisson intervals.

    A ward with 3 burglaries and one with 300 can show the same rate; the interval says how
    far the small one could move by chance. The Garwood (1936) interval inverts the Poisson
    distribution exactly through the chi-square quantiles, ``chi2.ppf(a/2, 2k)/2`` and
    ``chi2.ppf(1 - a/2, 2k + 2)/2`` for ``k`` events, so it keeps its coverage for small
    counts where the normal approximation does not. The lower bound is 0 when ``k = 0``.

    Parameters
    ----------
    count
        Event counts (non-negative; non-integer averages are accepted). NaN stays NaN.
    population
        Residents for each count. Zero, negative or missing populations give NaN.
    per
        Rates are expressed per this many residents.
    level
        Two-sided confidence level.

    Returns
    -------
    rate, lower, upper
        Float arrays of the same shape as the broadcast inputs.

    Raises
    ------
    ValueError
        If a count is negative or ``level`` is not in (0, 1).

    Examples
    --------
    >>> rate, lower, upper = poisson_rate_ci([10, 0], [2000, 500])
    >>> rate.tolist()
    [5.0, 0.0]
    >>> [round(x, 3) for x in lower.tolist()], [round(x, 3) for x in upper.tolist()]
    ([2.398, 0.0], [9.195, 7.378])
    """
    alpha = _alpha(level)
    k, pop = np.broadcast_arrays(_as_float(count), _as_float(population))
    if np.any(k < 0):
        raise ValueError("counts must be non-negative")
    scale = np.where(pop > 0, per / np.where(pop > 0, pop, 1.0), np.nan)
    # chi2.ppf(q, 2k) / 2 is gammaincinv(k, q): scipy computes it so, without chi2's per-call overhead
    with np.errstate(invalid="ignore"):
        low_events = np.where(k > 0, special.gammaincinv(k, alpha / 2), 0.0)
    high_events = special.gammaincinv(k + 1, 1 - alpha / 2)
    low_events = np.where(np.isnan(k), np.nan, low_events)
    return k * scale, low_events * scale, high_events * scale


def wilson_ci(p: ArrayLike, n: ArrayLike, *, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Return Wilson (1927) score intervals for survey proportions.

    Public Attitude Survey figures are proportions from a few hundred interviews per
    borough, often near 0.6-0.9, where the Wald interval ``p ± z·sqrt(p(1-p)/n)`` is too
    narrow and can leave [0, 1]. The Wilson interval inverts the score test instead, stays
    within [0, 1] and keeps close to nominal coverage for moderate ``n``. ``n`` may be an
    effective sample size (non-integer) when the survey is weighted.

    Parameters
    ----------
    p
        Observed proportions in [0, 1] (not percentages). NaN stays NaN.
    n
        Sample sizes. Zero, negative or missing sizes give NaN.
    level
        Two-sided confidence level.

    Returns
    -------
    lower, upper
        Float arrays of the same shape as the broadcast inputs.

    Raises
    ------
    ValueError
        If a proportion lies outside [0, 1] or ``level`` is not in (0, 1).

    Examples
    --------
    >>> lower, upper = wilson_ci([0.5, 0.0], [100, 20])
    >>> [round(x, 4) for x in lower.tolist()], [round(x, 4) for x in upper.tolist()]
    ([0.4038, 0.0], [0.5962, 0.1611])
    """
    z = stats.norm.ppf(1 - _alpha(level) / 2)
    prop, size = np.broadcast_arrays(_as_float(p), _as_float(n))
    if np.any((prop < 0) | (prop > 1)):
        raise ValueError("proportions must lie in [0, 1]; divide percentages by 100")
    size = np.where(size > 0, size, np.nan)
    z2n = z * z / size
    centre = (prop + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * np.sqrt(prop * (1 - prop) / size + z2n / (4 * size))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def empirical_bayes_rates(counts: ArrayLike, populations: ArrayLike, groups: ArrayLike | None = None,
                          *, per: float = 1.0) -> np.ndarray:
    """Return Marshall (1991) empirical Bayes rates, shrunk toward London or each group.

    Raw rates of small wards are noisy, and the noisiest look most extreme. Marshall's
    method-of-moments estimator pulls each rate ``r_i`` toward the mean ``m = Σk/Σn`` by the
    weight ``C_i = A / (A + m/n_i)``, where ``A = s² - m/n̄`` estimates the between-area
    variance (``s² = Σ n_i (r_i - m)² / Σ n_i``, ``n̄`` the mean population). Small wards move
    a lot, big ones hardly. ``A`` is floored at 0 (all rates then equal ``m``) because a
    negative variance means the spread is no more than Poisson noise. With ``groups`` (e.g.
    borough codes) ``m``, ``s²`` and ``n̄`` are computed within each group, so a ward shrinks
    toward its own borough rather than London.

    Parameters
    ----------
    counts
        Event counts per area.
    populations
        Population at risk per area. Areas with zero or missing population, or a missing
        count, are left out of the moments and get NaN.
    groups
        Optional group label per area; areas with a missing label get NaN.
    per
        Rates are expressed per this many residents.

    Returns
    -------
    numpy.ndarray
        Smoothed rates, one per area.

    Examples
    --------
    >>> counts, pops = [2, 10, 30, 5], [100, 1000, 1000, 200]
    >>> [round(x, 4) for x in empirical_bayes_rates(counts, pops, per=1000).tolist()]
    [20.3447, 12.8879, 27.3528, 22.0018]

    Within each borough here the spread is no more than Poisson noise, so ``A`` is floored
    at 0 and every ward takes its borough's rate (12/1100 and 35/1200 per 1,000 residents):

    >>> [round(x, 4) for x in empirical_bayes_rates(counts, pops, ["a", "a", "b", "b"], per=1000).tolist()]
    [10.9091, 10.9091, 29.1667, 29.1667]
    """
    k = _as_float(counts).ravel()
    n = _as_float(populations).ravel()
    if k.shape != n.shape:
        raise ValueError(f"counts and populations differ in length: {k.size} != {n.size}")
    if groups is None:
        codes = np.zeros(k.size, dtype=np.intp)
    else:
        codes, _ = pd.factorize(pd.Series(np.ravel(np.asarray(groups, dtype=object))))
        if codes.size != k.size:
            raise ValueError(f"groups has {codes.size} labels for {k.size} areas")
    valid = (n > 0) & ~np.isnan(k) & (codes >= 0)
    g = np.where(valid, codes, 0)
    size = int(g.max(initial=0)) + 1

    def group_sum(x: np.ndarray) -> np.ndarray:
        return np.bincount(g, weights=np.where(valid, x, 0.0), minlength=size)

    n_valid = np.where(valid, n, 1.0)
    rate = np.where(valid, k, 0.0) / n_valid
    sum_n = group_sum(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = (group_sum(k) / sum_n)[g]
        s2 = (group_sum(n * (rate - m) ** 2) / sum_n)[g]
        mean_n = (sum_n / np.bincount(g, weights=valid.astype(float), minlength=size))[g]
        a = np.maximum(s2 - m / mean_n, 0.0)
        denominator = a + m / n_valid
        weight = np.where(denominator > 0, a / np.where(denominator > 0, denominator, 1.0), 0.0)
    smoothed = weight * rate + (1 - weight) * m
    return np.where(valid, smoothed * per, np.nan)


def t_quantile(df: float, *, level: float = 0.95) -> float:
    """Return the two-sided ``level`` quantile of Student's t on ``df`` degrees of freedom (normal if df is inf).

    With few clusters (7 boroughs in a cohort, 32 in London) a variance estimated from them
    is itself uncertain, and ``t`` on clusters − 1 degrees of freedom allows for it where the
    normal quantile 1.96 does not (Cameron & Miller 2015, §VI). scipy's ``t.ppf`` is exact.

    Examples
    --------
    >>> round(t_quantile(6), 4), round(t_quantile(float("inf")), 4)
    (2.4469, 1.96)
    """
    alpha = _alpha(level)
    if not df > 0:
        return float("nan")
    return float(stats.t.ppf(1 - alpha / 2, df)) if np.isfinite(df) else float(stats.norm.ppf(1 - alpha / 2))


def cluster_influence(after: ArrayLike, before: ArrayLike, member: ArrayLike,
                      cluster: ArrayLike) -> tuple[float, np.ndarray]:
    """Return a group's log change ``log(Σafter / Σbefore)`` and each cluster's influence on it.

    Given each area's total ``n_i = after_i + before_i``, ``after_i`` is binomial with the
    group's share ``π = R / (1 + R)`` if every area changed alike (``R`` the group's change).
    Its estimating equation is ``Σ (after_i − n_i π) = 0``; summing each cluster's scores and
    dividing by the information ``Σ n_i π (1 − π)`` gives the cluster's influence on
    ``logit π = log R``. Their sum of squares is the cluster-robust (sandwich) variance,
    which allows for wards in one borough moving together; it needs no dispersion
    assumption. Differences of two groups' influences give a comparison's variance with
    shared boroughs counted once. Areas not in the group, or missing, add nothing.

    Parameters
    ----------
    after, before
        Counts per area in the two periods (same length).
    member
        Which areas are in the group.
    cluster
        Integer cluster index per area (0 … G − 1; e.g. the borough).

    Returns
    -------
    log_ratio, influence
        ``influence`` has one entry per cluster (``max(cluster) + 1``).

    Examples
    --------
    Two boroughs, one ward each, 15 → 5 and 5 → 15: ``R = 1``, ``π = ½``, scores ∓5 over
    information 40 × ¼ = 10:

    >>> log_r, psi = cluster_influence([5, 15], [15, 5], [True, True], [0, 1])
    >>> float(log_r), psi.tolist()
    (0.0, [-0.5, 0.5])
    """
    a, b = _as_float(after), _as_float(before)
    c = np.asarray(cluster, dtype=np.intp)
    use = np.asarray(member, dtype=bool) & ~(np.isnan(a) | np.isnan(b))
    size = int(c.max(initial=-1)) + 1
    total_a, total_b = float(a[use].sum()), float(b[use].sum())
    if total_a <= 0 or total_b <= 0:
        return float("nan"), np.full(size, np.nan)
    share = total_a / (total_a + total_b)
    score = np.where(use, a - (a + b) * share, 0.0)
    information = (total_a + total_b) * share * (1 - share)
    return float(np.log(total_a / total_b)), np.bincount(c, weights=np.nan_to_num(score), minlength=size) / information


def clustered_interval(log_ratio: float, influence: np.ndarray, clusters: int, *, df: float | None = None,
                       level: float = 0.95) -> tuple[float, float, float, float]:
    """Return ``exp(log_ratio)`` with a cluster-robust t interval, and the log variance.

    ``Var = G / (G − 1) Σ_c ψ_c²`` (the CR1 small-sample factor on ``G`` clusters, as
    statsmodels applies it for one parameter) and ``t`` on ``df`` degrees of freedom
    (default ``G − 1``).

    Examples
    --------
    Two clusters give t on 1 degree of freedom (12.7): an honest, very wide interval.

    >>> [round(x, 2) for x in clustered_interval(0.0, np.array([-0.5, 0.5]), 2)]
    [1.0, 0.0, 329787.81, 1.0]
    """
    if clusters < 2 or not np.isfinite(log_ratio):
        return float(np.exp(log_ratio)), float("nan"), float("nan"), float("nan")
    var = clusters / (clusters - 1) * float(np.sum(np.nan_to_num(influence) ** 2))
    half = t_quantile(clusters - 1 if df is None else df, level=level) * np.sqrt(var)
    return float(np.exp(log_ratio)), float(np.exp(log_ratio - half)), float(np.exp(log_ratio + half)), var


def clopper_pearson(k: ArrayLike, n: ArrayLike, *, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Return exact (Clopper-Pearson 1934) intervals for shares ``k / n``.

    A ward with 4 arrests in 9 searches has an arrest share of 44%, but it could well be
    20% or 75%; the exact interval, from beta quantiles, never claims less uncertainty
    than there is, whatever the count, which is what small numbers need.

    Parameters
    ----------
    k
        Events (e.g. arrests), 0 <= k <= n.
    n
        Trials (e.g. searches with an outcome recorded). Zero or missing gives NaN.
    level
        Two-sided confidence level.

    Returns
    -------
    lower, upper
        Float arrays of the broadcast shape.

    Examples
    --------
    >>> lower, upper = clopper_pearson([4, 0, 10], [9, 20, 10])
    >>> [round(x, 4) for x in lower.tolist()], [round(x, 4) for x in upper.tolist()]
    ([0.137, 0.0, 0.6915], [0.788, 0.1684, 1.0])
    """
    alpha = _alpha(level)
    events, trials = np.broadcast_arrays(_as_float(k), _as_float(n))
    if np.any((events < 0) | (events > trials)):
        raise ValueError("events must lie between 0 and the number of trials")
    trials = np.where(trials > 0, trials, np.nan)
    with np.errstate(invalid="ignore"):
        lower = np.where(events > 0, stats.beta.ppf(alpha / 2, events, trials - events + 1), 0.0)
        upper = np.where(events < trials, stats.beta.ppf(1 - alpha / 2, events + 1, trials - events), 1.0)
    nan = np.isnan(trials) | np.isnan(events)
    return np.where(nan, np.nan, lower), np.where(nan, np.nan, upper)


def rate_ratio_ci(k1: ArrayLike, n1: ArrayLike, k2: ArrayLike, n2: ArrayLike, *,
                  level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the ratio of two Poisson rates ``(k1/n1) / (k2/n2)`` with an exact conditional interval.

    Given ``k1 + k2`` events, ``k1`` is binomial with ``p = r·n1 / (r·n1 + n2)`` where ``r`` is
    the rate ratio; a Clopper-Pearson interval for ``p`` maps to an exact interval for
    ``r = p / (1 - p) · n2 / n1`` (Armitage & Berry). It holds for any counts, small or large,
    so one method serves a ward with 6 searches and London with 100,000. ``k2 = 0`` gives an
    infinite ratio and upper bound; ``k1 = 0`` a zero ratio and lower bound.

    Parameters
    ----------
    k1, n1
        Events and population of the group compared (e.g. searches of Black residents, and
        Black residents).
    k2, n2
        Events and population of the reference group (e.g. White).
    level
        Two-sided confidence level.

    Returns
    -------
    ratio, lower, upper

    Examples
    --------
    Twice the rate, on 40 and 20 searches of equal populations:

    >>> r, lo, hi = rate_ratio_ci([40], [1000], [20], [1000])
    >>> round(float(r[0]), 3), round(float(lo[0]), 3), round(float(hi[0]), 3)
    (2.0, 1.142, 3.611)
    """
    a, na, b, nb = np.broadcast_arrays(_as_float(k1), _as_float(n1), _as_float(k2), _as_float(n2))
    ok = (na > 0) & (nb > 0)
    scale = np.where(ok, nb / np.where(ok, na, 1.0), np.nan)
    p_lo, p_hi = clopper_pearson(a, a + b, level=level)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(b > 0, a / np.where(b > 0, b, 1.0), np.where(a > 0, np.inf, np.nan)) * scale
        lower = p_lo / (1 - p_lo) * scale
        upper = np.where(p_hi < 1, p_hi / (1 - np.where(p_hi < 1, p_hi, 0.0)), np.inf) * scale
    return ratio, lower, upper


def correlation_ci(r: float, n: int, *, level: float = 0.95) -> tuple[float, float]:
    """Return the Fisher z interval of a Pearson correlation ``r`` over ``n`` pairs (NaN for n < 4).

    Examples
    --------
    >>> [round(x, 3) for x in correlation_ci(-0.4, 32)]
    [-0.657, -0.06]
    """
    if n < 4 or not np.isfinite(r):
        return float("nan"), float("nan")
    z = np.arctanh(np.clip(r, -0.999999, 0.999999))
    half = stats.norm.ppf(1 - _alpha(level) / 2) / np.sqrt(n - 3)
    return float(np.tanh(z - half)), float(np.tanh(z + half))
