"""Quantile classes, the 3×3 crime-by-trust class, the priority flag and its robustness.

These run on every threshold change in the dashboard (the ward table has about 680 rows and
must refresh within 50 ms), so they are vectorised numpy with no Python loop over areas.
All thresholds are parameters; nothing here knows about boroughs, wards or data files.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

CRIME_LEVELS = ("low", "mid", "high")
TRUST_LEVELS = ("low", "mid", "high")
MISSING_CODE, MISSING_LABEL = "n/a", "no data"
_CODES = np.array([f"C{c + 1}-T{t + 1}" for c in range(3) for t in range(3)] + [MISSING_CODE], dtype=object)
_LABELS = np.array([f"{CRIME_LEVELS[c]} crime, {TRUST_LEVELS[t]} trust" for c in range(3) for t in range(3)]
                   + [MISSING_LABEL], dtype=object)


def quantile_classes(values: ArrayLike, cuts: Sequence[float] = (1 / 3, 2 / 3)) -> np.ndarray:
    """Return the quantile class (0 = lowest) of each value, or -1 where it is missing.

    Classes are cut at the given quantiles of the non-missing values (numpy's default linear
    interpolation), so the default gives terciles across areas. Cut-points are inclusive
    upper bounds, as in ``mapclassify.Quantiles``: a value equal to a cut-point goes to the
    lower class, and tied values always share a class. When ties make cut-points coincide
    (e.g. ward trust copied from 32 boroughs, or too few distinct values) some classes are
    empty; a ``UserWarning`` says so and classification carries on, as mapclassify does.

    Parameters
    ----------
    values
        One value per area; NaN (or None) marks a missing value.
    cuts
        Strictly increasing quantile levels in (0, 1); ``len(cuts) + 1`` classes result.

    Returns
    -------
    numpy.ndarray
        ``int64`` classes ``0 .. len(cuts)``, with ``-1`` for missing values.

    Examples
    --------
    >>> quantile_classes([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, float("nan")]).tolist()
    [0, 0, 1, 1, 2, 2, -1]
    >>> quantile_classes([10, 20, 30, 40], cuts=(0.5,)).tolist()
    [0, 0, 1, 1]
    """
    levels = np.asarray(cuts, dtype=float)
    if levels.ndim != 1 or levels.size == 0 or np.any(levels <= 0) or np.any(levels >= 1) \
            or np.any(np.diff(levels) <= 0):
        raise ValueError(f"cuts must be strictly increasing quantile levels in (0, 1), got {cuts!r}")
    x = np.asarray(values, dtype=float)
    present = ~np.isnan(x)
    classes = np.full(x.shape, -1, dtype=np.int64)
    if not present.any():
        warnings.warn("no non-missing values to classify; every class is -1", UserWarning, stacklevel=2)
        return classes
    bounds = np.quantile(x[present], levels)
    if np.unique(bounds).size < bounds.size:
        warnings.warn(f"cut-points coincide ({np.round(bounds, 6).tolist()}): with ties or only "
                      f"{np.unique(x[present]).size} distinct values some classes are empty",
                      UserWarning, stacklevel=2)
    classes[present] = np.searchsorted(bounds, x[present], side="left")
    return classes


def tercile_classes(values: ArrayLike) -> np.ndarray:
    """Return tercile classes 0 (low), 1 (mid), 2 (high), or -1 where the value is missing.

    A thin name for ``quantile_classes(values, (1/3, 2/3))``, the classing used for the 3×3
    crime-by-trust map; see that function for tie handling and degenerate input.

    Parameters
    ----------
    values
        One value per area; NaN marks a missing value.

    Returns
    -------
    numpy.ndarray
        ``int64`` classes in {-1, 0, 1, 2}.

    Examples
    --------
    >>> tercile_classes([5, 1, 9, 3, float("nan"), 7, 8]).tolist()
    [1, 0, 2, 0, -1, 1, 2]
    """
    return quantile_classes(values, (1 / 3, 2 / 3))


def bivariate_class(crime_class: ArrayLike, trust_class: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Return the 3×3 crime-by-trust code and plain-English label for each area.

    The code ``C{c}-T{t}`` numbers crime and trust terciles 1 (low) to 3 (high), so "C3-T1"
    is high crime with low trust, the corner the dashboard is about. The label spells it
    out for tooltips and tables. Areas with either class missing (-1) get "n/a" and
    "no data".

    Parameters
    ----------
    crime_class, trust_class
        Tercile classes 0/1/2 (or -1 for missing), e.g. from ``tercile_classes``.

    Returns
    -------
    codes, labels
        Object arrays of strings, one per area.

    Raises
    ------
    ValueError
        If a class is outside {-1, 0, 1, 2} or the inputs differ in shape.

    Examples
    --------
    >>> codes, labels = bivariate_class([2, 0, -1], [0, 2, 1])
    >>> codes.tolist()
    ['C3-T1', 'C1-T3', 'n/a']
    >>> labels.tolist()
    ['high crime, low trust', 'low crime, high trust', 'no data']
    """
    crime = np.asarray(crime_class, dtype=np.int64)
    trust = np.asarray(trust_class, dtype=np.int64)
    if crime.shape != trust.shape:
        raise ValueError(f"crime and trust classes differ in shape: {crime.shape} != {trust.shape}")
    if np.any((crime < -1) | (crime > 2) | (trust < -1) | (trust > 2)):
        raise ValueError("classes must be 0, 1, 2 or -1 (missing)")
    index = np.where((crime >= 0) & (trust >= 0), crime * 3 + trust, _CODES.size - 1)
    return _CODES[index], _LABELS[index]


