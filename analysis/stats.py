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
