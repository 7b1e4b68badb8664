"""Overview (the home page): London at a glance, and where the data came from."""

import streamlit as st

from analysis.registry import MEASURES
from ui import data, state, widgets
from ui.area_map import area_map
from ui.map_payload import area_styles

view = state.sidebar()
q = view.query
st.title("London crime and trust in the police")
widgets.data_banner()

result = data.area_table(q, view.flags)
table = result.table
london = result.london
trust, trust_lo, trust_hi = data.london_trust(view.trust_measure)
label = view.measure_label
flagged = table[table["flagged"]]

cols = st.columns(3)
cols[0].metric(f"London, {label}", widgets.fmt(london["value"]),
               help=f"{result.crime.start} to {result.crime.end}")
cols[1].metric("Flagged areas (high crime, low trust)", f"{len(flagged)} of {len(table)}")
cols[2].metric(f"London trust: {data.trust_measure_labels().get(view.trust_measure, '')}", widgets.pct(trust),
               help=widgets.interval(trust_lo, trust_hi))

left, right = st.columns([3, 2])
with left:
    y = MEASURES[q.measure].trend_column
    y_label = state.measure_label(y)
    st.subheader(f"Crime by month, London ({y_label})")
    widgets.area_trend_chart(data.trend(q).assign(area="London"), y_label, y=y, large=view.meeting)
    st.subheader("Where the flagged areas are")
    rows = data.map_rows(result, q, view.flags, colouring="bivariate", label=label)
    shapes = data.map_shapes(q.level)
    styles = area_styles(rows, shapes, flagged=flagged["area_code"].astype(str).tolist())
    if opened := area_map(shapes, styles, key="overview_map", height=420, outlines=data.map_shapes("borough"),
                          large=view.meeting, label=f"Map of London {q.level}s by crime and trust"):
        state.open_profile(opened)
with right:
    widgets.bivariate_legend(large=view.meeting)
    st.subheader("Top flagged areas")
    top = flagged[["rank", "area_name", "borough_name"]].head(10)
    st.dataframe(top.rename(columns={"rank": "Rank", "area_name": "Area", "borough_name": "Borough"}),
                 hide_index=True, key="top_flagged", width="stretch")
    if q.level == "ward":
        st.caption("At ward level, trust is the borough figure. City of London: trust not surveyed.")

st.subheader("Months loaded per source")
st.dataframe(widgets.sources_frame(data.handle().manifest)[["source", "first month", "last month", "months"]],
             hide_index=True, key="months_table")
st.caption("Contains public sector information licensed under the Open Government Licence v3.0 "
           "(police.uk, Metropolitan Police Service, MOPAC, ONS).")
