"""The Plan progress page's pieces: the group lines with their bands, and the tables as shown.

Colours are Okabe-Ito (colour-blind safe) and fixed per group, so the cohort is the same
colour on both charts and in the legend; London is black and dashed. Lines break where a
quarter is missing from the source rather than joining across it, so a gap in the data
never looks like a real drop.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from analysis.periods import CONNECT_MONTH, PLAN
from analysis.progress import Progress
from analysis.progress_groups import COMPARISONS, GROUPS
from ui import style

GROUP_COLOURS = {"cohort": "#D55E00", "all_other": "#0072B2", "same_crime_other_trust": "#E69F00",
                 "lower_crime": "#56B4E9", "london": "#000000"}


def _scale(progress: Progress) -> alt.Scale:
    return alt.Scale(domain=[progress.labels[g] for g in GROUP_COLOURS], range=list(GROUP_COLOURS.values()))


def _markers(progress: Progress) -> alt.LayerChart:
    """The baseline period shaded, the launch as a dashed rule and, for the Met's data, the CONNECT switch."""
    s = progress.settings
    shade = alt.Chart(pd.DataFrame({"start": [pd.Period(s.baseline_start, "M").start_time],
                                    "end": [pd.Period(s.baseline_end, "M").end_time]})).mark_rect(
        opacity=0.08, color="#000").encode(x="start:T", x2="end:T")
    rules = [{"when": PLAN.launch_date, "what": "plan launched"}]
    if progress.query.source == "mps_ward":
        rules.append({"when": pd.Period(CONNECT_MONTH, "M").end_time.normalize(), "what": "CRIS → CONNECT"})
    rule = alt.Chart(pd.DataFrame(rules)).mark_rule(strokeDash=[6, 4], color="#333").encode(
        x="when:T", tooltip=["what"])
    return shade + rule


def _segments(series: pd.DataFrame, value: str) -> pd.DataFrame:
    """The rows with a value, numbered by unbroken run per group, so a line never joins across a gap."""
    gap = series[value].isna()
    run = gap.groupby(series["group"]).cumsum()
    return series.assign(segment=series["group"] + run.astype(str))[~gap]


def crime_chart(progress: Progress, y_title: str, *, large: bool = False) -> None:
    """Quarterly crime per group with 95% bands, the baseline shaded and the launch marked."""
    frame = _segments(progress.crime_series, "value").assign(area=lambda f: f["group"].map(progress.labels))
    base = alt.Chart(frame).encode(x=alt.X("quarter_end:T", title="Quarter ending",
                                           axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount="year")))
    band = base.mark_area(opacity=0.18).encode(y=alt.Y("lo:Q", title=y_title), y2="hi:Q", detail="segment:N",
                                               color=alt.Color("area:N", scale=_scale(progress), legend=None))
    line = base.mark_line(point=True).encode(
        y="value:Q", detail="segment:N", color=alt.Color("area:N", title="Group", scale=_scale(progress),
                                                         legend=alt.Legend(labelLimit=320)),
        strokeDash=alt.condition(alt.datum.group == "london", alt.value([4, 3]), alt.value([1, 0])),
        tooltip=["area", "quarter", alt.Tooltip("count:Q", format=",.0f"), alt.Tooltip("value:Q", format=",.2f")])
    chart = (_markers(progress) + band + line).resolve_scale(color="independent")
    st.altair_chart(style.chart_fonts(chart, large=large), width="stretch")
    caption = (f"Shaded: the baseline ({progress.settings.baseline_start} to {progress.settings.baseline_end}); the "
               f"latest window is {progress.latest[0]} to {progress.latest[1]}. Dashed line: the plan's launch. "
               "Bands: exact 95% Poisson intervals (chance only; the group intervals in the tables also allow for "
               "boroughs moving together). Only whole quarters are shown.")
    if progress.missing_months:
        caption += f" No data for {', '.join(progress.missing_months)}: the lines break there, never drop to zero."
    st.caption(caption)


def trust_chart(progress: Progress, *, large: bool = False) -> None:
    """Trust per group (population-weighted borough figures) with 95% bands, the launch marked."""
    if progress.trust_series.empty:
        st.info("No survey figures for these areas.")
        return
    frame = progress.trust_series.assign(area=lambda f: f["group"].map(progress.labels))
    base = alt.Chart(frame).encode(x=alt.X("period_end:T", title="Survey year ending",
                                           axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount="year")))
    band = base.mark_area(opacity=0.18).encode(y=alt.Y("lo:Q", title="Share agreeing", axis=alt.Axis(format="%"),
                                                       scale=alt.Scale(zero=False)),
                                               y2="hi:Q",
                                               color=alt.Color("area:N", scale=_scale(progress), legend=None))
    line = base.mark_line(point=True).encode(
        y="trust:Q",
        color=alt.Color("area:N", title="Group", scale=_scale(progress), legend=alt.Legend(labelLimit=320)),
        tooltip=["area", alt.Tooltip("period_end:T", format="%b %Y"), alt.Tooltip("trust:Q", format=".1%")])
    chart = (_markers(progress) + band + line).resolve_scale(color="independent")
    st.altair_chart(style.chart_fonts(chart, large=large), width="stretch")
    st.caption("Each group's figure weights its areas' borough figures by residents; at ward level trust is the "
               "borough's, as no ward-level survey results are published. Bands: 95% intervals.")


GROUPS_SHOWN = {"label": "Group", "areas": "Areas", "baseline_value": "Baseline", "latest_value": "Latest",
                "change": "Change", "change_lo": "Change low", "change_hi": "Change high",
                "trust_change": "Trust change (points)", "trust_change_lo": "Trust low",
                "trust_change_hi": "Trust high"}
