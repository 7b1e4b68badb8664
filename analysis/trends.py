"""Crime month by month: for London or one area, for several areas side by side, and by type.

All three read the same count cube over the query's resolved period and selected types
(``analysis.query.resolve``, once per call), so their numbers add up to the period totals of
``analysis.crime``. Months the source does not
cover an area (the City of London outside its own force's months) are NaN, never zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.query import CrimeQuery, ResolvedQuery, resolved
from analysis.registry import PER
from analysis.tables import AnalysisTables
from geo.london import LONDON_CODE


def monthly_trend(tables: AnalysisTables, q: CrimeQuery | ResolvedQuery, area_code: str | None = None) -> pd.DataFrame:
    """Return the month-by-month count, harm and rate for one area, or London, over the query's period.

    Parameters
    ----------
    tables
        From ``analysis.tables.load_tables``.
    q
        The query; its level is ignored, ``area_code`` decides.
    area_code
        A ward or borough code; None (or London's code) for London.

    Returns
    -------
    pandas.DataFrame
        ``month, count, harm, rate`` (rate per 1,000 residents); NaN in months the
        source does not cover the area.

    Raises
    ------
    AnalysisInputError
        For an invalid query.
    UnknownAreaError
        For an unknown area.
    """
    r = resolved(tables, q)
    cube, period = r.cube, r.period
    block = cube.counts[:, period.i0:period.i1 + 1, :]
    count = block @ r.count_weights
    harm = block @ r.harm_weights
    if tables.city_ward >= 0:
        uncovered = ~cube.city_months[period.i0:period.i1 + 1]
        count[tables.city_ward, uncovered] = np.nan
        harm[tables.city_ward, uncovered] = np.nan
    pops = tables.wards["population"].to_numpy(dtype=float)
    if area_code is None or area_code == LONDON_CODE:
        covered = ~np.isnan(count)
        month_count = np.where(covered, count, 0.0).sum(axis=0)
        month_harm = np.where(covered, harm, 0.0).sum(axis=0)
        pop = tables.london_population - (np.where(covered, 0.0, pops[:, None])).sum(axis=0)
    else:
        rows, is_borough = tables.area_wards(area_code)
        area_pop = (tables.boroughs.loc[tables.boroughs["area_code"] == area_code, "population"].iloc[0]
                    if is_borough else pops[rows].sum())
        pop = np.full(count.shape[1], float(area_pop))
        month_count = count[rows].sum(axis=0)
        month_harm = harm[rows].sum(axis=0)
    return pd.DataFrame({"month": list(cube.months[period.i0:period.i1 + 1]), "count": month_count,
                         "harm": month_harm, "rate": month_count / pop * PER})


def area_trends(tables: AnalysisTables, q: CrimeQuery | ResolvedQuery, area_codes: Sequence[str]) -> pd.DataFrame:
    """Return ``monthly_trend`` for several areas (London's code for London), long format with ``area`` names."""
    r = resolved(tables, q)
    names = {**tables.area_names(), LONDON_CODE: "London"}
    frames = [monthly_trend(tables, r, None if c == LONDON_CODE else c).assign(area=names.get(c, c))
              for c in area_codes]
    return pd.concat(frames, ignore_index=True)


def profile_codes(tables: AnalysisTables, area_code: str) -> tuple[str, ...]:
    """The areas a profile's trend shows: the area, its borough (for a ward) and London."""
    borough = tables.borough_of(area_code)
    return (area_code, *([borough] if borough else []), LONDON_CODE)


def monthly_trend_by_type(tables: AnalysisTables, q: CrimeQuery | ResolvedQuery, area_code: str) -> pd.DataFrame:
    """Return an area's monthly counts per crime type (police.uk) or offence group (Met), long format.

    ``monthly_trend`` sums the types away; this keeps them, for a profile's "crime by type".
    Counts come from the same cube over the query's resolved period and selected types;
    months the source does not cover the City of London are NaN.

    Returns
    -------
    pandas.DataFrame
        ``month, type, count``, one row per month and type (or group) with any crime in the period.

    Raises
    ------
    AnalysisInputError
        For an invalid query.
    UnknownAreaError
        For an unknown area.
    """
    r = resolved(tables, q)
    cube, period = r.cube, r.period
    rows, _ = tables.area_wards(area_code)
    columns = np.flatnonzero(r.mask).tolist()
    labels = [(cube.groups[i].capitalize() if r.source == "mps_ward" else cube.types[i]) for i in columns]
    block = cube.counts[rows][:, period.i0:period.i1 + 1][:, :, columns].sum(axis=0)  # months × types
    frame = pd.DataFrame(block, index=pd.Index(cube.months[period.i0:period.i1 + 1], name="month"), columns=labels)
    frame = frame.T.groupby(level=0).sum().T  # Met subgroups → offence groups
    if tables.city_ward >= 0 and rows[tables.city_ward]:
        frame.loc[~cube.city_months[period.i0:period.i1 + 1]] = float("nan")
    frame = frame.loc[:, frame.sum() > 0]
    return frame.reset_index().melt(id_vars="month", var_name="type", value_name="count")
