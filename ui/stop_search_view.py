"""The Stop and search page's controls (kept in the URL) and its map rows, table and charts.

The controls follow ``ui.state``: one stable key per control for the widget, the session
and the URL; values from a link are checked against what the data has.
"""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import pandas as pd
import streamlit as st

from analysis.stop_search import ETHNICITIES, GROUPS, MIN_SEARCHES, REFERENCE, StopSearchQuery, StopSearchResult
from analysis.stop_search_export import ETHNICITY_WHY
from analysis.stop_search_views import SCATTER_MEASURES
from ui import state, style
from ui import stop_search_data as ssd
from ui.widgets import fmt, pct

ETHNICITY_LABELS = {"officer": "Officer-defined (4 groups)", "self": "Self-defined (5 Census groups)"}
MIN_OPTIONS = ("10", "20", "50", "100", "200")
GROUP_LABELS = {"black": "Black", "asian": "Asian", "mixed": "Mixed", "other": "Other"}


@dataclass(frozen=True)
class StopSearchView:
    """The page's selection: the query, the group compared with White, the survey measure, the trend's area."""

    query: StopSearchQuery
    group: str
    trust_measure: str
    area: str


def controls(level: str, area_names: dict[str, str], trust_labels: dict[str, str]) -> StopSearchView:
    """Draw the stop-and-search controls in the sidebar and return the validated selection."""
    r = state._Reader()
    months = ssd.stop_search().all_months
    first, last = ssd.period_default()
    with st.sidebar:
        st.header("Stop and search")
        st.radio("Areas", list(state.LEVELS), format_func=state.LEVELS.get, key="level", horizontal=True)
        start = r.one("ssfrom", months, first)
        end = r.one("ssto", months, last)
        st.selectbox("From", months, key="ssfrom")
        st.selectbox("To", months, key="ssto")
        eth = r.one("eth", list(ETHNICITIES), "officer")
        st.radio("Ethnicity", list(ETHNICITIES), format_func=ETHNICITY_LABELS.get, key="eth",
                 help="Officer-defined by default: recorded for ~98% of searches. " + ETHNICITY_WHY[eth])
        groups = [g for g in GROUPS[eth] if g != REFERENCE]
        group = r.one("grp", groups, "black")
        st.radio("Compare with White", groups, format_func=GROUP_LABELS.get, key="grp", horizontal=True)
        gaps = r.flag("gaps")
        st.checkbox("Include coverage-gap months", key="gaps",
                    help="Months missing, cut short or far below the months before are left out of rates and trends "
                         "unless you include them; they are named either way.")
        minimum = r.one("minn", list(MIN_OPTIONS), str(MIN_SEARCHES))
        st.select_slider("Mark ratios resting on fewer than … searches", MIN_OPTIONS, key="minn")
        measures = {m: trust_labels.get(m, m) for m in SCATTER_MEASURES if m in trust_labels}
        trust_measure = r.one("sstrust", list(measures), next(iter(measures), "trust_mps"))
        st.selectbox("Trust measure for the scatter", list(measures), format_func=measures.get, key="sstrust")
        area = r.one("ssarea", ["", *area_names], "")
        st.selectbox("Trend for", ["", *area_names], format_func=lambda c: area_names.get(c, "London"),
                     key="ssarea")
    if start > end:
        start, end = end, start
    state._write({"ssfrom": start, "ssto": end, "eth": eth, "grp": group, "gaps": gaps, "minn": minimum,
                  "sstrust": trust_measure, "ssarea": area or None, "level": level})
    for notice in r.notices:
        st.caption(notice)
    q = StopSearchQuery(level=level, start=start, end=end, ethnicity=eth, include_gaps=gaps,
                        min_searches=int(minimum))
    return StopSearchView(q, group, trust_measure, area)