COMPARISONS_SHOWN = {"label": "Comparison", "change": "Ratio of changes", "change_lo": "Low", "change_hi": "High",
                     "trust_change": "Trust difference (points)", "trust_change_lo": "Trust low",
                     "trust_change_hi": "Trust high", "pretrend_per_year": "Trend before (a year)",
                     "pretrend_lo": "Trend low", "pretrend_hi": "Trend high", "pretrend_p": "Trend p",
                     "pretrend_drift_lo": "Drift low", "pretrend_drift_hi": "Drift high"}
AREAS_SHOWN = {"area_name": "Area", "borough_name": "Borough", "baseline_value": "Baseline", "latest_value": "Latest",
               "change": "Change", "change_lo": "Change low", "change_hi": "Change high",
               "trust_change": "Trust change (points)", "flagged_now": "Still flagged"}
ROWS = {"groups": (*GROUPS, "london"), "comparisons": tuple(COMPARISONS)}


def percent_change(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Ratios shown as percentage changes (0.94 → -6)."""
    return frame.assign(**{c: (frame[c] - 1) * 100 for c in columns})


def summary_table(progress: Progress) -> None:
    """The groups (baseline, latest, change and trust change with intervals), then the comparisons."""
    rows = progress.summary.set_index("group")
    groups = percent_change(rows.loc[list(ROWS["groups"])], ["change", "change_lo", "change_hi"])
    st.dataframe(groups[list(GROUPS_SHOWN)].rename(columns=GROUPS_SHOWN), key="progress_summary", hide_index=True,
                 width="stretch", column_config={
                     **{c: st.column_config.NumberColumn(format="%+.1f%%") for c in ("Change", "Change low",
                                                                                     "Change high")},
                     **{c: st.column_config.NumberColumn(format="%+.1f")
                        for c in ("Trust change (points)", "Trust low", "Trust high")},
                     **{c: st.column_config.NumberColumn(format="%,.2f") for c in ("Baseline", "Latest")}})
    st.caption("Change: the group's total in the latest window against the baseline, with a 95% interval that allows "
               "for wards in one borough moving together. Trust: percentage points.")
    comparisons = rows.loc[list(ROWS["comparisons"])][list(COMPARISONS_SHOWN)].rename(columns=COMPARISONS_SHOWN)
    st.dataframe(comparisons, key="progress_comparisons", hide_index=True, width="stretch", column_config={
        **{c: st.column_config.NumberColumn(format="%.3f") for c in ("Ratio of changes", "Low", "High",
                                                                    "Trend before (a year)", "Trend low",
                                                                    "Trend high", "Drift low", "Drift high")},
        **{c: st.column_config.NumberColumn(format="%+.1f") for c in ("Trust difference (points)", "Trust low",
                                                                     "Trust high")},
        "Trend p": st.column_config.NumberColumn(format="%.3f")})
    st.caption("Ratio of changes below 1: the first group's crime fell more (or rose less) than the second's. "
               "Trend before: the same ratio per year over the months before the baseline (1 = moving alike); "
               "Drift: that trend's interval carried over the follow-up, a drift that cannot be ruled out.")


def selection_chart(progress: Progress, *, large: bool = False) -> None:
    """The observed cohort-vs-all-other ratio beside what selection alone and the placebo give, with intervals."""
    rows = progress.summary.set_index("group")
    shown = [(g, w) for g, w in (("cohort_vs_all_other", "observed: flagged at launch against "
                                                         f"{progress.labels['all_other']}"),
                                 ("selection_alone", "selection alone, no real change (95% range)"),
                                 ("placebo", "placebo: the same rule a window earlier, before the plan"))
             if g in rows.index]
    frame = pd.DataFrame([{"what": w, "ratio": rows.loc[g, "change"], "lo": rows.loc[g, "change_lo"],
                           "hi": rows.loc[g, "change_hi"]} for g, w in shown])
    base = alt.Chart(frame).encode(y=alt.Y("what:N", title=None, sort=None, axis=alt.Axis(labelLimit=420)))
    rule = alt.Chart(pd.DataFrame({"x": [1.0]})).mark_rule(strokeDash=[4, 3], color="#333").encode(x="x:Q")
    bars = base.mark_rule(strokeWidth=3, color="#0072B2").encode(x=alt.X("lo:Q", title="Ratio of changes",
                                                                         scale=alt.Scale(zero=False)), x2="hi:Q")
    dots = base.mark_point(filled=True, size=120, color="#D55E00").encode(
        x="ratio:Q", tooltip=["what", alt.Tooltip("ratio:Q", format=".3f"), alt.Tooltip("lo:Q", format=".3f"),
                              alt.Tooltip("hi:Q", format=".3f")])
    st.altair_chart(style.chart_fonts(rule + bars + dots, large=large), width="stretch")
    st.caption("Below 1: the flagged areas' crime fell more than the others'. If the observed ratio lies inside the "
               "selection-alone range, the data cannot tell the plan's focus apart from regression to the mean.")


def areas_table(areas: pd.DataFrame) -> object:
    """The areas (sortable), each row opening its profile; returns the selection event."""
    shown = percent_change(areas, ["change", "change_lo", "change_hi"])[list(AREAS_SHOWN)]
    return st.dataframe(shown.rename(columns=AREAS_SHOWN), key="progress_areas", hide_index=True, width="stretch",
                        on_select="rerun", selection_mode="single-row", column_config={
                            **{c: st.column_config.NumberColumn(format="%+.0f%%")
                               for c in ("Change", "Change low", "Change high")},
                            "Trust change (points)": st.column_config.NumberColumn(format="%+.1f"),
                            **{c: st.column_config.NumberColumn(format="%,.2f") for c in ("Baseline", "Latest")}})
