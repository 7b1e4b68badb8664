"""Crime measures per ward or borough for one period: counts, rates, harm, density, change.

The two crime sources (police.uk street-level and the Met's ward recorded crime) are never
mixed: a query names one. Areas or comparison periods that the data does not cover get NaN,
never zero. One call returns the areas, London's row and what the numbers are about
(``CrimeMeasures``), so nothing travels in ``DataFrame.attrs`` and nothing is computed twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.periods import CONNECT_NOTE, straddles_connect
from analysis.query import CrimeQuery, Period, ResolvedQuery, resolved
from analysis.registry import PER
from analysis.stats import empirical_bayes_rates, poisson_rate_ci
from analysis.tables import DAYTIME_NOTE, AnalysisTables
from geo.london import LONDON_CODE

#: The columns of a measures table, in order, and what each holds (written into export metadata).
MEASURE_COLUMN_DOCS: dict[str, str] = {
    "area_code": "2022 ward code (E05…) or borough code (E09…); the City of London is E09000001 at both levels",
    "area_name": "ward or borough name",
    "borough_code": "code of the borough the area lies in (itself for a borough)",
    "borough_name": "name of the borough the area lies in",
    "count": "crimes in the period; empty where the source does not cover the area",
    "population": "Census 2021 usual residents (ONS TS007A)",
    "rate": "crimes per 1,000 residents over the whole period (not per year)",
    "rate_lo": "lower end of the exact (Garwood) Poisson 95% interval of rate",
    "rate_hi": "upper end of the exact (Garwood) Poisson 95% interval of rate",
    "rate_eb": "Empirical Bayes rate per 1,000, pulled toward the borough's (wards only)",
    "harm": "Cambridge Crime Harm Index days of the crimes that have a weight",
    "harm_rate": "harm per 1,000 residents",
    "per_km2": "crimes per square kilometre",
    "value": "the chosen measure (see the measure setting)",
    "london_value": "London's value of the chosen measure",
    "value_ratio": "the area's value divided by London's (per resident for counts and harm)",
    "london_rate": "London's crimes per 1,000 residents",
    "rate_ratio": "rate divided by London's rate",
    "change_prev": "fractional change against the previous period of equal length (-0.1 = 10% lower)",
    "change_year_ago": "fractional change against the same months a year before",
    "change_vs_2022": "fractional change against the same months of 2022, before the plan",
    "straddles_connect": "true when the period spans the Met's CRIS to CONNECT switch (28 Feb 2024)",
    "daytime_caveat": "true where far more people work or visit than live, so rates per resident are inflated",
}
MEASURE_COLUMNS = list(MEASURE_COLUMN_DOCS)


@dataclass(frozen=True)
class CrimeMeta:
    """What a table of crime measures is about: the query resolved, and the notes that go with it.

    Attributes
    ----------
    source, level, measure
        As in the query.
    start, end, months
        The period and its length in months.
    crime_types
        The crime types counted (groups and 'all' expanded).
    comparison_periods
        'prev', 'year_ago', 'vs_2022' → (start, end), or None where not defined.
    harm_note, daytime_note, connect_note
        Sentences to show beside the numbers ('' when one does not apply).
    """

    source: str
    level: str
    measure: str
    start: str
    end: str
    months: int
    crime_types: tuple[str, ...]
    comparison_periods: dict[str, tuple[str, str] | None]
    harm_note: str
    daytime_note: str
    connect_note: str


@dataclass(frozen=True, eq=False)
class CrimeMeasures:
    """One row per area with the crime measures, London's row with the same columns, and what they are about."""

    areas: pd.DataFrame
    london: pd.Series
    meta: CrimeMeta


@dataclass(frozen=True)
class _Sums:
    """Ward-level counts and harm for one period; NaN where the data does not cover a ward."""

    count: np.ndarray
    harm: np.ndarray

    def basis(self, name: str) -> np.ndarray:
        return self.harm if name == "harm" else self.count


def _period_sums(tables: AnalysisTables, r: ResolvedQuery, period: Period) -> _Sums:
    """Sum the selection's counts and harm per ward over a period the data covers."""
    cube, i0, i1 = r.cube, period.i0, period.i1
    diff = cube.cum[:, i1 + 1, :] - cube.cum[:, i0, :]
    count = diff @ r.count_weights
    harm = diff @ r.harm_weights
    if tables.city_ward >= 0 and not cube.city_months[i0:i1 + 1].all():
        count[tables.city_ward] = np.nan
        harm[tables.city_ward] = np.nan
    return _Sums(count, harm)