def map_rows(result: StopSearchResult) -> pd.DataFrame:
    """Fill (viridis rank of searches per 1,000 a year) and tooltip lines for each area (``ui.map_payload``)."""
    table = result.table
    ranks = table["searches_per_1000"].rank(pct=True)
    fills = [style.sequential_colour(float(p) - 1e-9 if p == p else float("nan")) for p in ranks]
    tips = []
    for rec in table.itertuples(index=False):
        lines = [("Searches", f"{int(rec.searches):,} in {int(rec.months)} months"),
                 ("Per 1,000 residents a year (95%)", f"{fmt(rec.searches_per_1000)} "
                  f"({fmt(rec.searches_per_1000_lo)}–{fmt(rec.searches_per_1000_hi)})"),
                 ("Arrest share", pct(rec.arrest_share)), ("No further action", pct(rec.nfa_share))]
        if rec.small:
            lines.append(("Note", f"fewer than {result.query.min_searches} searches"))
        if rec.daytime_caveat:
            lines.append(("Note", "far more people work or visit here than live here: the rate per resident is "
                                  "inflated"))
        tips.append(lines)
    return pd.DataFrame({"area_code": table["area_code"], "fill": fills, "tip": tips})


def borough_table(result: StopSearchResult, group: str) -> pd.DataFrame:
    """The sortable borough table: ratio with interval, arrest and NFA shares with intervals, the small mark."""
    t = result.table
    ratio = f"ratio_{group}_white"
    name = GROUP_LABELS[group]
    return pd.DataFrame({
        "Borough": t["area_name"], "Searches": t["searches"].astype(int),
        "Per 1,000 a year": t["searches_per_1000"],
        f"{name}/White ratio": t[ratio], "Ratio 95% low": t[f"{ratio}_lo"], "Ratio 95% high": t[f"{ratio}_hi"],
        "Few searches": t[f"{ratio}_small"].map({True: "yes", False: ""}),
        "Arrest share": t["arrest_share"] * 100, "Arrest 95%": [f"{pct(lo)}–{pct(hi)}" for lo, hi in
                                                                zip(t["arrest_share_lo"], t["arrest_share_hi"],
                                                                    strict=True)],
        "No further action": t["nfa_share"] * 100,
        "NFA 95%": [f"{pct(lo)}–{pct(hi)}" for lo, hi in zip(t["nfa_share_lo"], t["nfa_share_hi"], strict=True)],
        "Ethnicity base": t["ethnicity_base"],
        "Many visitors": t["daytime_caveat"].map({True: "yes", False: ""}),
    }).sort_values(f"{name}/White ratio", ascending=False)


TABLE_FORMAT = {"Per 1,000 a year": st.column_config.NumberColumn(format="%.1f"),
                "Arrest share": st.column_config.NumberColumn(format="%.0f%%"),
                "No further action": st.column_config.NumberColumn(format="%.0f%%")}


def ratio_format(group: str) -> dict[str, object]:
    """Column formats of the table for the compared group."""
    name = GROUP_LABELS[group]
    return {**TABLE_FORMAT, **{c: st.column_config.NumberColumn(format="%.2f")
                               for c in (f"{name}/White ratio", "Ratio 95% low", "Ratio 95% high")}}


def trend_chart(frame: pd.DataFrame, *, large: bool = False) -> None:
    """Searches per 1,000 residents by month; a gap left out is a break in the line, marked in grey.

    Each run of months between gaps is its own line (``detail``), so the line stops at a gap
    instead of joining across it or dropping to zero.
    """
    shown = frame.assign(segment=frame["value"].isna().cumsum()).dropna(subset=["value"])
    x = alt.X("month:O", title="Month", scale=alt.Scale(domain=frame["month"].tolist()))
    line = alt.Chart(shown).mark_line(point=True, color=style.LONDON_LINE).encode(
        x=x, y=alt.Y("value:Q", title="Searches per 1,000 residents in the month"), detail="segment:N",
        tooltip=["month", alt.Tooltip("searches:Q", format=","), alt.Tooltip("rate:Q", format=",.2f")])
    chart = line
    if frame["gap"].any():  # an empty layer would be an unlabelled graphic to a screen reader (axe: svg-img-alt)
        gaps = alt.Chart(frame[frame["gap"]]).mark_rule(color="#999999", strokeDash=[4, 3], size=3).encode(
            x=x, tooltip=["month", alt.Tooltip("gap_reason:N", title="Coverage gap")])
        chart = gaps + line
    st.altair_chart(style.chart_fonts(chart, large=large), width="stretch")


