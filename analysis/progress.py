"""Plan progress: did the areas flagged when the plan began get better, and by more than the rest.

The **launch cohort** is what the priority table flags over the baseline period (calendar
2022 by default) with trust at the survey year ending 31 December 2022, with the filters
and thresholds of the Priority areas page: exactly the areas ``export priorities`` flags
for those settings. It is fixed at launch, so later months never move an area in or out.
Two comparison groups: areas that met the crime half of the rule but not the trust half
(``same_crime_other_trust``: as high in crime at launch, which guards against regression to
the mean), and the ``rest`` of London (every other area with data).

Each group's crime in the latest months (as many as the baseline has, ending with the
newest month held) is compared with its baseline: a ratio of totals, with an interval
widened by how unevenly the group's areas changed (quasi-Poisson); the cohort against each
comparison group is a ratio of those ratios. Trust is compared in percentage points.
Quarterly series give the picture over time, a trend test asks whether the cohort was
already diverging before the baseline, and ``rtm`` says what selection alone would predict.
All of this describes; it does not show what the plan caused.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis import classify
from analysis.change import (
    Ratio,
    TrendTest,
    dispersion,
    group_ratio,
    newcombe_difference,
    rate_ratio_exact,
    ratio_of_ratios,
    rtm_ratio,
    shared_weights,
    trend_difference,
    weighted_change,
)
from analysis.periods import PLAN, is_month, month_range, month_runs, shift_month
from analysis.priorities import AreaFlags, FlagSettings, area_flags, check_flags
from analysis.query import CrimeQuery, check_query, crime_label, months_available, type_mask
from analysis.registry import PER, Measure
from analysis.stats import poisson_rate_ci
from analysis.tables import AnalysisTables
from analysis.trust import borough_panel
from core.errors import AnalysisInputError

GROUPS = ("cohort", "same_crime_other_trust", "rest")
GROUP_LABELS = {"cohort": "flagged at launch", "same_crime_other_trust": "as high in crime, trust not low",
                "rest": "rest of London", "london": "London"}
COMPARISONS = {"cohort_vs_rest": ("cohort", "rest"),
               "cohort_vs_same_crime_other_trust": ("cohort", "same_crime_other_trust")}
#: Months before the baseline needed for the pre-launch trend test.
MIN_TREND_MONTHS = 6

#: The per-area table's columns and what each holds (written into the export's metadata).
AREA_COLUMN_DOCS: dict[str, str] = {
    "area_code": "2022 ward code (E05…) or borough code (E09…)",
    "area_name": "ward or borough name",
    "borough_name": "borough the area lies in",
    "group": "cohort (flagged at launch), same_crime_other_trust (met the crime half of the rule at launch, "
             "not the trust half) or rest",
    "population": "Census 2021 usual residents",
    "baseline_count": "crimes in the baseline period",
    "baseline_value": "the chosen measure in the baseline period",
    "latest_count": "crimes in the latest period (as many months as the baseline, ending with the newest held)",
    "latest_value": "the chosen measure in the latest period",
    "change": "latest ÷ baseline (0.9 = 10% lower), of crimes or of harm",
    "change_lo": "lower end of the exact 95% interval of change (crimes only)",
    "change_hi": "upper end of the exact 95% interval of change (crimes only)",
    "trust_baseline": "share agreeing at the trust baseline (0-1); at ward level the borough's figure",
    "trust_latest": "share agreeing in the latest survey year (0-1)",
    "trust_change": "trust_latest - trust_baseline, in percentage points",
    "trust_change_lo": "lower end of Newcombe's 95% interval of trust_change, percentage points",
    "trust_change_hi": "upper end of Newcombe's 95% interval of trust_change, percentage points",
    "flagged_now": "true when the same rule flags the area over the latest period with the latest trust",
}
SUMMARY_COLUMN_DOCS: dict[str, str] = {
    "group": "cohort, same_crime_other_trust, rest, london, or a comparison (cohort_vs_…)",
    "label": "the group in words",
    "areas": "areas in the group with data in both periods",
    "baseline_count": "the group's crimes in the baseline period",
    "baseline_value": "the chosen measure for the group's total in the baseline period",
    "latest_count": "the group's crimes in the latest period",
    "latest_value": "the chosen measure for the group's total in the latest period",
    "change": "latest ÷ baseline for a group; for a comparison, the first group's change ÷ the second's",
    "change_lo": "lower end of the 95% interval (quasi-Poisson: widened by how unevenly the areas changed)",
    "change_hi": "upper end of the 95% interval",
    "dispersion": "how much more unevenly the group's areas changed than chance alone (1 = Poisson)",
    "trust_baseline": "population-weighted mean of the areas' trust at the baseline (0-1)",
    "trust_latest": "the same in the latest survey year (0-1)",
    "trust_change": "change in percentage points; for a comparison, the difference of the two changes",
    "trust_change_lo": "lower end of its 95% interval (percentage points)",
    "trust_change_hi": "upper end of its 95% interval (percentage points)",
}


@dataclass(frozen=True)
class ProgressSettings:
    """When the plan began: the crime baseline and the trust baseline (defaults: the year before launch).

    Attributes
    ----------
    baseline_start, baseline_end
        The baseline crime period, 'YYYY-MM'.
    trust_baseline
        End of the survey year used as the trust baseline, 'YYYY-MM-DD'.
    """

    baseline_start: str = PLAN.baseline[0]
    baseline_end: str = PLAN.baseline[1]
    trust_baseline: str = str(PLAN.trust_baseline.date())


@dataclass(frozen=True, eq=False)
class Progress:
    """Everything the Plan progress page and export show.

    Attributes
    ----------
    query, flags, settings
        What it was computed for.
    areas
        One row per area with data in both periods (``AREA_COLUMN_DOCS``).
    summary
        One row per group, London and each comparison (``SUMMARY_COLUMN_DOCS``).
    crime_series
        ``group, quarter, quarter_end, months, count, value, lo, hi`` per calendar quarter
        (``value`` NaN where a month of the quarter is missing from the source).
    trust_series
        ``group, period_end, trust, lo, hi`` per survey year end.
    baseline, now
        The flag rule at launch (it defines the cohort) and over the latest period.
    latest
        The latest period (start, end).
    pre_trend
        The cohort's extra trend against the rest before the baseline, or None without data.
    rtm
        The cohort's change against the rest's that regression to the mean alone predicts
        (NaN without a period before the baseline).
    missing_months
        Months in the series' range the source lacks for the selection.
    """

    query: CrimeQuery
    flags: FlagSettings
    settings: ProgressSettings
    areas: pd.DataFrame
    summary: pd.DataFrame
    crime_series: pd.DataFrame
    trust_series: pd.DataFrame
    baseline: AreaFlags
    now: AreaFlags
    latest: tuple[str, str]
    pre_trend: TrendTest | None
    rtm: float
    missing_months: tuple[str, ...]
    crime_words: str

    def group(self, name: str) -> pd.Series:
        """One row of the summary."""
        return self.summary.set_index("group").loc[name]


def plan_progress(tables: AnalysisTables, q: CrimeQuery, flags: FlagSettings,
                  settings: ProgressSettings = ProgressSettings()) -> Progress:
    """Compare the areas flagged at launch with the rest, from the baseline to the newest months held.

    Parameters
    ----------
    tables
        From ``analysis.tables.load_tables``.
    q
        The crime filters (source, level, types, measure); its own period is ignored.
    flags
        The flag rule and thresholds; its trust period is replaced by the trust baseline
        for the cohort and by the latest survey year for ``flagged_now``.
    settings
        The crime and trust baselines.

    Returns
    -------
    Progress

    Raises
    ------
    AnalysisInputError
        When the source lacks the baseline months (e.g. the Met's ward data, which starts
        after the launch), has no months after the baseline, or for any invalid filter.
    """
    chosen = check_query(q)
    check_flags(q.measure, flags)
    available = months_available(tables, q.source, q.crime_types, q.crime_groups)
    wanted = month_range(settings.baseline_start, settings.baseline_end) if (
        is_month(settings.baseline_start) and is_month(settings.baseline_end)) else []
    if not wanted or not set(wanted) <= set(available):
        held = month_runs(available) or "no months"
        raise AnalysisInputError(f"the baseline {settings.baseline_start} to {settings.baseline_end} is not in the "
                                 f"data for source {q.source!r} and these crime types (held: {held}); choose a "
                                 "source that covers the launch (the Met's ward data starts after it) or a baseline "
                                 "inside the data")
    baseline = area_flags(tables, replace(q, start=settings.baseline_start, end=settings.baseline_end),
                          replace(flags, trust_period=settings.trust_baseline))
    n = baseline.crime.meta.months
    latest = (shift_month(available[-1], -(n - 1)), available[-1])
    if latest[0] <= settings.baseline_end:
        raise AnalysisInputError(f"the newest {n} months held ({latest[0]} to {latest[1]}) "
                                 f"overlap the baseline ({settings.baseline_start} to {settings.baseline_end}); "
                                 "progress needs a latest period after the baseline — choose an earlier baseline "
                                 "or bring the data up to date")
    now = area_flags(tables, replace(q, start=latest[0], end=latest[1]), replace(flags, trust_period=None))
    base_t, now_t = _frame(baseline), _frame(now)
    index = tables.area_index(q.level).set_index("area_code")

    group = _groups(base_t, baseline, flags)
    basis = chosen.basis
    before, after = base_t[basis].to_numpy(dtype=float), now_t[basis].to_numpy(dtype=float)
    has_data = ~(np.isnan(before) | np.isnan(after))
    areas = _area_rows(base_t, now_t, index, group, chosen, has_data)
    members = {g: (group == g) & has_data for g in GROUPS} | {"london": has_data}
    trusted, boroughs = _has_trust(base_t, now_t), tables.boroughs["area_code"].astype(str).tolist()
    weights = {g: shared_weights(index["borough_code"].to_numpy(dtype=object), index["population"].to_numpy(float),
                                 m & trusted, boroughs) for g, m in members.items()}
    panel = borough_panel(tables, flags.trust_measure, n_per_quarter=flags.n_per_quarter)
    when = (pd.Timestamp(settings.trust_baseline), pd.Timestamp(now.trust_period_end))
    summary = _summary(members, before, after, base_t, now_t, index, chosen, q, weights, panel, when)
    series_months = _series_months(tables, q, available)
    monthly = _monthly(tables, q, chosen, base_t.index, series_months)
    crime_series = _crime_series(monthly, members, index, chosen, series_months, set(available))
    trust_series = _trust_series(weights, panel, series_months[0])
    pre = _pre_trend(monthly, members, series_months, available, settings)
    earlier = _earlier_basis(monthly, series_months, available, settings)
    rtm = (rtm_ratio(earlier, before, members["cohort"]) / rtm_ratio(earlier, before, members["rest"])
           if earlier is not None else float("nan"))
    missing = tuple(m for m in series_months if m not in set(available))
    return Progress(q, flags, settings, areas, summary, crime_series, trust_series, baseline, now, latest, pre, rtm,
                    missing, crime_label(tables, q))


def _frame(flags: AreaFlags) -> pd.DataFrame:
    """Crime, trust and the flag of every area, indexed by area code (the area index's order)."""
    areas = flags.crime.areas
    return pd.DataFrame({"count": areas["count"].to_numpy(float), "harm": areas["harm"].to_numpy(float),
                         "value": areas["value"].to_numpy(float), "rate_lo": areas["rate_lo"].to_numpy(float),
                         "trust": flags.trust["trust"].to_numpy(float),
                         "trust_n": flags.trust["trust_n"].to_numpy(float), "flagged": flags.flagged},
                        index=pd.Index(areas["area_code"].astype(str), name="area_code"))


def _groups(base_t: pd.DataFrame, baseline: AreaFlags, flags: FlagSettings) -> np.ndarray:
    """Each area's group at launch: flagged, the crime half only (with trust known), or the rest."""
    high = classify.high_crime(base_t["value"].to_numpy(dtype=float), method=flags.method, crime_pct=flags.crime_pct,
                               crime_lower=base_t["rate_lo"].to_numpy(dtype=float),
                               london_crime=float(baseline.crime.london["rate"]))
    cohort = base_t["flagged"].to_numpy(dtype=bool)
    same = high & ~cohort & base_t["trust"].notna().to_numpy()
    return np.where(cohort, "cohort", np.where(same, "same_crime_other_trust", "rest"))


def _has_trust(base_t: pd.DataFrame, now_t: pd.DataFrame) -> np.ndarray:
    return (base_t["trust"].notna() & now_t["trust"].notna()).to_numpy()


def _area_rows(base_t: pd.DataFrame, now_t: pd.DataFrame, index: pd.DataFrame, group: np.ndarray, chosen: Measure,
               has_data: np.ndarray) -> pd.DataFrame:
    basis = chosen.basis
    before, after = base_t[basis].to_numpy(dtype=float), now_t[basis].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.where(before > 0, after / np.where(before > 0, before, 1.0), np.nan)
    if basis == "count":
        _, lo, hi = rate_ratio_exact(after, before)
    else:
        lo = hi = np.full(len(before), np.nan)
    p0, p1 = base_t["trust"].to_numpy(dtype=float), now_t["trust"].to_numpy(dtype=float)
    d, d_lo, d_hi = newcombe_difference(p0, base_t["trust_n"].to_numpy(dtype=float), p1,
                                        now_t["trust_n"].to_numpy(dtype=float))
    codes = base_t.index.to_numpy(dtype=str)
    columns = {
        "area_code": codes, "area_name": index["area_name"].to_numpy(dtype=str),
        "borough_name": index["borough_name"].to_numpy(dtype=str), "group": group,
        "population": index["population"].to_numpy(dtype=float),
        "baseline_count": base_t["count"].to_numpy(dtype=float), "baseline_value": base_t["value"].to_numpy(float),
        "latest_count": now_t["count"].to_numpy(dtype=float), "latest_value": now_t["value"].to_numpy(dtype=float),
        "change": change, "change_lo": lo, "change_hi": hi,
        "trust_baseline": p0, "trust_latest": p1, "trust_change": d * 100, "trust_change_lo": d_lo * 100,
        "trust_change_hi": d_hi * 100, "flagged_now": now_t["flagged"].to_numpy(dtype=bool),
    }
    # areas with data, by group (in GROUPS order), then change (NaN last), then code: sorted as arrays,
    # before the frame is built, because this runs on every filter change
    rank = np.array([GROUPS.index(g) for g in group], dtype=int)
    kept = np.flatnonzero(has_data)
    kept = kept[np.lexsort((codes[kept], change[kept], rank[kept]))]
    return pd.DataFrame({name: values[kept] for name, values in columns.items()})


def _group_value(chosen: Measure, count: float, harm: float, pop: float, km2: float) -> float:
    """The chosen measure for a group's totals (rates per 1,000 residents of the group)."""
    values = {"count": count, "rate": count / pop * PER, "harm": harm, "harm_rate": harm / pop * PER,
              "density": count / km2}
    return float(values[chosen.id]) if pop > 0 and km2 > 0 else float("nan")


def _summary(members: dict[str, np.ndarray], before: np.ndarray, after: np.ndarray, base_t: pd.DataFrame,
             now_t: pd.DataFrame, index: pd.DataFrame, chosen: Measure, q: CrimeQuery,
             weights: dict[str, np.ndarray], panel: tuple[pd.DatetimeIndex, pd.DataFrame, pd.DataFrame],
             when: tuple[pd.Timestamp, pd.Timestamp]) -> pd.DataFrame:
    """One row per group and London, then the comparisons."""
    pop, km2 = index["population"].to_numpy(dtype=float), index["area_km2"].to_numpy(dtype=float)
    _, p, n = panel
    p0, n0, p1, n1 = (frame.loc[t].to_numpy(dtype=float) if t in frame.index else np.full(frame.shape[1], np.nan)
                      for t in when for frame in (p, n))
    rows, ratios, trust_w = [], {}, {}
    for name, m in members.items():
        b_count, a_count = (float(t["count"].to_numpy(float)[m].sum()) for t in (base_t, now_t))
        b_harm, a_harm = (float(t["harm"].to_numpy(float)[m].sum()) for t in (base_t, now_t))
        phi = dispersion(after[m], before[m]) if chosen.basis == "count" else float("nan")
        ratio = (group_ratio(float(after[m].sum()), float(before[m].sum()), phi) if chosen.basis == "count"
                 else Ratio(_safe_ratio(float(after[m].sum()), float(before[m].sum())), np.nan, np.nan, np.nan))
        ratios[name] = ratio
        w = weights[name]
        trust_w[name] = w
        t0, t1 = float(np.nansum(w * p0)), float(np.nansum(w * p1))
        change, lo, hi, _ = weighted_change(w, np.nan_to_num(p0), np.nan_to_num(n0, nan=1.0), np.nan_to_num(p1),
                                            np.nan_to_num(n1, nan=1.0))
        has_trust = w.sum() > 0
        rows.append({"group": name, "label": GROUP_LABELS[name], "areas": int(m.sum()), "baseline_count": b_count,
                     "baseline_value": _group_value(chosen, b_count, b_harm, pop[m].sum(), km2[m].sum()),
                     "latest_count": a_count,
                     "latest_value": _group_value(chosen, a_count, a_harm, pop[m].sum(), km2[m].sum()),
                     "change": ratio.value, "change_lo": ratio.lo, "change_hi": ratio.hi, "dispersion": phi,
                     **_trust_cells(has_trust, t0, t1, change, lo, hi)})
    for name, (first, second) in COMPARISONS.items():
        r = (ratio_of_ratios(ratios[first], ratios[second]) if chosen.basis == "count"
             else Ratio(_safe_ratio(ratios[first].value, ratios[second].value), np.nan, np.nan, np.nan))
        w = trust_w[first] - trust_w[second]
        change, lo, hi, _ = weighted_change(w, np.nan_to_num(p0), np.nan_to_num(n0, nan=1.0), np.nan_to_num(p1),
                                            np.nan_to_num(n1, nan=1.0))
        both = trust_w[first].sum() > 0 and trust_w[second].sum() > 0
        rows.append({"group": name, "label": f"{GROUP_LABELS[first]} against {GROUP_LABELS[second]}",
                     "areas": int(members[first].sum() + members[second].sum()), "change": r.value,
                     "change_lo": r.lo, "change_hi": r.hi,
                     **_trust_cells(both, np.nan, np.nan, change, lo, hi)})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMN_DOCS))


