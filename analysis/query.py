"""What to count, where and when: the crime query, its validation and the period it resolves to.

Every entry point that takes a ``CrimeQuery`` validates it here with ``check_query`` and
resolves its months with ``resolve_period``, so the same bad input gives the same
``AnalysisInputError`` (naming the bad value and the allowed ones) wherever it arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from analysis.periods import is_month, month_range, month_runs, shift_month
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


def selected_types(tables: AnalysisTables, q: CrimeQuery) -> list[str]:
    """Return the crime types a query counts (after expanding groups and 'all')."""
    cube = tables.cube(q.source)
    mask = type_mask(cube, q.crime_types, q.crime_groups)
    return [t for t, keep in zip(cube.types, mask, strict=True) if keep]


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
    mask = type_mask(cube, crime_types, crime_groups)
    ok = np.asarray(cube.published[:, mask].all(axis=1)) if mask.any() else np.zeros(len(cube.months), bool)
    return [m for m, good in zip(cube.months, ok, strict=True) if good]


def resolve_period(tables: AnalysisTables, q: CrimeQuery) -> Period:
    """Return the query's period, checked against the months the data covers.

    Raises
    ------
    AnalysisInputError
        For a malformed month, an empty range or a month the selection is not published in.
    """
    available = months_available(tables, q.source, q.crime_types, q.crime_groups)
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
    cube = tables.cube(q.source)
    return Period(start, end, cube.months.index(start), cube.months.index(end))


def crime_label(tables: AnalysisTables, q: CrimeQuery) -> str:
    """Return the crime selection in words for sentences: a type, a group, 'All crime' or 'Selected crime'."""
    types = selected_types(tables, q)
    if not q.crime_types and not q.crime_groups:
        return "All crime"
    if len(types) == 1:
        return types[0].capitalize() if types[0].isupper() else types[0]
    if not q.crime_types and len(q.crime_groups) == 1:
        return q.crime_groups[0].capitalize()
    return "Selected crime"
