"""What to count, where and when: the crime query, and the one place it is checked and resolved.

A ``CrimeQuery`` is what the user chose: small and hashable, so the UI caches on it.
``resolve`` checks it and works out, once, everything the analysis needs from it: the
measure, the source's count cube, the mask of the crime types it counts, the months those
types are published in, the period and its positions on the month axis, the comparison
periods, and the area index and populations at its level. The analysis functions below the
entry points take that ``ResolvedQuery``, so none of them checks or resolves the query again,
and the same bad input gives the same ``AnalysisInputError`` (naming the bad value and the
allowed ones) wherever it arrives. Entry points accept either kind and call ``resolved``.

It is done in two steps: ``resolve_selection`` resolves everything but the period into a
``ResolvedSelection``, whose ``for_period`` checks a period and returns the ``ResolvedQuery``
for it. ``resolve`` is the two in one; plan progress, which compares several windows of one
selection, resolves the selection once (``selected``) and takes each window from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import TypeVar

import numpy as np
import pandas as pd

from analysis.periods import comparison_periods, is_month, month_range, month_runs, shift_month
from analysis.registry import Measure, measure
from analysis.tables import LEVELS, SOURCES, AnalysisTables, CountCube
from core.errors import AnalysisInputError


@dataclass(frozen=True)
class CrimeQuery:
    """What to count, where and when: the dashboard's crime filters as one hashable value.

    Attributes
    ----------
    source
        'police_uk' (street-level) or 'mps_ward' (the Met's ward recorded crime).
    level
        'ward' or 'borough' (boroughs are sums over their wards).
    crime_types
        police.uk crime types or the Met's offence subgroups; empty means every type the
        source publishes for the whole period range (for police.uk that leaves out
        anti-social behaviour, which the Met files do not carry).
    crime_groups
        The Met's offence groups (MajorText), added to ``crime_types``.
    start, end
        First and last month 'YYYY-MM', inclusive; None means the latest 12 months.
    measure
        A measure id of ``analysis.registry.MEASURES``: 'count', 'rate' (per 1,000
        residents), 'harm' (CCHI days), 'harm_rate' or 'density' (crimes per km²).
    smoothed
        Use the Empirical Bayes ward rate as the value (measure 'rate', wards only).
    """

    source: str = "mps_ward"
    level: str = "ward"
    crime_types: tuple[str, ...] = ()
    crime_groups: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    measure: str = "rate"
    smoothed: bool = False


@dataclass(frozen=True)
class Period:
    """A checked period: first and last month, and their positions on the source's month axis."""

    start: str
    end: str
    i0: int
    i1: int

    @property
    def months(self) -> int:
        """How many months the period spans."""
        return self.i1 - self.i0 + 1


@dataclass(frozen=True, eq=False)
class ResolvedSelection:
    """A checked query without its period: what is counted, where, and the months it can be counted in.

    Made once by ``resolve_selection``; ``for_period`` checks a period against it and returns
    that window's ``ResolvedQuery`` without resolving anything again, so a caller comparing
    windows of one selection (plan progress: the baseline, the latest window, the placebo's)
    resolves the selection once.

    Attributes
    ----------
    query
        The query as asked.
    measure
        Its registered measure.
    smoothed
        Whether the value is the Empirical Bayes rate (asked for, a measure that can be
        smoothed, at ward level).
    cube
        The source's count cube.
    mask
        Boolean mask over ``cube.types``: the types counted (read-only).
    count_weights, harm_weights
        Per type of the cube: 1.0 for a counted type (else 0), and its harm weight (0 for
        the rest and for types without a weight); a period's counts or harm are the
        month block times these.
    crime_types
        The names of the counted types, in cube order (groups and 'all' expanded).
    available
        Months in which the source publishes every counted type.
    index
        The area index at the query's level (``AnalysisTables.area_index``).
    population, area_km2
        Census 2021 residents and area per area, in ``index`` order.
    """

    query: CrimeQuery
    measure: Measure
    smoothed: bool
    cube: CountCube
    mask: np.ndarray
    count_weights: np.ndarray
    harm_weights: np.ndarray
    crime_types: tuple[str, ...]
    available: tuple[str, ...]
    index: pd.DataFrame
    population: np.ndarray
    area_km2: np.ndarray

    @property
    def source(self) -> str:
        return self.query.source

    @property
    def level(self) -> str:
        return self.query.level

    @property
    def crime_label(self) -> str:
        """The crime selection in words for sentences: a type, a group, 'All crime' or 'Selected crime'."""
        return _label(self.query, self.crime_types)

    def span(self, start: str, end: str) -> Period | None:
        """Another period of the same selection (e.g. one compared with), or None when the source lacks it.

        The data covers it when both ends are on the month axis and every counted type is
        published in every month between.
        """
        i0, i1 = self.cube.month_index(start), self.cube.month_index(end)
        if i0 is None or i1 is None or not self.cube.published[i0:i1 + 1][:, self.mask].all():
            return None
        return Period(start, end, i0, i1)

    def for_period(self, start: str | None, end: str | None) -> ResolvedQuery:
        """Return the resolved query for a period of this selection (ends as in ``CrimeQuery``).

        Raises
        ------
        AnalysisInputError
            For a malformed month, an empty range, or a month the selection is not published in
            (checked here, as ``resolve`` does).
        """
        q = self.query
        if (start, end) != (q.start, q.end):
            q = replace(q, start=start, end=end)
        period = _period(q, self.cube, self.available)
        kept = {f.name: getattr(self, f.name) for f in fields(ResolvedSelection)}
        return ResolvedQuery(**(kept | {"query": q}), period=period,
                             comparisons=comparison_periods(period.start, period.end))


@dataclass(frozen=True, eq=False)
class ResolvedQuery(ResolvedSelection):
    """A checked query and everything worked out from it (made once by ``resolve``): its selection and period.

    Attributes
    ----------
    period
        The query's period, checked against ``available``.
    comparisons
        'prev', 'year_ago', 'vs_2022' → (start, end) of the period compared with, or None
        where not defined (whether the data covers one is ``span``'s answer).

    The rest are ``ResolvedSelection``'s.
    """

    period: Period
    comparisons: dict[str, tuple[str, str] | None]


#: A resolved selection or query, kept as its own kind by ``_of_these``.
_Resolved = TypeVar("_Resolved", bound=ResolvedSelection)


def check_query(q: CrimeQuery) -> Measure:
    """Validate the query's level, measure and source; return its measure.

    Raises
    ------
    AnalysisInputError
        Naming the first bad value and the allowed ones.
    """
    if q.level not in LEVELS:
        raise AnalysisInputError(f"unknown level {q.level!r}; choose from {list(LEVELS)!r}")
    chosen = measure(q.measure)
    if q.source not in SOURCES:
        raise AnalysisInputError(f"unknown source {q.source!r}; choose from {list(SOURCES)!r}")
    return chosen


def resolve(tables: AnalysisTables, q: CrimeQuery) -> ResolvedQuery:
    """Check a query and resolve it against the data, once, for the functions below the entry points.

    Parameters
    ----------
    tables
        From ``analysis.tables.load_tables``.
    q
        The query.

    Returns
    -------
    ResolvedQuery

    Raises
    ------
    AnalysisInputError
        Naming the first bad value and the allowed ones, checked in this order: level,
        measure, source, crime types, crime groups, then the period (malformed month,
        empty range, or a month the selection is not published in).
    """
    return resolve_selection(tables, q).for_period(q.start, q.end)


def resolve_selection(tables: AnalysisTables, q: CrimeQuery) -> ResolvedSelection:
    """Check a query and resolve everything but its period (ignored here), once: see ``ResolvedSelection``.

    Raises
    ------
    AnalysisInputError
        Naming the first bad value and the allowed ones: level, measure, source, crime
        types, then crime groups.
    """
    chosen = check_query(q)
    cube = tables.cube(q.source)
    mask = type_mask(cube, q.crime_types, q.crime_groups)
    mask.flags.writeable = False
    index = tables.area_index(q.level)
    return ResolvedSelection(
        query=q, measure=chosen, smoothed=chosen.smoothed(q.smoothed, q.level), cube=cube, mask=mask,
        count_weights=_read_only(mask.astype(float)), harm_weights=_read_only(cube.harm_weights(mask)),
        crime_types=_names(cube, mask), available=tuple(_published_months(cube, mask)), index=index,
        population=_read_only(index["population"].to_numpy(dtype=float, copy=True)),
        area_km2=_read_only(index["area_km2"].to_numpy(dtype=float, copy=True)))


def resolved(tables: AnalysisTables, q: CrimeQuery | ResolvedQuery) -> ResolvedQuery:
    """Return ``q`` resolved: a ``CrimeQuery`` through ``resolve``, a ``ResolvedQuery`` as it is.

    Raises
    ------
    AnalysisInputError
        For an invalid query, or a resolved query made from other tables (another store
        version): resolve the ``CrimeQuery`` again with these.
    """
    return _of_these(tables, q) if isinstance(q, ResolvedQuery) else resolve(tables, q)


def selected(tables: AnalysisTables, q: CrimeQuery | ResolvedSelection) -> ResolvedSelection:
    """Return ``q``'s selection: a ``CrimeQuery`` through ``resolve_selection``, a resolved one as it is.

    Raises
    ------
    AnalysisInputError
        As ``resolved``.
    """
    return _of_these(tables, q) if isinstance(q, ResolvedSelection) else resolve_selection(tables, q)


def _of_these(tables: AnalysisTables, r: _Resolved) -> _Resolved:
    """``r`` itself, refused when it was resolved from other tables than these."""
    if tables.cubes.get(r.source) is not r.cube:
        raise AnalysisInputError("this resolved query was made from other tables (another data version); "
                                 "resolve its CrimeQuery again with these tables")
    return r


def _read_only(values: np.ndarray) -> np.ndarray:
    values.flags.writeable = False
    return values


def type_mask(cube: CountCube, crime_types: Sequence[str], crime_groups: Sequence[str]) -> np.ndarray:
    """Boolean mask over the cube's types for a selection; empty selects every published type."""
    unknown = [t for t in crime_types if t not in cube.types]
    if unknown:
        raise AnalysisInputError(f"unknown crime type {unknown[0]!r} for source {cube.source!r}; "
                                 f"choose from {list(cube.types)!r}")
    group_names = sorted(set(cube.groups))
    bad = [g for g in crime_groups if g not in group_names]
    if bad:
        raise AnalysisInputError(f"unknown crime group {bad[0]!r} for source {cube.source!r}; "
                                 f"choose from {group_names!r}")
    if not crime_types and not crime_groups:
        return np.asarray(cube.published.any(axis=0), dtype=bool)
    types = np.array(cube.types, dtype=object)
    groups = np.array(cube.groups, dtype=object)
    return np.asarray(np.isin(types, list(crime_types)) | np.isin(groups, list(crime_groups)), dtype=bool)


def _names(cube: CountCube, mask: np.ndarray) -> tuple[str, ...]:
    """The names of the types a mask selects, in cube order."""
    return tuple(t for t, keep in zip(cube.types, mask, strict=True) if keep)


def _published_months(cube: CountCube, mask: np.ndarray) -> list[str]:
    """Months in which the cube publishes every type of the mask."""
    ok = np.asarray(cube.published[:, mask].all(axis=1)) if mask.any() else np.zeros(len(cube.months), bool)
    return [m for m, good in zip(cube.months, ok, strict=True) if good]


def months_available(tables: AnalysisTables, source: str, crime_types: Sequence[str] = (),
                     crime_groups: Sequence[str] = ()) -> list[str]:
    """Months in which the source publishes every selected crime type (Met area).

    Parameters
    ----------
    tables
        From ``analysis.tables.load_tables``.
    source
        'police_uk' or 'mps_ward'.
    crime_types, crime_groups
        The selection, as in ``CrimeQuery``; empty means all published types.

    Returns
    -------
    list of str
        Sorted 'YYYY-MM' months.
    """
    cube = tables.cube(source)
    return _published_months(cube, type_mask(cube, crime_types, crime_groups))


def _period(q: CrimeQuery, cube: CountCube, available: Sequence[str]) -> Period:
    """The query's period (the latest 12 months held when it names none), checked against ``available``."""
    if not available:
        raise AnalysisInputError(f"source {q.source!r} has no month with all of the selected crime types")
    end = q.end or available[-1]
    start = q.start or shift_month(end, -11)
    if q.start is None and start not in available:
        start = next(m for m in available if m >= start) if any(m >= start for m in available) else end
    for label, month in (("start", start), ("end", end)):
        if not is_month(month):
            raise AnalysisInputError(f"{label} month {month!r} is not YYYY-MM")
    if start > end:
        raise AnalysisInputError(f"start month {start} is after end month {end}")
    have = set(available)
    missing = [m for m in month_range(start, end) if m not in have]
    if missing:
        raise AnalysisInputError(f"month {missing[0]} is outside the data for source {q.source!r} and the selected "
                                 f"crime types (available: {month_runs(available)})")
    return Period(start, end, cube.months.index(start), cube.months.index(end))


def _label(q: CrimeQuery, types: tuple[str, ...]) -> str:
    if not q.crime_types and not q.crime_groups:
        return "All crime"
    if len(types) == 1:
        return types[0].capitalize() if types[0].isupper() else types[0]
    if not q.crime_types and len(q.crime_groups) == 1:
        return q.crime_groups[0].capitalize()
    return "Selected crime"
