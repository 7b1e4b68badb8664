"""Plan progress: did the areas flagged when the plan began get better, and by more than the others.

The **launch cohort** is what the priority table flags over the baseline window (calendar
2022 by default) with trust in the survey year that overlaps it most, with the filters and
thresholds of the Priority areas page: exactly the areas ``export priorities`` flags for
those settings. It is fixed at launch, so later months never move an area in or out. It is
compared with ``all_other`` (every other area with data) and with its two parts (see
``analysis.progress_groups``).

Each group's crime in the latest window (as long as the baseline; by default the newest
months held) is compared with its baseline: a ratio of totals with a 95% interval that is
cluster-robust by borough; the cohort against each comparison group is a ratio of those
ratios. Trust is compared in percentage points between the survey years aligned with the
two windows (``analysis.progress_windows``), with intervals widened by the survey's design
effect. Quarterly series give the picture over time (``analysis.progress_series``), trend
tests ask whether any two groups were already diverging (``analysis.progress_trends``),
and ``analysis.progress_selection`` says what selection alone would produce, with a placebo.
All of this describes; it does not show what the plan caused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis.change import newcombe_difference, rate_ratio_exact
from analysis.periods import PLAN, is_month, month_range, month_runs, shift_month
from analysis.priorities import AreaFlags, FlagSettings, area_flags, check_flags
from analysis.progress_columns import SUMMARY_COLUMN_DOCS
from analysis.progress_groups import (
    COMPARISONS,
    GROUPS,
    Change,
    area_dispersion,
    clusters_of,
    crime_changes,
    group_labels,
    group_members,
    launch_groups,
    trust_changes,
)
from analysis.progress_selection import SelectionAlone, selection_alone
from analysis.progress_series import crime_series, group_value, monthly_basis, series_months, trust_series
from analysis.progress_trends import PreTrend, pre_trends
from analysis.progress_windows import aligned_survey_year, gap_months, latest_window
from analysis.query import CrimeQuery, ResolvedSelection, resolve_selection, selected
from analysis.registry import Measure
from analysis.tables import SOURCES, AnalysisTables
from analysis.trust import borough_panel
from core.errors import AnalysisInputError

PLAN_BASELINE = PLAN.baseline
#: Largest design effect accepted: beyond it a survey of 400 a year says next to nothing.
MAX_DESIGN_EFFECT = 10.0


@dataclass(frozen=True)
class ProgressSettings:
    """The windows compared and how sure the survey is (defaults: 2022 against the newest 12 months held).

    Attributes
    ----------
    baseline_start, baseline_end
        The baseline crime window, 'YYYY-MM'.
    latest_start, latest_end
        The latest crime window (as long as the baseline); None: ending with the newest month held.
    trust_baseline, trust_latest
        End of the survey year ('YYYY-MM-DD') for each window; None: the year overlapping it most.
    design_effect
        How much the survey's weighting and clustering inflate its variance (1: a simple
        random sample of the interviews); every trust interval, and the interval rule, use
        the assumed interviews ÷ this (MOPAC publishes no sample sizes; a table you upload
        with its own sizes is taken as already effective).
    """

    baseline_start: str = PLAN_BASELINE[0]
    baseline_end: str = PLAN_BASELINE[1]
    latest_start: str | None = None
    latest_end: str | None = None
    trust_baseline: str | None = None
    trust_latest: str | None = None
    design_effect: float = 1.0


@dataclass(frozen=True)
class TrustYears:
    """The survey years used: their ends ('YYYY-MM-DD') and whether each overlaps its crime window."""

    baseline: str
    latest: str
    baseline_overlaps: bool = True
    latest_overlaps: bool = True


@dataclass(frozen=True)
class Placebo:
    """The same rule one window before the baseline, followed over the next window (before the plan)."""

    baseline: tuple[str, str]
    follow_up: tuple[str, str]
    trust_year: str
    areas: int
    change: Change


@dataclass(frozen=True, eq=False)
class Progress:
    """Everything the Plan progress page and export show.

    Attributes
    ----------
    query, flags, settings
        What it was computed for (``flags`` as given; trust intervals divide its interviews
        by ``settings.design_effect``).
    areas
        One row per area with data in both windows (``progress_columns.AREA_COLUMN_DOCS``).
    summary
        One row per group, London, each comparison, ``selection_alone`` and ``placebo``
        (``progress_columns.SUMMARY_COLUMN_DOCS``).
    crime_series, trust_series
        Per group and quarter / survey year (``analysis.progress_series``).
    baseline, now
        The flag rule at launch (it defines the cohort) and over the latest window.
    latest
        The latest window (start, end).
    trust_years
        The survey years used.
    pre_trends
        Per comparison, its pre-baseline trend (empty without 6 months before the baseline).
    selection
        What selection alone would give cohort against ``all_other`` (None for harm or
        without the window before the baseline).
    placebo
        The same rule one window earlier (None without the data).
    missing_months
        Months in the series' range the source lacks for the selection.
    labels
        Each group in words.
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
    trust_years: TrustYears
    pre_trends: dict[str, PreTrend]
    selection: SelectionAlone | None
    placebo: Placebo | None
    missing_months: tuple[str, ...]
    crime_words: str
    labels: dict[str, str]

    def group(self, name: str) -> pd.Series:
        """One row of the summary."""
        return self.summary.set_index("group").loc[name]


