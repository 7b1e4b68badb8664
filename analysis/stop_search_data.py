"""The stop-and-search tables as analysis reads them, and which months of a period count.

Loaded once per data version (:func:`load_stop_search`): the counts split by dimension, the
coverage per force and month, and the Census denominators. :func:`period_months` applies
the coverage rule of ``data_sources.stop_search_coverage`` to a chosen period and area:
the months that count, and the gaps inside the period named with their reasons. An area
is covered by the force that polices it (the City of London Police for the City, the Met
elsewhere). London rests on both, but not equally: the City holds about 1.5% of London's
searches. So a London month is a gap when it is a gap for the Met, or a gap for the City
*inside the City's own published run*; a month before the City's first published month
(or after its last) is no gap but is named (:class:`NotHeld`: "City of London Police not
held before Mar 2022: London figures for those months are the Met's").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.errors import AnalysisInputError
from data_sources.coverage import month_range
from data_sources.store import DataHandle
from geo.london import CITY_OF_LONDON_CODE, LONDON_CODE

FORCES = {"metropolitan": "Metropolitan Police", "city-of-london": "City of London Police"}
#: The force whose months make London's (the Met): another force's months outside its published run are
#: named, not gaps.
PRINCIPAL = "metropolitan"
LEVELS = ("ward", "borough")


@dataclass(frozen=True)
class Gap:
    """A month left out of rates and trends (unless included), with the force and why."""

    month: str
    force: str
    reason: str

    @property
    def text(self) -> str:
        """E.g. '2022-12 (Metropolitan Police: cut short: covers 1-17 Dec only)'."""
        return f"{self.month} ({FORCES.get(self.force, self.force)}: {self.reason})"


@dataclass(frozen=True)
class NotHeld:
    """Months of a period before (or after) a secondary force's published run: counted, with its share missing."""

    force: str
    months: tuple[str, ...]
    before: bool

    @property
    def text(self) -> str:
        """E.g. "City of London Police not held before Mar 2022 (2021-06 to 2022-02): London figures ...'s"."""
        edge = pd.Period(self.months[-1] if self.before else self.months[0], freq="M") + (1 if self.before else -1)
        span = self.months[0] if len(self.months) == 1 else f"{self.months[0]} to {self.months[-1]}"
        return (f"{FORCES.get(self.force, self.force)} not held {'before' if self.before else 'after'} "
                f"{edge.strftime('%b %Y')} ({span}): London figures for those months are the Met's")


@dataclass(frozen=True)
class PeriodMonths:
    """The months of a period for one set of forces: those counted, and the gaps named."""

    start: str
    end: str
    counted: tuple[str, ...]
    gaps: tuple[Gap, ...]
    included_gaps: bool
    not_held: tuple[NotHeld, ...] = ()

    @property
    def gap_text(self) -> str:
        """The gaps in one line, or 'none'."""
        return "; ".join(g.text for g in self.gaps) or "none"

    @property
    def not_held_text(self) -> str:
        """The months a secondary force holds nothing for (no gaps: counted without it), or 'none'."""
        return "; ".join(n.text for n in self.not_held) or "none"


@dataclass(frozen=True, eq=False)
class StopSearchData:
    """The stop-and-search tables of one data version.

    ``counts`` maps a dimension to its rows (``ward_code, borough_code, force, month,
    category, count``); ``months`` is coverage per force and month; ``census`` the Census
    2021 residents by group (``data_sources.schemas.CENSUS_ETHNICITY``).
    """

    counts: dict[str, pd.DataFrame] = field(repr=False)
    months: pd.DataFrame
    census: pd.DataFrame
    manifest: dict[str, Any] = field(repr=False)
    _cubes: dict[str, _Cube] = field(default_factory=dict, repr=False)

    @property
    def all_months(self) -> list[str]:
        """Every month any force holds, in order."""
        return sorted(self.months.loc[self.months["searches"] > 0, "month"].astype(str).unique())

    def dimension(self, name: str) -> pd.DataFrame:
        """One dimension's counts; an unknown name is an AnalysisInputError listing them."""
        if name not in self.counts:
            raise AnalysisInputError(f"unknown stop-and-search dimension {name!r}; choose from {sorted(self.counts)}")
        return self.counts[name]

    def crosstab(self, name: str, months: set[str] | tuple[str, ...], key: str | None) -> pd.DataFrame:
        """Searches per area (rows) and category (columns) in ``months``.

        ``key`` is ``'ward_code'`` or ``'borough_code'`` (searches without coordinates left
        out) or None for one row, London, holding every search. Computed with one
        ``bincount`` over integer codes made once per dimension, so a change of period
        costs milliseconds.
        """
        cube = self._cube(name)
        mask = np.isin(cube.month_labels, list(months))[cube.month]
        if key is None:
            keys, labels = np.zeros(len(cube.count), dtype=np.int64), np.array([LONDON_CODE], dtype=object)
        else:
            keys, labels = cube.keys[key]
            mask = mask & (keys >= 0)
        n_cat = len(cube.categories)
        flat = np.bincount(keys[mask] * n_cat + cube.category[mask], weights=cube.count[mask],
                           minlength=len(labels) * n_cat)
        return pd.DataFrame(flat.reshape(len(labels), n_cat), index=labels, columns=cube.categories)

    def _cube(self, name: str) -> _Cube:
        if name not in self._cubes:
            self._cubes[name] = _Cube.of(self.dimension(name))
        return self._cubes[name]