def scatter_chart(points: pd.DataFrame, group: str, trust_label: str, *, large: bool = False) -> None:
    """Each borough's ratio (log scale, 95% bars) against its trust; few-search ratios hollow."""
    name = GROUP_LABELS[group]
    frame = points.dropna(subset=["trust"]).assign(trust_pct=lambda f: f["trust"] * 100,
                                                    kind=lambda f: f["small"].map({True: "few searches",
                                                                                   False: "enough searches"}))
    x = alt.X("trust_pct:Q", title=f"{trust_label} (% agreeing)", scale=alt.Scale(zero=False))
    bars = alt.Chart(frame).mark_rule(color="#777777").encode(
        x=x, y=alt.Y("ratio_lo:Q", scale=alt.Scale(type="log")), y2="ratio_hi:Q")
    dots = alt.Chart(frame).mark_point(size=90, filled=True, color=style.CATEGORICAL[1]).encode(
        x=x, y=alt.Y("ratio:Q", title=f"{name}/White search-rate ratio (log scale)", scale=alt.Scale(type="log")),
        shape=alt.Shape("kind:N", title=""),
        tooltip=["area_name", alt.Tooltip("ratio:Q", format=".2f"), alt.Tooltip("trust_pct:Q", format=".0f")])
    st.altair_chart(style.chart_fonts(bars + dots, large=large), width="stretch")


def profile_section(area_code: str, level: str, *, large: bool = False) -> None:
    """The Area profile's stop-and-search figures for one ward or borough, latest 12 months without gaps."""
    if not ssd.available():
        st.caption(ssd.NO_DATA)
        return
    start, end = ssd.period_default()
    result = ssd.measures(StopSearchQuery(level=level, start=start, end=end))
    row = result.table.set_index("area_code").loc[area_code]
    london = result.london
    cols = st.columns(4)
    cols[0].metric("Searches", f"{int(row['searches']):,}", help=f"{start} to {end}; located in this {level}")
    cols[1].metric("Per 1,000 residents a year", fmt(row["searches_per_1000"]),
                   help=f"95% interval {fmt(row['searches_per_1000_lo'])}–{fmt(row['searches_per_1000_hi'])}; "
                        f"London {fmt(london['searches_per_1000'])}")
    cols[2].metric("Arrest share", pct(row["arrest_share"]),
                   help=f"95% interval {pct(row['arrest_share_lo'])}–{pct(row['arrest_share_hi'])}; "
                        f"London {pct(london['arrest_share'])}")
    cols[3].metric("No further action", pct(row["nfa_share"]),
                   help=f"95% interval {pct(row['nfa_share_lo'])}–{pct(row['nfa_share_hi'])}")
    if level == "borough" and row["ratio_black_white"] == row["ratio_black_white"]:
        small = " It rests on few searches." if row["ratio_black_white_small"] else ""
        st.write(f"Black residents were searched **{fmt(row['ratio_black_white'], '.1f')} times** as often as White "
                 f"residents (95% interval {fmt(row['ratio_black_white_lo'], '.1f')}–"
                 f"{fmt(row['ratio_black_white_hi'], '.1f')}; officer-defined ethnicity; London "
                 f"{fmt(london['ratio_black_white'], '.1f')}).{small}")
    st.caption(f"police.uk stop and search, {start} to {end} (the latest 12 months without coverage gaps). "
               f"{pct(row['unlocated_share'])} of the force's searches have no location and are in no area. "
               "More on the Stop and search page.")