def _trust_cells(known: bool, before: float, after: float, change: float, lo: float, hi: float) -> dict[str, float]:
    if not known:
        return dict.fromkeys(("trust_baseline", "trust_latest", "trust_change", "trust_change_lo", "trust_change_hi"),
                             float("nan"))
    return {"trust_baseline": before, "trust_latest": after, "trust_change": change * 100,
            "trust_change_lo": lo * 100, "trust_change_hi": hi * 100}


def _safe_ratio(a: float, b: float) -> float:
    return a / b if b > 0 else float("nan")


def _series_months(tables: AnalysisTables, q: CrimeQuery, available: list[str]) -> list[str]:
    """From two years before the launch (or the first month held) to the newest month, every month."""
    first = min(available[0], shift_month(PLAN.launch_month, -24))
    first = max(first, tables.cube(q.source).months[0])
    return month_range(first, available[-1])


def _monthly(tables: AnalysisTables, q: CrimeQuery, chosen: Measure, codes: pd.Index,
             months: list[str]) -> np.ndarray:
    """Areas × months of the basis (crimes or harm), in ``codes`` order; NaN where the source lacks a month."""
    cube = tables.cube(q.source)
    mask = type_mask(cube, q.crime_types, q.crime_groups)
    per_type = cube.harm_weights(mask) if chosen.basis == "harm" else mask.astype(float)
    ward_months = cube.counts @ per_type  # wards × cube months
    if tables.city_ward >= 0:
        ward_months[tables.city_ward, ~cube.city_months] = np.nan
    if q.level == "borough":
        level = np.zeros((len(tables.boroughs), ward_months.shape[1]))
        np.add.at(level, tables.ward_borough, ward_months)
    else:
        level = ward_months
    rows = tables.area_index(q.level)["area_code"].astype(str)
    at = pd.Index(cube.months).get_indexer(months)
    out = np.where(at >= 0, level[:, np.where(at >= 0, at, 0)], np.nan)
    return out[pd.Index(rows).get_indexer(codes.astype(str))]