@dataclass(frozen=True, eq=False)
class _Cube:
    """One dimension's rows as integer codes: month, ward, borough and category, with the counts."""

    month: np.ndarray
    month_labels: np.ndarray
    keys: dict[str, tuple[np.ndarray, np.ndarray]]
    category: np.ndarray
    categories: pd.Index
    count: np.ndarray

    @classmethod
    def of(cls, rows: pd.DataFrame) -> _Cube:
        month, month_labels = pd.factorize(rows["month"])
        category, categories = pd.factorize(rows["category"])
        keys = {k: pd.factorize(rows[k]) for k in ("ward_code", "borough_code")}
        return cls(month, np.asarray(month_labels, dtype=object),
                   {k: (codes, np.asarray(labels, dtype=object)) for k, (codes, labels) in keys.items()},
                   category, pd.Index(categories), rows["count"].to_numpy(dtype=float))


def load_stop_search(handle: DataHandle) -> StopSearchData | None:
    """Read the stop-and-search tables, or None when this data has none (an older snapshot)."""
    if not all(handle.has(t) for t in ("stop_search_counts", "stop_search_months", "census_ethnicity")):
        return None
    counts = handle.read("stop_search_counts")
    split = {str(d): rows.drop(columns="dimension").reset_index(drop=True)
             for d, rows in counts.groupby("dimension", sort=True, observed=True)}
    months = handle.read("stop_search_months").astype({"force": object, "month": object, "gap_reason": object})
    census = handle.read("census_ethnicity")
    census = census.astype({c: object for c in census.columns if c != "residents"})
    return StopSearchData(split, months, census, handle.manifest)


def forces_for(area_code: str) -> tuple[str, ...]:
    """The forces whose coverage an area's figures rest on."""
    if area_code == LONDON_CODE:
        return tuple(FORCES)
    return ("city-of-london",) if area_code == CITY_OF_LONDON_CODE else ("metropolitan",)


def default_period(data: StopSearchData, months: int = 12) -> tuple[str, str]:
    """The latest ``months`` months ending with the last month that is no gap for London."""
    london = period_months(data, data.all_months[0], data.all_months[-1], tuple(FORCES))
    last = london.counted[-1] if london.counted else data.all_months[-1]
    start = str(pd.Period(last, freq="M") - (months - 1))
    return max(start, data.all_months[0]), last


def period_months(data: StopSearchData, start: str | None, end: str | None, forces: tuple[str, ...], *,
                  include_gaps: bool = False) -> PeriodMonths:
    """The months from ``start`` to ``end`` that count for ``forces``, and the gaps among them.

    For one force, a month is a gap when the force has it as a gap or holds nothing for it.
    For several (London), a month is a gap when it is one for :data:`PRINCIPAL`, or one for
    another force inside that force's published run (first to last month held); the other
    force's months outside its run are no gaps but are named in ``not_held``. With
    ``include_gaps`` the gaps are counted too, and still named.

    Raises
    ------
    AnalysisInputError
        When the period is malformed or holds no month of data.
    """
    held = data.all_months
    start, end = start or held[0], end or held[-1]
    if start > end:
        raise AnalysisInputError(f"the period starts ({start}) after it ends ({end})")
    wanted = month_range(start, end)
    if not set(wanted) & set(held):
        raise AnalysisInputError(f"no stop-and-search data between {start} and {end}; "
                                 f"the data holds {held[0]} to {held[-1]}")
    m = data.months
    gaps: list[Gap] = []
    not_held: list[NotHeld] = []
    for force in forces:
        rows = m[m["force"] == force].set_index("month")
        run = sorted(rows.index[rows["searches"] > 0].astype(str))
        if len(forces) > 1 and force != PRINCIPAL and run:
            early, late = tuple(mo for mo in wanted if mo < run[0]), tuple(mo for mo in wanted if mo > run[-1])
            not_held += [NotHeld(force, ms, before) for before, ms in ((True, early), (False, late)) if ms]
            wanted_here = [mo for mo in wanted if run[0] <= mo <= run[-1]]
        else:
            wanted_here = wanted
        for month in wanted_here:
            if month not in rows.index:
                gaps.append(Gap(month, force, "no data held"))
            elif bool(rows.at[month, "gap"]):
                gaps.append(Gap(month, force, str(rows.at[month, "gap_reason"])))
    gaps.sort(key=lambda g: (g.month, g.force))
    gap_months = {g.month for g in gaps}
    counted = tuple(mo for mo in wanted if include_gaps or mo not in gap_months)
    return PeriodMonths(start, end, counted, tuple(gaps), include_gaps, tuple(not_held))
