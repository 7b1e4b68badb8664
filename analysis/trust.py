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

import numpy as np
import pandas as pd

from analysis.periods import PLAN
from analysis.stats import wilson_ci
from analysis.tables import AnalysisTables
from core.errors import AnalysisInputError
from geo.london import CITY_OF_LONDON_CODE

#: Interviews per borough per quarter in MOPAC's design: an assumption, not a published n.
N_PER_QUARTER = 100
#: Published figures pool four quarters (rolling 12 months).
QUARTERS_PER_FIGURE = 4
#: Boroughs MOPAC surveys (all but the City of London): London's figure pools them.
SURVEYED_BOROUGHS = 32
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


def measures_available(tables: AnalysisTables) -> tuple[tuple[str, str], ...]:
    """Return the survey measures as (measure_id, published label), in label order."""
    return tables.trust_measures


def trust_periods(tables: AnalysisTables, measure_id: str) -> list[pd.Timestamp]:
    """Return the period ends published for a measure, oldest first."""
    ends = np.unique(_measure_rows(tables, measure_id)["period_end"].to_numpy(dtype="datetime64[ns]"))
    return [pd.Timestamp(end) for end in ends]


def _measure_rows(tables: AnalysisTables, measure_id: str) -> pd.DataFrame:
    """Return one measure's rows with plain dtypes (shared; callers must not modify them)."""
    rows = tables.trust_by_measure.get(measure_id)
    if rows is None:
        known = [m for m, _ in tables.trust_measures]
        raise AnalysisInputError(f"unknown trust measure {measure_id!r}; choose from {known!r}")
    return rows


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


def _sample_n(level: np.ndarray, sample_size: object, n_per_quarter: float) -> np.ndarray:
    """Each trust row's sample: the published size, else the assumed one for its level."""
    assumed = np.where(level == "london", assumed_sample("london", n_per_quarter),
                       assumed_sample("borough", n_per_quarter))
    published = np.asarray(pd.to_numeric(sample_size, errors="coerce"), dtype=float)
    return np.where(np.isnan(published), assumed, published)