def flag_high_crime_low_trust(crime: ArrayLike, trust: ArrayLike, *, method: str = "percentile",
                              crime_pct: float = 2 / 3, trust_pct: float = 1 / 3,
                              crime_ci: tuple[ArrayLike, ArrayLike] | None = None,
                              trust_ci: tuple[ArrayLike, ArrayLike] | None = None,
                              london_crime: ArrayLike | None = None,
                              london_trust: ArrayLike | None = None) -> np.ndarray:
    """Return True for each area flagged as high crime with low trust.

    Two rules, both with every threshold a parameter. ``"percentile"`` compares areas with
    each other: crime at or above its ``crime_pct`` quantile and trust at or below its
    ``trust_pct`` quantile (ties at a threshold are flagged). ``"interval"`` compares each
    area with London and only flags what chance is unlikely to explain: the lower bound of
    the crime rate's interval is above London's rate and the upper bound of trust's interval
    is below London's trust. Missing values are never flagged.

    Inputs may be 2-D (areas × periods); quantiles are then taken per period (per column)
    and ``london_crime``/``london_trust`` may hold one value per period, which gives the
    flag matrix that ``robustness_counts`` turns into "flagged in k of N periods".

    Parameters
    ----------
    crime, trust
        Crime rates and trust proportions per area (same shape).
    method
        ``"percentile"`` or ``"interval"``.
    crime_pct, trust_pct
        Quantile levels for the percentile rule.
    crime_ci, trust_ci
        ``(lower, upper)`` interval bounds per area; required by the interval rule.
    london_crime, london_trust
        London's crime rate and trust; required by the interval rule.

    Returns
    -------
    numpy.ndarray
        Boolean array of the inputs' shape.

    Examples
    --------
    >>> crime = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    >>> trust = [0.9, 0.5, 0.8, 0.6, 0.55, 0.85]
    >>> flag_high_crime_low_trust(crime, trust).tolist()  # crime >= 4.33 and trust <= 0.583
    [False, False, False, False, True, False]
    >>> flag_high_crime_low_trust(crime, trust, method="interval", crime_ci=([0, 1, 2, 3, 4, 5], None),
    ...                           trust_ci=(None, [1, 0.6, 0.9, 0.7, 0.62, 0.9]),
    ...                           london_crime=3.5, london_trust=0.65).tolist()
    [False, False, False, False, True, False]
    """
    c, t = _paired(crime, trust)
    if method == "interval":
        if crime_ci is None or trust_ci is None or london_crime is None or london_trust is None:
            raise ValueError("the interval rule needs crime_ci, trust_ci, london_crime and london_trust")
        _paired(crime_ci[0], trust_ci[1])
    return (high_crime(c, method=method, crime_pct=crime_pct, crime_lower=None if crime_ci is None else crime_ci[0],
                       london_crime=london_crime)
            & low_trust(t, method=method, trust_pct=trust_pct, trust_upper=None if trust_ci is None else trust_ci[1],
                        london_trust=london_trust))


