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
from analysis.progress import GROUP_LABELS, Progress
from ui import style

GROUP_COLOURS = {"cohort": "#D55E00", "same_crime_other_trust": "#E69F00", "rest": "#0072B2", "london": "#000000"}


def _scale() -> alt.Scale:
    return alt.Scale(domain=[GROUP_LABELS[g] for g in GROUP_COLOURS], range=list(GROUP_COLOURS.values()))


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
    frame = _segments(progress.crime_series, "value").assign(area=lambda f: f["group"].map(GROUP_LABELS))
    base = alt.Chart(frame).encode(x=alt.X("quarter_end:T", title="Quarter ending",
                                           axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount="year")))
    band = base.mark_area(opacity=0.18).encode(y=alt.Y("lo:Q", title=y_title), y2="hi:Q", detail="segment:N",
                                               color=alt.Color("area:N", scale=_scale(), legend=None))
    line = base.mark_line(point=True).encode(
        y="value:Q", detail="segment:N", color=alt.Color("area:N", title="Group", scale=_scale(),
                                                         legend=alt.Legend(labelLimit=320)),
        strokeDash=alt.condition(alt.datum.group == "london", alt.value([4, 3]), alt.value([1, 0])),
        tooltip=["area", "quarter", alt.Tooltip("count:Q", format=",.0f"), alt.Tooltip("value:Q", format=",.2f")])
    chart = (_markers(progress) + band + line).resolve_scale(color="independent")
    st.altair_chart(style.chart_fonts(chart, large=large), width="stretch")
    caption = (f"Shaded: the baseline ({progress.settings.baseline_start} to {progress.settings.baseline_end}). "
               "Dashed line: the plan's launch. Bands: exact 95% Poisson intervals. Only whole quarters are shown.")
    if progress.missing_months:
        caption += f" No data for {', '.join(progress.missing_months)}: the lines break there, never drop to zero."
    st.caption(caption)


def trust_chart(progress: Progress, *, large: bool = False) -> None:
    """Trust per group (population-weighted borough figures) with 95% bands, the launch marked."""
    if progress.trust_series.empty:
        st.info("No survey figures for these areas.")
        return
    frame = progress.trust_series.assign(area=lambda f: f["group"].map(GROUP_LABELS))
    base = alt.Chart(frame).encode(x=alt.X("period_end:T", title="Survey year ending",
                                           axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount="year")))
    band = base.mark_area(opacity=0.18).encode(y=alt.Y("lo:Q", title="Share agreeing", axis=alt.Axis(format="%"),
                                                       scale=alt.Scale(zero=False)),
                                               y2="hi:Q", color=alt.Color("area:N", scale=_scale(), legend=None))
    line = base.mark_line(point=True).encode(
        y="trust:Q", color=alt.Color("area:N", title="Group", scale=_scale(), legend=alt.Legend(labelLimit=320)),
        tooltip=["area", alt.Tooltip("period_end:T", format="%b %Y"), alt.Tooltip("trust:Q", format=".1%")])
    chart = (_markers(progress) + band + line).resolve_scale(color="independent")
    st.altair_chart(style.chart_fonts(chart, large=large), width="stretch")
    st.caption("Each group's figure weights its areas' borough figures by residents; at ward level trust is the "
               "borough's, as no ward-level survey results are published. Bands: 95% intervals.")


SUMMARY_SHOWN = {"label": "Group", "areas": "Areas", "baseline_value": "Baseline", "latest_value": "Latest",
                 "change": "Change", "change_lo": "Change low", "change_hi": "Change high",
                 "trust_change": "Trust change (points)", "trust_change_lo": "Trust low",
                 "trust_change_hi": "Trust high"}
AREAS_SHOWN = {"area_name": "Area", "borough_name": "Borough", "baseline_value": "Baseline", "latest_value": "Latest",
               "change": "Change", "change_lo": "Change low", "change_hi": "Change high",
               "trust_change": "Trust change (points)", "flagged_now": "Still flagged"}


def percent_change(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Ratios shown as percentage changes (0.94 → -6)."""
    return frame.assign(**{c: (frame[c] - 1) * 100 for c in columns})


def summary_table(progress: Progress) -> None:
    """One row per group and comparison: baseline, latest, change and trust change with intervals."""
    shown = percent_change(progress.summary, ["change", "change_lo", "change_hi"])[list(SUMMARY_SHOWN)]
    st.dataframe(shown.rename(columns=SUMMARY_SHOWN), key="progress_summary", hide_index=True, width="stretch",
                 column_config={**{c: st.column_config.NumberColumn(format="%+.1f%%")
                                   for c in ("Change", "Change low", "Change high")},
                                **{c: st.column_config.NumberColumn(format="%+.1f")
                                   for c in ("Trust change (points)", "Trust low", "Trust high")},
                                **{c: st.column_config.NumberColumn(format="%,.2f") for c in ("Baseline", "Latest")}})
    st.caption("Comparison rows: a change of -10% means the first group's crime fell 10% more (as a ratio) than "
               "the second's; trust: the difference of the two changes, in percentage points.")


def areas_table(areas: pd.DataFrame) -> object:
    """The areas (sortable), each row opening its profile; returns the selection event."""
    shown = percent_change(areas, ["change", "change_lo", "change_hi"])[list(AREAS_SHOWN)]
    return st.dataframe(shown.rename(columns=AREAS_SHOWN), key="progress_areas", hide_index=True, width="stretch",
                        on_select="rerun", selection_mode="single-row", column_config={
                            **{c: st.column_config.NumberColumn(format="%+.0f%%")
                               for c in ("Change", "Change low", "Change high")},
                            "Trust change (points)": st.column_config.NumberColumn(format="%+.1f"),
                            **{c: st.column_config.NumberColumn(format="%,.2f") for c in ("Baseline", "Latest")}})