def plan_progress(tables: AnalysisTables, q: CrimeQuery | ResolvedSelection, flags: FlagSettings,
                  settings: ProgressSettings = ProgressSettings(), *, effects: bool = True) -> Progress:
    """Compare the areas flagged at launch with all other areas, from the baseline to the latest window.

    Parameters
    ----------
    tables
        From ``analysis.tables.load_tables``.
    q
        The crime filters (source, level, types, measure); its own period is ignored. A
        ``CrimeQuery`` is resolved here, once (``analysis.query.resolve_selection``), and each
        window is that selection's ``for_period``: nothing below resolves the query again.
    flags
        The flag rule and thresholds; its trust period is replaced by the survey year
        aligned with each window.
    settings
        The windows, the survey years (None: aligned) and the design effect.
    effects
        Also work out what selection alone would give (a simulation) and the placebo (the
        rule one window earlier): the ``selection_alone`` and ``placebo`` rows. They take
        longer than the rest together, so a caller in a hurry can leave them out.

    Raises
    ------
    AnalysisInputError
        When the source lacks the baseline months (e.g. the Met's ward data, which starts
        after the launch), the latest window is not after the baseline or not in the data,
        a named survey year is not held, or for any invalid filter or setting.
    """
    sel = selected(tables, q)
    chosen = sel.measure
    check_flags(chosen, flags)
    if not 1.0 <= settings.design_effect <= MAX_DESIGN_EFFECT:
        raise AnalysisInputError(f"the design effect {settings.design_effect!r} must lie between 1 (a simple random "
                                 f"sample) and {MAX_DESIGN_EFFECT:g}; 2 is a common value for a weighted, "
                                 "clustered survey")
    available = sel.available
    window = _baseline_window(settings, available, sel.source)
    n = len(month_range(*window))
    latest = latest_window(available, n, settings.latest_start, settings.latest_end)
    if latest[0] <= window[1]:
        raise AnalysisInputError(f"the latest window {latest[0]} to {latest[1]} overlaps the baseline ({window[0]} to "
                                 f"{window[1]}); progress needs a latest window after the baseline: choose an "
                                 "earlier baseline, a later window or bring the data up to date")
    survey = replace(flags, n_per_quarter=flags.n_per_quarter / settings.design_effect)
    panel = borough_panel(tables, flags.trust_measure, n_per_quarter=survey.n_per_quarter)
    years = _trust_years(panel[0], window, latest, settings)
    baseline = area_flags(tables, sel.for_period(*window), replace(survey, trust_period=years.baseline))
    now = area_flags(tables, sel.for_period(*latest), replace(survey, trust_period=years.latest))
    base_t, now_t = _frame(baseline), _frame(now)
    index = sel.index.set_index("area_code")
    group = launch_groups(base_t, baseline, survey)
    before, after = (t[chosen.basis].to_numpy(dtype=float) for t in (base_t, now_t))
    has_data = ~(np.isnan(before) | np.isnan(after))
    members = group_members(group, has_data)
    cluster = clusters_of(index, sel.level)
    counted = chosen.basis == "count"
    changes = crime_changes(after, before, members, cluster)
    trusted = (base_t["trust"].notna() & now_t["trust"].notna()).to_numpy()
    at = [(frame.loc[pd.Timestamp(t)].to_numpy(dtype=float)) for t in (years.baseline, years.latest)
          for frame in panel[1:]]
    weights, trust = trust_changes(members, index, trusted, tables.boroughs["area_code"].astype(str).tolist(),
                                   (at[0], at[1]), (at[2], at[3]))
    months = series_months(sel)
    monthly = monthly_basis(tables, sel, base_t.index, months)
    trends = pre_trends(monthly, members, months, set(available), window[0], gap_months(window, latest))
    earlier = _earlier_window(window)
    placebo = _placebo(tables, sel, survey, earlier, window, panel[0], before, cluster) if effects else None
    selection = None
    if effects and counted and set(month_range(*earlier)) <= set(available) & set(months):
        positions = [months.index(m) for m in month_range(*earlier)]
        selection = selection_alone(monthly[:, positions].sum(axis=1), before, index["population"].to_numpy(float),
                                    cluster, members["cohort"], members["all_other"])
    labels = group_labels(sel.level)
    summary = _summary(members, changes, area_dispersion(after, before, members) if counted else {}, trust, trends,
                       selection, placebo, base_t, now_t, index, chosen, labels)
    missing = tuple(m for m in months if m not in set(available))
    return Progress(sel.query, flags, settings, _area_rows(base_t, now_t, index, group, chosen, has_data), summary,
                    crime_series(monthly, members, index, chosen, months, set(available)),
                    trust_series(weights, panel, months[0]), baseline, now, latest, years, trends, selection,
                    placebo, missing, sel.crime_label, labels)