def high_crime(crime: ArrayLike, *, method: str = "percentile", crime_pct: float = 2 / 3,
               crime_lower: ArrayLike | None = None, london_crime: ArrayLike | None = None) -> np.ndarray:
    """Return True where crime meets the flag's crime half (whatever trust is).

    Percentile rule: at or above the ``crime_pct`` quantile (per column for 2-D input).
    Interval rule: the lower bound of the rate's interval above London's rate. Missing
    values never qualify. Used alone, it finds areas "equally high in crime" as a flagged
    group, whatever their trust.

    Examples
    --------
    >>> high_crime([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).tolist()
    [False, False, False, False, True, True]
    """
    if method == "percentile":
        _check_pct("crime_pct", crime_pct)
        c = np.asarray(crime, dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column: nothing to flag
            cut = np.nanquantile(c, crime_pct, axis=0)
        with np.errstate(invalid="ignore"):
            return c >= cut
    if method == "interval":
        if crime_lower is None or london_crime is None:
            raise ValueError("the interval rule needs crime_ci and london_crime")
        with np.errstate(invalid="ignore"):
            return np.asarray(crime_lower, dtype=float) > np.asarray(london_crime, dtype=float)
    raise ValueError(f"method must be 'percentile' or 'interval', got {method!r}")


def low_trust(trust: ArrayLike, *, method: str = "percentile", trust_pct: float = 1 / 3,
              trust_upper: ArrayLike | None = None, london_trust: ArrayLike | None = None) -> np.ndarray:
    """Return True where trust meets the flag's trust half (the mirror of ``high_crime``).

    Examples
    --------
    >>> low_trust([0.9, 0.5, 0.8, 0.6, 0.55, 0.85]).tolist()
    [False, True, False, False, True, False]
    """
    if method == "percentile":
        _check_pct("trust_pct", trust_pct)
        t = np.asarray(trust, dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            cut = np.nanquantile(t, trust_pct, axis=0)
        with np.errstate(invalid="ignore"):
            return t <= cut
    if method == "interval":
        if trust_upper is None or london_trust is None:
            raise ValueError("the interval rule needs trust_ci and london_trust")
        with np.errstate(invalid="ignore"):
            return np.asarray(trust_upper, dtype=float) < np.asarray(london_trust, dtype=float)
    raise ValueError(f"method must be 'percentile' or 'interval', got {method!r}")


def _check_pct(name: str, pct: float) -> None:
    if not 0.0 <= pct <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {pct!r}")


def _paired(a: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Return two float arrays after checking they have the same shape."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"inputs differ in shape: {x.shape} != {y.shape}")
    return x, y


def threshold_grid(crime_pct: float = 2 / 3, trust_pct: float = 1 / 3, *, step: float = 0.05) -> np.ndarray:
    """Return the 3×3 grid of neighbouring (crime_pct, trust_pct) settings, centre included.

    A flag that disappears when a threshold moves by five points is a judgement call, not a
    finding. This grid lets the caller re-run the flag at each threshold ± ``step``;
    settings are clipped to [0, 1].

    Parameters
    ----------
    crime_pct, trust_pct
        The chosen thresholds (the grid's centre).
    step
        Distance to the neighbouring settings.

    Returns
    -------
    numpy.ndarray
        Shape (9, 2): columns ``crime_pct`` and ``trust_pct``, crime varying slowest.

    Examples
    --------
    >>> threshold_grid(0.7, 0.3, step=0.05).round(2).tolist()[:4]
    [[0.65, 0.25], [0.65, 0.3], [0.65, 0.35], [0.7, 0.25]]
    """
    offsets = np.array([-step, 0.0, step])
    crime_grid, trust_grid = np.meshgrid(crime_pct + offsets, trust_pct + offsets, indexing="ij")
    return np.clip(np.column_stack([crime_grid.ravel(), trust_grid.ravel()]), 0.0, 1.0)


def flags_under_settings(crime: ArrayLike, trust: ArrayLike, settings: ArrayLike) -> np.ndarray:
    """Return the percentile flag for every area under every (crime_pct, trust_pct) setting.

    Equivalent to calling ``flag_high_crime_low_trust(crime, trust, crime_pct=c,
    trust_pct=t)`` for each row of ``settings``, but with all quantiles computed in one call
    so the whole grid costs about as much as one flag.

    Parameters
    ----------
    crime, trust
        One value per area (1-D, same length).
    settings
        Shape (M, 2) array of ``(crime_pct, trust_pct)``, e.g. from ``threshold_grid``.

    Returns
    -------
    numpy.ndarray
        Boolean array of shape (areas, M).

    Examples
    --------
    >>> flags = flags_under_settings([1, 2, 3, 4, 5, 6], [0.9, 0.5, 0.8, 0.6, 0.55, 0.85],
    ...                              [[2 / 3, 1 / 3], [0.5, 0.5]])
    >>> flags.astype(int).tolist()
    [[0, 0], [0, 0], [0, 0], [0, 1], [1, 1], [0, 0]]
    """
    c, t = _paired(crime, trust)
    grid = np.asarray(settings, dtype=float).reshape(-1, 2)
    if c.ndim != 1:
        raise ValueError("crime and trust must be 1-D (one value per area)")
    if not np.isnan(c).all() and not np.isnan(t).all():
        crime_cuts, trust_cuts = np.nanquantile(c, grid[:, 0]), np.nanquantile(t, grid[:, 1])
    else:
        crime_cuts = trust_cuts = np.full(grid.shape[0], np.nan)
    with np.errstate(invalid="ignore"):
        return (c[:, None] >= crime_cuts[None, :]) & (t[:, None] <= trust_cuts[None, :])


def robustness_counts(flag_matrix: ArrayLike) -> np.ndarray:
    """Return, for each area (row), how many of the columns flag it.

    With columns as periods this is "flagged in k of N periods"; with columns as the
    neighbouring settings of ``threshold_grid`` it is "flagged under m of M settings".
    ``N`` or ``M`` is the matrix's number of columns.

    Parameters
    ----------
    flag_matrix
        Boolean array of shape (areas, columns).

    Returns
    -------
    numpy.ndarray
        ``int64`` counts, one per area.

    Examples
    --------
    >>> robustness_counts([[True, True, False], [False, False, False]]).tolist()
    [2, 0]
    """
    flags = np.asarray(flag_matrix, dtype=bool)
    if flags.ndim != 2:
        raise ValueError(f"flag_matrix must be 2-D (areas × columns), got {flags.ndim}-D")
    return flags.sum(axis=1, dtype=np.int64)


def reason_sentence(crime_label: str, crime_ratio: float, trust_label: str, trust: float,
                    london_trust: float, *, trust_ci: tuple[float, float] | None = None,
                    level: float = 0.95, borough_figure: bool = False) -> str:
    """Return a plain-English reason for an area's flag.

    The table shows numbers; the sentence says why the area is there in words a resident
    could check, e.g. "Burglary 2.1× the London rate; 'Trust MPS' 58% (95% CI 52–64%)
    against London 66%". Trust is given as a proportion and printed as a whole percentage.
    Ward trust copied from the borough can say so with ``borough_figure``. Missing numbers
    are said to be missing rather than printed as "nan".

    Parameters
    ----------
    crime_label
        Crime type as shown to users, e.g. "Burglary".
    crime_ratio
        The area's rate divided by London's.
    trust_label
        Survey measure as shown to users, e.g. "Trust MPS".
    trust, london_trust
        The area's and London's proportions in [0, 1].
    trust_ci
        Optional ``(lower, upper)`` interval for ``trust``.
    level
        Confidence level of ``trust_ci``, used in the wording.
    borough_figure
        True when ``trust`` is the borough's value shown for a ward.

    Returns
    -------
    str
        The sentence.

    Examples
    --------
    >>> reason_sentence("Burglary", 2.14, "Trust MPS", 0.58, 0.66, trust_ci=(0.52, 0.64))
    "Burglary 2.1× the London rate; 'Trust MPS' 58% (95% CI 52–64%) against London 66%"
    >>> reason_sentence("Robbery", float("nan"), "Trust MPS", 0.6, 0.66, borough_figure=True)
    "Robbery rate not available; 'Trust MPS' 60% (borough figure) against London 66%"
    """
    crime_part = (f"{crime_label} rate not available" if _missing(crime_ratio)
                  else f"{crime_label} {crime_ratio:.1f}× the London rate")
    if _missing(trust):
        return f"{crime_part}; '{trust_label}' not available"
    notes = ["borough figure"] if borough_figure else []
    if trust_ci is not None and not (_missing(trust_ci[0]) or _missing(trust_ci[1])):
        notes.append(f"{level:.0%} CI {100 * trust_ci[0]:.0f}–{100 * trust_ci[1]:.0f}%")
    note = f" ({'; '.join(notes)})" if notes else ""
    london = "" if _missing(london_trust) else f" against London {london_trust:.0%}"
    return f"{crime_part}; '{trust_label}' {trust:.0%}{note}{london}"


def _missing(value: float | None) -> bool:
    """Return True for None or NaN."""
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))
