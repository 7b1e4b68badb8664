"""Public Attitude Survey trust per area and quarter, with Wilson intervals from an assumed sample.

MOPAC publishes each measure as a rolling 12-month proportion per borough and for London,
without the number of interviews. Its documented design is about 100 interviews per borough
per quarter, so a rolling year rests on about 4 × 100 = 400 per borough and 32 × 400 for
London (the City of London is not surveyed). That figure is an adjustable assumption
(``n_per_quarter``), used only to draw Wilson 95% intervals; where a table carries a real
sample size it is used instead.

No ward-level figures are published: a ward gets its borough's value, and every result says
so in ``trust_source_level``. When ward rows are loaded they are used, labelled 'ward'.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.measures import AnalysisTables
from analysis.stats import wilson_ci
from data_sources.settings import CITY_OF_LONDON_CODE

#: Interviews per borough per quarter in MOPAC's design: an assumption, not a published n.
N_PER_QUARTER = 100
#: Published figures pool four quarters (rolling 12 months).
QUARTERS_PER_FIGURE = 4
#: Boroughs MOPAC surveys (all but the City of London): London's figure pools them.
SURVEYED_BOROUGHS = 32
#: "A New Met for London 2023-2025" was launched in Jan/Feb 2023: the year to Dec 2022 is the baseline.
PLAN_BASELINE = pd.Timestamp("2022-12-31")
CITY_NOTE = "not surveyed by MOPAC"
WARD_NOTE = "borough figure: no ward-level survey results are published"

TRUST_COLUMNS = [
    "area_code", "area_name", "area_level", "period_end", "measure_id", "measure_label", "proportion", "sample_n",
    "lo", "hi", "baseline_proportion", "change_since_plan", "london_proportion", "london_lo", "london_hi",
    "diff_vs_london",
]
AREA_TRUST_COLUMNS = [
    "area_code", "trust", "trust_lo", "trust_hi", "trust_n", "trust_source_level", "trust_note",
    "trust_period_end", "trust_change_since_plan", "london_trust", "london_trust_lo", "london_trust_hi",
]


def assumed_sample(level: str, n_per_quarter: float = N_PER_QUARTER) -> float:
    """Return the assumed interviews behind one published rolling-year figure.

    Parameters
    ----------
    level
        'borough' (or 'ward', whose figure is the borough's) or 'london'.
    n_per_quarter
        Interviews per borough per quarter.

    Returns
    -------
    float
        ``4 × n_per_quarter`` for a borough, 32 times that for London.

    Examples
    --------
    >>> assumed_sample("borough"), assumed_sample("london")
    (400.0, 12800.0)
    """
    if n_per_quarter <= 0:
        raise AnalysisInputError(f"n_per_quarter must be positive, got {n_per_quarter!r}")
    n = float(QUARTERS_PER_FIGURE * n_per_quarter)
    return n * SURVEYED_BOROUGHS if level == "london" else n


@lru_cache(maxsize=16)
def measures_available(tables: AnalysisTables) -> tuple[tuple[str, str], ...]:
    """Return the survey measures as (measure_id, published label), in label order.

    Cached per tables: every page's sidebar asks on every rerun.
    """
    pairs = tables.trust[["measure_id", "measure_label"]].astype(str).drop_duplicates()
    return tuple((r.measure_id, r.measure_label) for r in pairs.sort_values("measure_label").itertuples(index=False))


def trust_periods(tables: AnalysisTables, measure_id: str) -> list[pd.Timestamp]:
    """Return the period ends published for a measure, oldest first."""
    rows = _measure_rows(tables, measure_id)
    return sorted(pd.to_datetime(rows["period_end"]).unique())


@lru_cache(maxsize=16)
def _measure_rows(tables: AnalysisTables, measure_id: str) -> pd.DataFrame:
    """Return one measure's rows with plain dtypes (cached per tables; callers must not modify them)."""
    trust = tables.trust
    rows = trust[trust["measure_id"] == measure_id]
    if rows.empty:
        known = [m for m, _ in measures_available(tables)]
        raise AnalysisInputError(f"unknown trust measure {measure_id!r}; choose from {known!r}")
    return rows.assign(period_end=pd.to_datetime(rows["period_end"]),
                       area_code=rows["area_code"].astype(object), area_level=rows["area_level"].astype(object))


def measure_label(tables: AnalysisTables, measure_id: str) -> str:
    """Return the published label of a measure, e.g. 'Trust MPS'."""
    return str(_measure_rows(tables, measure_id)["measure_label"].iloc[0])


def _resolve_period(tables: AnalysisTables, measure_id: str, period_end: object | None) -> pd.Timestamp:
    periods = trust_periods(tables, measure_id)
    if period_end is None:
        return pd.Timestamp(periods[-1])
    when = pd.Timestamp(period_end)
    if when not in set(periods):
        raise AnalysisInputError(f"trust measure {measure_id!r} has no figure for the period ending "
                                 f"{when:%Y-%m-%d}; published {periods[0]:%Y-%m-%d} to {periods[-1]:%Y-%m-%d}, "
                                 "quarterly")
    return when


def _with_intervals(rows: pd.DataFrame, n_per_quarter: float) -> pd.DataFrame:
    """Add ``sample_n`` (published, else assumed) and Wilson ``lo``/``hi`` to trust rows."""
    out = rows.copy()
    assumed = np.where(out["area_level"].astype(str) == "london", assumed_sample("london", n_per_quarter),
                       assumed_sample("borough", n_per_quarter))
    published = pd.to_numeric(out["sample_size"], errors="coerce").to_numpy(dtype=float)
    out["sample_n"] = np.where(np.isnan(published), assumed, published)
    lo, hi = wilson_ci(out["proportion"].to_numpy(dtype=float), out["sample_n"].to_numpy(dtype=float))
    out["lo"], out["hi"] = lo, hi
    return out


def trust_table(tables: AnalysisTables, measure_id: str, *, level: str = "borough",
                n_per_quarter: float = N_PER_QUARTER) -> pd.DataFrame:
    """Return every published figure of one measure at one level, with intervals and comparisons.

    Parameters
    ----------
    tables
        From ``measures.load_tables``.
    measure_id
        E.g. 'trust_mps' (see ``measures_available``).
    level
        'borough', 'london' or 'ward' (ward rows only exist when a ward-level table was loaded).
    n_per_quarter
        Assumed interviews per borough per quarter; a figure pools four quarters.

    Returns
    -------
    pandas.DataFrame
        ``TRUST_COLUMNS``, one row per area and period end: ``proportion`` with Wilson 95%
        ``lo``/``hi`` from ``sample_n``; ``baseline_proportion`` (the year to 31 Dec 2022,
        before the plan's launch) and ``change_since_plan`` (proportion minus baseline, in
        proportion points); London's figure and interval for the same period and
        ``diff_vs_london``.

    Raises
    ------
    AnalysisInputError
        For an unknown measure or level.
    """
    if level not in ("borough", "london", "ward"):
        raise AnalysisInputError(f"unknown trust level {level!r}; choose from ['borough', 'london', 'ward']")
    rows = _with_intervals(_measure_rows(tables, measure_id), n_per_quarter)
    rows["period_end"] = pd.to_datetime(rows["period_end"])
    london = rows[rows["area_level"] == "london"].set_index("period_end")
    out = rows[rows["area_level"] == level].copy()
    names = tables.areas.drop_duplicates("area_code").set_index("area_code")["area_name"]
    out["area_name"] = out["area_code"].map(names)
    base = out[out["period_end"] == PLAN_BASELINE].set_index("area_code")["proportion"]
    out["baseline_proportion"] = out["area_code"].map(base).astype(float)
    out["change_since_plan"] = out["proportion"] - out["baseline_proportion"]
    for col, src in (("london_proportion", "proportion"), ("london_lo", "lo"), ("london_hi", "hi")):
        out[col] = out["period_end"].map(london[src]).astype(float)
    out["diff_vs_london"] = out["proportion"] - out["london_proportion"]
    return out[TRUST_COLUMNS].sort_values(["area_code", "period_end"]).reset_index(drop=True)


def london_trust(tables: AnalysisTables, measure_id: str, period_end: object | None = None, *,
                 n_per_quarter: float = N_PER_QUARTER) -> tuple[float, float, float]:
    """Return London's (proportion, lo, hi) for a measure and period (default: latest)."""
    when = _resolve_period(tables, measure_id, period_end)
    rows = _measure_rows(tables, measure_id)
    row = rows[(rows["area_level"] == "london") & (pd.to_datetime(rows["period_end"]) == when)]
    if row.empty:
        return np.nan, np.nan, np.nan
    p = float(row["proportion"].iloc[0])
    lo, hi = wilson_ci(p, assumed_sample("london", n_per_quarter))
    return p, float(lo), float(hi)


def trust_for_areas(tables: AnalysisTables, measure_id: str, period_end: object | None = None,
                    level: str = "ward", *, n_per_quarter: float = N_PER_QUARTER) -> pd.DataFrame:
    """Return one trust figure per ward or borough, in the order of ``tables.area_index(level)``.

    A ward takes its own figure when ward-level rows are loaded, else its borough's, and
    ``trust_source_level`` says which. The City of London is not surveyed by MOPAC: its
    trust is NaN with a note, never imputed from a neighbour or London.

    Parameters
    ----------
    tables
        From ``measures.load_tables``.
    measure_id
        E.g. 'trust_mps'.
    period_end
        End of the rolling year (e.g. '2023-12-31'); None for the latest published.
    level
        'ward' or 'borough'.
    n_per_quarter
        Assumed interviews per borough per quarter.

    Returns
    -------
    pandas.DataFrame
        ``AREA_TRUST_COLUMNS``: ``trust`` with Wilson ``trust_lo``/``trust_hi`` from
        ``trust_n``, ``trust_source_level`` ('ward', 'borough' or <NA>), ``trust_note``,
        ``trust_period_end``, ``trust_change_since_plan`` (vs the year to Dec 2022) and
        London's figure.

    Raises
    ------
    AnalysisInputError
        For an unknown measure, level or period.
    """
    if level not in ("ward", "borough"):
        raise AnalysisInputError(f"unknown level {level!r}; choose from ['ward', 'borough']")
    when = _resolve_period(tables, measure_id, period_end)
    rows = _measure_rows(tables, measure_id)
    rows = rows.assign(period_end=pd.to_datetime(rows["period_end"]))
    now = _with_intervals(rows[rows["period_end"] == when], n_per_quarter).set_index("area_code")
    base = rows[rows["period_end"] == PLAN_BASELINE].set_index("area_code")["proportion"]
    index = tables.area_index(level)
    codes = index["area_code"].astype(str)
    own = codes.where(codes.isin(now.index[now["area_level"] == level]))
    borough = index["borough_code"].astype(str)
    key = own.fillna(borough.where(borough.isin(now.index)))
    source_level = np.full(len(codes), None, dtype=object)
    source_level[key.notna().to_numpy()] = "borough"
    source_level[own.notna().to_numpy()] = level
    p = key.map(now["proportion"]).astype(float)
    city = (codes == CITY_OF_LONDON_CODE) | (borough == CITY_OF_LONDON_CODE)
    note = np.where(city & p.isna(), CITY_NOTE,
                    np.where((source_level == "borough") & (level == "ward"), WARD_NOTE, ""))
    l_p, l_lo, l_hi = london_trust(tables, measure_id, when, n_per_quarter=n_per_quarter)
    out = pd.DataFrame({
        "area_code": codes.to_numpy(), "trust": p.to_numpy(), "trust_lo": key.map(now["lo"]).astype(float).to_numpy(),
        "trust_hi": key.map(now["hi"]).astype(float).to_numpy(),
        "trust_n": key.map(now["sample_n"]).astype(float).to_numpy(),
        "trust_source_level": pd.array(source_level, dtype="string"), "trust_note": note,
        "trust_period_end": when, "trust_change_since_plan": (p - key.map(base).astype(float)).to_numpy(),
        "london_trust": l_p, "london_trust_lo": l_lo, "london_trust_hi": l_hi,
    })
    return out[AREA_TRUST_COLUMNS]