def _baseline_window(settings: ProgressSettings, available: Sequence[str], source: str) -> tuple[str, str]:
    """The baseline window, checked against the months held."""
    window = (settings.baseline_start, settings.baseline_end)
    wanted = month_range(*window) if all(is_month(m) for m in window) else []
    if not wanted or not set(wanted) <= set(available):
        held = month_runs(available) or "no months"
        raise AnalysisInputError(f"the baseline {window[0]} to {window[1]} is not in the data for source {source!r} "
                                 f"and these crime types (held: {held}); choose a source that covers the launch "
                                 "(the Met's ward data starts after it) or a baseline inside the data")
    return window


def _trust_years(ends: pd.DatetimeIndex, window: tuple[str, str], latest: tuple[str, str],
                 settings: ProgressSettings) -> TrustYears:
    """The survey year for each window: the user's, else the one overlapping it most (ties: the earlier)."""
    base, base_overlaps = aligned_survey_year(window, ends, settings.trust_baseline)
    last, last_overlaps = aligned_survey_year(latest, ends, settings.trust_latest)
    return TrustYears(base, last, base_overlaps, last_overlaps)


def _earlier_window(window: tuple[str, str]) -> tuple[str, str]:
    n = len(month_range(*window))
    return shift_month(window[0], -n), shift_month(window[1], -n)


def _placebo(tables: AnalysisTables, sel: ResolvedSelection, flags: FlagSettings, earlier: tuple[str, str],
             window: tuple[str, str], ends: pd.DatetimeIndex, follow_up: np.ndarray,
             cluster: np.ndarray) -> Placebo | None:
    """The rule applied to the window before the baseline, its cohort followed into the baseline window."""
    if not set(month_range(*earlier)) <= set(sel.available):
        return None
    year, _ = aligned_survey_year(earlier, ends)
    then = area_flags(tables, sel.for_period(*earlier), replace(flags, trust_period=year))
    frame = _frame(then)
    before = frame[sel.measure.basis].to_numpy(dtype=float)
    members = group_members(launch_groups(frame, then, flags), ~(np.isnan(before) | np.isnan(follow_up)))
    if not members["cohort"].any() or not members["all_other"].any():
        return None
    change = crime_changes(follow_up, before, members, cluster)["cohort_vs_all_other"]
    return Placebo(earlier, window, year, int(members["cohort"].sum()), change)


def _frame(flags: AreaFlags) -> pd.DataFrame:
    """Crime, trust and the flag of every area, indexed by area code (the area index's order)."""
    areas = flags.crime.areas
    return pd.DataFrame({"count": areas["count"].to_numpy(float), "harm": areas["harm"].to_numpy(float),
                         "value": areas["value"].to_numpy(float), "rate_lo": areas["rate_lo"].to_numpy(float),
                         "trust": flags.trust["trust"].to_numpy(float),
                         "trust_n": flags.trust["trust_n"].to_numpy(float), "flagged": flags.flagged},
                        index=pd.Index(areas["area_code"].astype(str), name="area_code"))


#: The order of the per-area table: the cohort, then the two parts of all_other.
AREA_ORDER = ("cohort", "same_crime_other_trust", "lower_crime")


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
    # areas with data, by group, then change (NaN last), then code: sorted as arrays, before the frame is
    # built, because this runs on every filter change
    rank = np.array([AREA_ORDER.index(g) for g in group], dtype=int)
    kept = np.flatnonzero(has_data)
    kept = kept[np.lexsort((codes[kept], change[kept], rank[kept]))]
    return pd.DataFrame({name: values[kept] for name, values in columns.items()})