def _crime_series(monthly: np.ndarray, members: dict[str, np.ndarray], index: pd.DataFrame, chosen: Measure,
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
    scale = np.repeat([_group_value(chosen, 1.0, 1.0, pop[m].sum(), km2[m].sum()) for m in members.values()],
                      len(labels))
    if chosen.basis == "count":
        _, lo, hi = poisson_rate_ci(totals, np.ones(len(totals)), per=1.0)
    else:
        lo = hi = np.full(len(totals), np.nan)
    return pd.DataFrame({"group": np.repeat(names, len(labels)), "quarter": np.tile(labels, len(names)),
                         "quarter_end": np.tile(ends, len(names)), "months": np.tile(held.astype(int), len(names)),
                         "count": totals, "value": totals * scale, "lo": lo * scale, "hi": hi * scale})


def _trust_series(weights: dict[str, np.ndarray], panel: tuple[pd.DatetimeIndex, pd.DataFrame, pd.DataFrame],
                  first_month: str) -> pd.DataFrame:
    """Per group and survey year end: the population-weighted trust with a normal 95% interval."""
    ends, p, n = panel
    keep = ends >= pd.Period(first_month, "M").start_time
    p, n = p[keep].to_numpy(dtype=float), n[keep].to_numpy(dtype=float)
    rows = []
    for name, w in weights.items():
        if w.sum() == 0:
            continue
        use = w > 0
        complete = ~np.isnan(p[:, use]).any(axis=1)
        mean = np.nansum(p[:, use] * w[use], axis=1)
        var = np.nansum(w[use] ** 2 * p[:, use] * (1 - p[:, use]) / n[:, use], axis=1)
        half = 1.959963984540054 * np.sqrt(var)
        for k, end in enumerate(ends[keep]):
            if complete[k]:
                rows.append({"group": name, "period_end": end, "trust": mean[k], "lo": mean[k] - half[k],
                             "hi": mean[k] + half[k]})
    return pd.DataFrame(rows, columns=["group", "period_end", "trust", "lo", "hi"])


def _pre_trend(monthly: np.ndarray, members: dict[str, np.ndarray], months: list[str], available: list[str],
               settings: ProgressSettings) -> TrendTest | None:
    """The cohort's extra monthly trend against the rest, over the held months before the baseline."""
    held = set(available)
    before = [k for k, m in enumerate(months) if m < settings.baseline_start and m in held]
    if len(before) < MIN_TREND_MONTHS or not members["cohort"].any() or not members["rest"].any():
        return None
    cohort = np.nansum(monthly[members["cohort"]][:, before], axis=0)
    rest = np.nansum(monthly[members["rest"]][:, before], axis=0)
    if cohort.sum() == 0 or rest.sum() == 0:
        return None
    return trend_difference(cohort, rest, [months[k] for k in before])


def _earlier_basis(monthly: np.ndarray, months: list[str], available: list[str],
                   settings: ProgressSettings) -> np.ndarray | None:
    """Each area's crimes (or harm) in the period of the baseline's length just before it, or None."""
    n = len(month_range(settings.baseline_start, settings.baseline_end))
    wanted = month_range(shift_month(settings.baseline_start, -n), shift_month(settings.baseline_end, -n))
    held, position = set(available), {m: k for k, m in enumerate(months)}
    if not all(m in held and m in position for m in wanted):
        return None
    return monthly[:, [position[m] for m in wanted]].sum(axis=1)