def _to_level(tables: AnalysisTables, values: np.ndarray, level: str) -> np.ndarray:
    if level == "ward":
        return values
    return np.bincount(tables.ward_borough, weights=values, minlength=len(tables.boroughs))


def _london(tables: AnalysisTables, sums: _Sums) -> tuple[float, float, float]:
    """London's count, harm and population over the wards the data covers."""
    covered = ~np.isnan(sums.count)
    uncovered_pop = float(np.nansum(tables.wards["population"].to_numpy()[~covered]))
    return (float(sums.count[covered].sum()), float(sums.harm[covered].sum()),
            tables.london_population - uncovered_pop)


def _change(now: np.ndarray, then: np.ndarray | None) -> np.ndarray:
    if then is None:
        return np.full(now.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(then > 0, now / np.where(then > 0, then, 1.0) - 1.0, np.nan)


def _values(r: ResolvedQuery, count: np.ndarray, harm: np.ndarray) -> dict[str, np.ndarray]:
    """Every measure for one period at the query's level, plus ``value`` (the chosen one)."""
    pop, km2 = r.population, r.area_km2
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {"count": count, "rate": np.where(pop > 0, count / pop * PER, np.nan), "harm": harm,
               "harm_rate": np.where(pop > 0, harm / pop * PER, np.nan),
               "density": np.where(km2 > 0, count / km2, np.nan)}
    if r.level == "ward":
        out["rate_eb"] = empirical_bayes_rates(count, pop, r.index["borough_code"].to_numpy(), per=PER)
    else:
        out["rate_eb"] = np.full(len(r.index), np.nan)
    out["value"] = out["rate_eb"] if r.smoothed else out[r.measure.id]
    return out


def _london_values(tables: AnalysisTables, count: float, harm: float, pop: float) -> dict[str, float]:
    return {"count": count, "rate": count / pop * PER, "harm": harm, "harm_rate": harm / pop * PER,
            "density": count / tables.london_km2}


def harm_note(r: ResolvedQuery) -> str:
    """One sentence on the harm weights behind the query: scheme and types left out."""
    cube = r.cube
    unweighted = [t for t, w, keep in zip(cube.types, cube.weights, r.mask, strict=True) if keep and np.isnan(w)]
    text = ("Harm uses Cambridge Crime Harm Index weights (days of imprisonment) per "
            + ("police.uk crime type." if r.source == "police_uk"
               else "Home Office subgroup, with the Met's categories mapped to subgroups (some approximately)."))
    if unweighted:
        text += f" Left out of harm (no published weight): {', '.join(unweighted)}."
    return text


def crime_measures(tables: AnalysisTables, q: CrimeQuery | ResolvedQuery) -> CrimeMeasures:
    """Return the crime measures of every ward or borough, and London's, for the query's period.

    Parameters
    ----------
    tables
        From ``analysis.tables.load_tables``.
    q
        Source, level, crime selection, period and measure; a ``CrimeQuery`` is resolved
        here (``analysis.query.resolve``).

    Returns
    -------
    CrimeMeasures
        ``areas`` has the columns ``MEASURE_COLUMNS``: ``count`` (NaN where the source does
        not cover the area), Census 2021 ``population``, ``rate`` per 1,000 residents with
        exact Poisson 95% bounds ``rate_lo``/``rate_hi``, ``rate_eb`` (Marshall Empirical
        Bayes toward the borough; wards only), ``harm`` (CCHI days, types without a weight
        left out), ``harm_rate`` per 1,000, ``per_km2``, ``value`` (the chosen measure),
        London's ``london_value`` and ``london_rate`` with ``value_ratio``/``rate_ratio``
        (per-resident or per-km² ratio to London), fractional changes ``change_prev``,
        ``change_year_ago``, ``change_vs_2022`` (NaN when the data lacks the comparison),
        ``straddles_connect`` and ``daytime_caveat``. ``london`` is London's row with the
        same columns: it sums the wards the source covers, and its population leaves out
        the uncovered ones (e.g. the City of London for the Met's ward data). ``meta`` says
        what the numbers are about.

    Raises
    ------
    AnalysisInputError
        For an unknown source, level, measure or crime type, or months outside the data.
    """
    r = resolved(tables, q)
    chosen, period, level, index, pop = r.measure, r.period, r.level, r.index, r.population
    sums = _period_sums(tables, r, period)
    count = _to_level(tables, sums.count, level)
    harm = _to_level(tables, sums.harm, level)
    rate, lo, hi = poisson_rate_ci(np.nan_to_num(count, nan=0.0), pop, per=PER)
    missing = np.isnan(count)
    rate, lo, hi = (np.where(missing, np.nan, x) for x in (rate, lo, hi))
    values = _values(r, count, harm)
    l_count, l_harm, l_pop = _london(tables, sums)
    l_rate = l_count / l_pop * PER
    l_values = _london_values(tables, l_count, l_harm, l_pop)
    ratio_of = chosen.ratio_of
    ratio_value = values["rate_eb"] if r.smoothed else values[ratio_of]
    value_ratio = ratio_value / l_values[ratio_of]

    now = harm if chosen.basis == "harm" else count
    l_now = l_harm if chosen.basis == "harm" else l_count
    changes, l_changes = {}, {}
    for key, span in r.comparisons.items():  # each comparison period is summed once, for the areas and London
        covered = r.span(*span) if span else None
        then = _period_sums(tables, r, covered) if covered else None
        changes[f"change_{key}"] = _change(now, None if then is None else
                                           _to_level(tables, then.basis(chosen.basis), level))
        l_then = None if then is None else np.array([_london(tables, then)[1 if chosen.basis == "harm" else 0]])
        l_changes[f"change_{key}"] = _change(np.array([l_now]), l_then)

    straddles = straddles_connect(r.source, period.start, period.end)
    areas = pd.DataFrame({
        "area_code": index["area_code"], "area_name": index["area_name"], "borough_code": index["borough_code"],
        "borough_name": index["borough_name"], "count": count, "population": pop, "rate": rate, "rate_lo": lo,
        "rate_hi": hi, "rate_eb": values["rate_eb"], "harm": harm, "harm_rate": values["harm_rate"],
        "per_km2": values["density"], "value": values["value"], "london_value": l_values[chosen.id],
        "value_ratio": value_ratio, "london_rate": l_rate, "rate_ratio": rate / l_rate, **changes,
        "straddles_connect": straddles, "daytime_caveat": index["daytime_caveat"].to_numpy(),
    })
    l_lo_hi = poisson_rate_ci(l_count, l_pop, per=PER)
    london = pd.DataFrame({
        "area_code": [LONDON_CODE], "area_name": ["London"], "borough_code": [pd.NA], "borough_name": [pd.NA],
        "count": [l_count], "population": [l_pop], "rate": [l_rate], "rate_lo": [float(l_lo_hi[1])],
        "rate_hi": [float(l_lo_hi[2])], "rate_eb": [np.nan], "harm": [l_harm], "harm_rate": [l_values["harm_rate"]],
        "per_km2": [l_values["density"]], "value": [l_values[chosen.id]], "london_value": [l_values[chosen.id]],
        "value_ratio": [1.0], "london_rate": [l_rate], "rate_ratio": [1.0], **l_changes,
        "straddles_connect": [straddles], "daytime_caveat": [False],
    }).iloc[0]
    return CrimeMeasures(areas, london, _meta(r, straddles))


def _meta(r: ResolvedQuery, straddles: bool) -> CrimeMeta:
    return CrimeMeta(source=r.source, level=r.level, measure=r.measure.id, start=r.period.start, end=r.period.end,
                     months=r.period.months, crime_types=r.crime_types, comparison_periods=dict(r.comparisons),
                     harm_note=harm_note(r), daytime_note=DAYTIME_NOTE, connect_note=CONNECT_NOTE if straddles else "")


@dataclass(frozen=True)
class PeriodValues:
    """The chosen measure for one period at the query's level, with what the flag needs.

    ``count`` and ``population`` give the per-resident rate and its interval; the London
    figures are over the wards the source covers in that period.
    """

    value: np.ndarray
    count: np.ndarray
    population: np.ndarray
    london_value: float
    london_rate: float


def period_values(tables: AnalysisTables, r: ResolvedQuery, start: str, end: str) -> PeriodValues | None:
    """Return the query's measure for another period (same selection), or None when not covered.

    The light path for robustness over earlier periods: no intervals, changes or frames.

    Parameters
    ----------
    tables
        From ``analysis.tables.load_tables``.
    r
        The resolved query; its own period is ignored.
    start, end
        The period, 'YYYY-MM'.

    Returns
    -------
    PeriodValues or None
    """
    period = r.span(start, end)
    if period is None:
        return None
    sums = _period_sums(tables, r, period)
    count = _to_level(tables, sums.count, r.level)
    values = _values(r, count, _to_level(tables, sums.harm, r.level))
    l_values = _london_values(tables, *_london(tables, sums))
    return PeriodValues(values["value"], count, r.population, l_values[r.measure.id], l_values["rate"])