def _summary(members: dict[str, np.ndarray], changes: dict[str, Change], phi: dict[str, float],
             trust: dict[str, tuple[float, ...]], trends: dict[str, PreTrend], selection: SelectionAlone | None,
             placebo: Placebo | None, base_t: pd.DataFrame, now_t: pd.DataFrame, index: pd.DataFrame,
             chosen: Measure, labels: dict[str, str]) -> pd.DataFrame:
    """One row per group and London, then the comparisons, selection alone and the placebo."""
    pop, km2 = index["population"].to_numpy(dtype=float), index["area_km2"].to_numpy(dtype=float)
    trust_keys = ("trust_baseline", "trust_latest", "trust_change", "trust_change_lo", "trust_change_hi")
    rows = []
    for name in (*GROUPS, "london"):
        m, c = members[name], changes[name]
        totals = {f"{when}_{what}": float(t[what].to_numpy(float)[m].sum())
                  for when, t in (("baseline", base_t), ("latest", now_t)) for what in ("count", "harm")}
        rows.append({"group": name, "label": labels[name], "areas": int(m.sum()), "clusters": c.clusters,
                     "baseline_count": totals["baseline_count"],
                     "baseline_value": group_value(chosen, totals["baseline_count"], totals["baseline_harm"],
                                                   pop[m].sum(), km2[m].sum()),
                     "latest_count": totals["latest_count"],
                     "latest_value": group_value(chosen, totals["latest_count"], totals["latest_harm"],
                                                 pop[m].sum(), km2[m].sum()),
                     "change": c.value, "change_lo": c.lo, "change_hi": c.hi, "dispersion": phi.get(name, np.nan),
                     **dict(zip(trust_keys, trust.get(name, (np.nan,) * 5), strict=True))})
    for name, (first, second) in COMPARISONS.items():
        c = changes[name]
        row = {"group": name, "label": f"{labels[first]} against {labels[second]}",
               "areas": int(members[first].sum() + members[second].sum()), "clusters": c.clusters,
               "change": c.value, "change_lo": c.lo, "change_hi": c.hi,
               **dict(zip(trust_keys, trust.get(name, (np.nan,) * 5), strict=True))}
        if name in trends:
            t = trends[name]
            row |= {"pretrend_per_year": t.test.per_year, "pretrend_lo": t.test.lo, "pretrend_hi": t.test.hi,
                    "pretrend_p": t.test.p, "pretrend_drift_lo": t.drift[1], "pretrend_drift_hi": t.drift[2]}
        rows.append(row)
    if selection is not None:
        rows.append({"group": "selection_alone", "areas": int(members["cohort"].sum() + members["all_other"].sum()),
                     "label": f"selection alone: {labels['cohort']} against {labels['all_other']}, no real change",
                     "change": selection.expected, "change_lo": selection.lo, "change_hi": selection.hi})
    if placebo is not None:
        rows.append({"group": "placebo", "areas": placebo.areas, "clusters": placebo.change.clusters,
                     "label": (f"placebo: the rule applied to {placebo.baseline[0]} to {placebo.baseline[1]}, "
                               f"followed to {placebo.follow_up[0]} to {placebo.follow_up[1]}"),
                     "change": placebo.change.value, "change_lo": placebo.change.lo, "change_hi": placebo.change.hi})
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMN_DOCS))


def best_series(tables: AnalysisTables,
                baseline: tuple[str, str] = PLAN_BASELINE) -> tuple[str, tuple[str, ...]] | None:
    """The widest crime selection that can answer the progress question for a baseline, or None.

    It must hold every month of the baseline and a whole window of the same length after
    it. Every type of a source comes first (the widest selection), then single types, the
    one with most months after the baseline first (ties: the first listed). With the data
    held today that is police.uk burglary: the Met's ward data starts after the launch and
    police.uk's files hold every type for 2022 only.
    """
    wanted = month_range(*baseline)
    n = len(wanted)
    found: list[tuple[int, int, str, tuple[str, tuple[str, ...]]]] = []
    for rank, source in enumerate(SOURCES):
        every = resolve_selection(tables, CrimeQuery(source=source))
        if not set(wanted) <= set(every.cube.months):
            continue
        singles = (resolve_selection(tables, CrimeQuery(source, crime_types=(t,))) for t in every.cube.types)
        for k, selection in enumerate((every, *singles)):
            types, held = selection.query.crime_types, selection.available
            after = sum(m > baseline[1] for m in held)
            if set(wanted) <= set(held) and after >= n:
                found.append((0 if not types else 1, -after, f"{rank:03d}{k:05d}", (source, types)))
    return min(found, key=lambda f: f[:3])[3] if found else None
