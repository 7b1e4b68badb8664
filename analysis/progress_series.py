"""Plan progress over time: each group's crime per calendar quarter and trust per survey year.

The charts show the groups from two years before the launch to the newest month, so a
reader sees the baseline, the launch and what followed, and whether the groups were already
apart. Everything is plain numpy over the months × areas matrix, because it is recomputed
on every filter change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.periods import PLAN, month_range, shift_month
from analysis.query import ResolvedSelection
from analysis.registry import PER, Measure
from analysis.stats import poisson_rate_ci, t_quantile
from analysis.tables import AnalysisTables


def group_value(chosen: Measure, count: float, harm: float, pop: float, km2: float) -> float:
    """The chosen measure for a group's totals (rates per 1,000 residents of the group)."""
    values = {"count": count, "rate": count / pop * PER, "harm": harm, "harm_rate": harm / pop * PER,
              "density": count / km2}
    return float(values[chosen.id]) if pop > 0 and km2 > 0 else float("nan")


def series_months(selection: ResolvedSelection) -> list[str]:
    """From two years before the launch (or the first month held) to the newest month, every month."""
    available = selection.available
    first = min(available[0], shift_month(PLAN.launch_month, -24))
    first = max(first, selection.cube.months[0])
    return month_range(first, available[-1])


def monthly_basis(tables: AnalysisTables, selection: ResolvedSelection, codes: pd.Index,
                  months: list[str]) -> np.ndarray:
    """Areas × months of the basis (crimes or harm), in ``codes`` order; NaN where the source lacks a month."""
    cube = selection.cube
    per_type = selection.harm_weights if selection.measure.basis == "harm" else selection.count_weights
    ward_months = cube.counts @ per_type  # wards × cube months
    if tables.city_ward >= 0:
        ward_months[tables.city_ward, ~cube.city_months] = np.nan
    if selection.level == "borough":
        level = np.zeros((len(tables.boroughs), ward_months.shape[1]))
        np.add.at(level, tables.ward_borough, ward_months)
    else:
        level = ward_months
    rows = selection.index["area_code"].astype(str)
    at = pd.Index(cube.months).get_indexer(months)
    out = np.where(at >= 0, level[:, np.where(at >= 0, at, 0)], np.nan)
    return out[pd.Index(rows).get_indexer(codes.astype(str))]


def crime_series(monthly: np.ndarray, members: dict[str, np.ndarray], index: pd.DataFrame, chosen: Measure,
                  months: list[str], available: set[str]) -> pd.DataFrame:
    """Per group and calendar quarter: crimes (or harm), the measure and its Poisson interval."""
    # quarters counted from 1970 Q1 ('YYYY-MM' → year * 4 + quarter), in plain numpy
    numbers = np.array([(int(m[:4]) - 1970) * 4 + (int(m[5:7]) - 1) // 3 for m in months])
    quarter_numbers, quarter_id = np.unique(numbers, return_inverse=True)
    labels = np.array([f"{1970 + k // 4}Q{k % 4 + 1}" for k in quarter_numbers])
    held = np.bincount(quarter_id, weights=np.array([m in available for m in months], dtype=float))
    complete = (held == 3) & (np.bincount(quarter_id) == 3)
    next_quarter = (quarter_numbers * 3 + 3).astype("datetime64[M]").astype("datetime64[us]")
    ends = next_quarter - np.timedelta64(1, "D")  # the quarter's last day
    pop, km2 = index["population"].to_numpy(dtype=float), index["area_km2"].to_numpy(dtype=float)
    names = list(members)
    totals = np.concatenate([np.where(complete, np.bincount(quarter_id, weights=np.nansum(monthly[m], axis=0)), np.nan)
                             for m in members.values()])
    # the measure per crime (or harm day) of each group, repeated over its quarters
    scale = np.repeat([group_value(chosen, 1.0, 1.0, pop[m].sum(), km2[m].sum()) for m in members.values()],
                      len(labels))
    if chosen.basis == "count":
        _, lo, hi = poisson_rate_ci(totals, np.ones(len(totals)), per=1.0)
    else:
        lo = hi = np.full(len(totals), np.nan)
    return pd.DataFrame({"group": np.repeat(names, len(labels)), "quarter": np.tile(labels, len(names)),
                         "quarter_end": np.tile(ends, len(names)), "months": np.tile(held.astype(int), len(names)),
                         "count": totals, "value": totals * scale, "lo": lo * scale, "hi": hi * scale})


def trust_series(weights: dict[str, np.ndarray], panel: tuple[pd.DatetimeIndex, pd.DataFrame, pd.DataFrame],
                  first_month: str) -> pd.DataFrame:
    """Per group and survey year end: the population-weighted trust with a normal 95% interval."""
    ends, p, n = panel
    keep = ends >= pd.Period(first_month, "M").start_time
    p, n = p[keep].to_numpy(dtype=float), n[keep].to_numpy(dtype=float)
    z, rows = t_quantile(float("inf")), []  # the normal 95% quantile
    for name, w in weights.items():
        if w.sum() == 0:
            continue
        use = w > 0
        complete = ~np.isnan(p[:, use]).any(axis=1)
        mean = np.nansum(p[:, use] * w[use], axis=1)
        var = np.nansum(w[use] ** 2 * p[:, use] * (1 - p[:, use]) / n[:, use], axis=1)
        half = z * np.sqrt(var)
        for k, end in enumerate(ends[keep]):
            if complete[k]:
                rows.append({"group": name, "period_end": end, "trust": mean[k], "lo": mean[k] - half[k],
                             "hi": mean[k] + half[k]})
    return pd.DataFrame(rows, columns=["group", "period_end", "trust", "lo", "hi"])