def _intervals(level: np.ndarray, sample_size: object, proportion: np.ndarray,
               n_per_quarter: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``sample_n`` (published, else assumed) and Wilson ``lo``/``hi`` of trust rows, as arrays."""
    sample_n = _sample_n(level, sample_size, n_per_quarter)
    lo, hi = wilson_ci(proportion, sample_n)
    return sample_n, lo, hi


def _with_intervals(rows: pd.DataFrame, n_per_quarter: float) -> pd.DataFrame:
    """Add ``sample_n`` (published, else assumed) and Wilson ``lo``/``hi`` to trust rows."""
    sample_n, lo, hi = _intervals(rows["area_level"].to_numpy(), rows["sample_size"],
                                  rows["proportion"].to_numpy(dtype=float), n_per_quarter)
    return rows.assign(sample_n=sample_n, lo=lo, hi=hi)


def trust_table(tables: AnalysisTables, measure_id: str, *, level: str = "borough",
                n_per_quarter: float = N_PER_QUARTER) -> pd.DataFrame:
    """Return every published figure of one measure at one level, with intervals and comparisons.

    Parameters
    ----------
    tables
        From ``analysis.tables.load_tables``.
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
    base = out[out["period_end"] == PLAN.trust_baseline].set_index("area_code")["proportion"]
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
    at = ((rows["period_end"].to_numpy(dtype="datetime64[ns]") == np.datetime64(when, "ns"))
          & (rows["area_level"].to_numpy() == "london"))
    return _london_p(rows["proportion"].to_numpy(dtype=float)[at], n_per_quarter)


def _london_p(london: np.ndarray, n_per_quarter: float) -> tuple[float, float, float]:
    """(proportion, lo, hi) of London's published figure (NaN without one)."""
    if not len(london):
        return np.nan, np.nan, np.nan
    p = float(london[0])
    lo, hi = wilson_ci(p, assumed_sample("london", n_per_quarter))
    return p, float(lo), float(hi)


def _positions(codes: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The row of each key among ``codes`` (-1 for None or an absent key)."""
    position = {c: i for i, c in enumerate(codes)}
    return np.array([position.get(k, -1) if k is not None else -1 for k in keys], dtype=np.intp)


def _take(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``values`` at the positions from ``_positions`` (NaN where there is none)."""
    return np.where(at >= 0, values[at] if len(values) else np.nan, np.nan)


def trust_for_areas(tables: AnalysisTables, measure_id: str, period_end: object | None = None,
                    level: str = "ward", *, n_per_quarter: float = N_PER_QUARTER) -> pd.DataFrame:
    """Return one trust figure per ward or borough, in the order of ``tables.area_index(level)``.

    A ward takes its own figure when ward-level rows are loaded, else its borough's, and
    ``trust_source_level`` says which. The City of London is not surveyed by MOPAC: its
    trust is NaN with a note, never imputed from a neighbour or London.

    Parameters
    ----------
    tables
        From ``analysis.tables.load_tables``.
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
    # plain arrays, not frames: this runs on every filter change
    ends = rows["period_end"].to_numpy(dtype="datetime64[ns]")
    row_codes, row_levels = rows["area_code"].to_numpy(dtype=object), rows["area_level"].to_numpy(dtype=object)
    proportion = rows["proportion"].to_numpy(dtype=float)
    now = np.flatnonzero(ends == np.datetime64(when, "ns"))
    base = np.flatnonzero(ends == np.datetime64(PLAN.trust_baseline, "ns"))
    now_codes, now_p = row_codes[now], proportion[now]
    sample_n, lo, hi = _intervals(row_levels[now], rows["sample_size"].to_numpy()[now], now_p, n_per_quarter)
    index = tables.area_index(level)
    codes = index["area_code"].to_numpy(dtype=object).astype(str)
    borough = index["borough_code"].to_numpy(dtype=object).astype(str)
    own_codes, any_codes = set(now_codes[row_levels[now] == level]), set(now_codes)
    own = np.fromiter((c in own_codes for c in codes), bool, len(codes))
    in_borough = np.fromiter((b in any_codes for b in borough), bool, len(codes))
    key = np.where(own, codes, np.where(in_borough, borough, None))
    source_level = np.full(len(codes), None, dtype=object)
    source_level[key != None] = "borough"  # noqa: E711 (elementwise on an object array)
    source_level[own] = level
    at_now, at_base = _positions(now_codes, key), _positions(row_codes[base], key)
    p = _take(now_p, at_now)
    city = (codes == CITY_OF_LONDON_CODE) | (borough == CITY_OF_LONDON_CODE)
    note = np.where(city & np.isnan(p), CITY_NOTE,
                    np.where((source_level == "borough") & (level == "ward"), WARD_NOTE, ""))
    l_p, l_lo, l_hi = _london_p(now_p[row_levels[now] == "london"], n_per_quarter)
    return pd.DataFrame({
        "area_code": codes, "trust": p, "trust_lo": _take(lo, at_now), "trust_hi": _take(hi, at_now),
        "trust_n": _take(sample_n, at_now), "trust_source_level": pd.array(source_level, dtype="string"),
        "trust_note": note, "trust_period_end": when,
        "trust_change_since_plan": p - _take(proportion[base], at_base),
        "london_trust": l_p, "london_trust_lo": l_lo, "london_trust_hi": l_hi,
    }, columns=AREA_TRUST_COLUMNS)



def borough_panel(tables: AnalysisTables, measure_id: str, *,
                  n_per_quarter: float = N_PER_QUARTER) -> tuple[pd.DatetimeIndex, pd.DataFrame, pd.DataFrame]:
    """Return every borough figure of a measure as periods × boroughs, with the samples behind them.

    For combining boroughs (population-weighted group means) over time in one matrix step.

    Returns
    -------
    period_ends, proportion, sample
        The period ends, oldest first; proportions (NaN where not published) and sample
        sizes (published, else assumed) with those ends as index and the codes of
        ``tables.boroughs`` as columns.
    """
    rows = _measure_rows(tables, measure_id)
    borough = np.flatnonzero(rows["area_level"].to_numpy() == "borough")
    proportion = rows["proportion"].to_numpy(dtype=float)[borough]
    sample_n = _sample_n(rows["area_level"].to_numpy()[borough], rows["sample_size"].to_numpy()[borough], n_per_quarter)
    codes = tables.boroughs["area_code"].astype(str).tolist()
    ends, row_end = np.unique(rows["period_end"].to_numpy(dtype="datetime64[ns]")[borough], return_inverse=True)
    row_code = pd.Index(codes).get_indexer(rows["area_code"].to_numpy()[borough])
    keep = row_code >= 0
    index = pd.DatetimeIndex(ends)
    frames = []
    for values in (proportion, sample_n):
        matrix = np.full((len(ends), len(codes)), np.nan)
        matrix[row_end[keep], row_code[keep]] = values[keep]
        frames.append(pd.DataFrame(matrix, index=index, columns=codes))
    return index, frames[0], frames[1]


def publications(tables: AnalysisTables, measure_id: str) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """Which publication each stretch of a measure's borough figures comes from: (name, first, last), oldest first.

    Stores built before figures carried their publication give one entry, 'MOPAC Public
    Attitude Survey'.
    """
    rows = _measure_rows(tables, measure_id)
    rows = rows[rows["area_level"].to_numpy() == "borough"]
    names = rows["publication"].astype(str) if "publication" in rows else pd.Series("MOPAC Public Attitude Survey",
                                                                                     index=rows.index)
    spans = rows.groupby(names.to_numpy())["period_end"].agg(["min", "max"]).sort_values("min")
    return [(str(name), span["min"], span["max"]) for name, span in spans.iterrows()]
