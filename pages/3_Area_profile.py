import streamlit as st

from ui import data, state, style, widgets
from ui import stop_search_view as ssv

style.apply_print_css()
view = state.sidebar(area=True)
q = view.query
names = data.area_names(q.level)
st.title("Area profile")
st.caption("Print-friendly: your browser's Print leaves out the sidebar and the controls.")
widgets.data_banner()

area = state.pick_area(names, view.area)
compared = state.compared(names, area)
result = data.area_table(q, view.flags)
table = result.table
row = table.set_index("area_code").loc[area]
london = result.london

st.header(names[area])
if q.level == "ward":
    st.caption(f"Ward in {row['borough_name']}. Trust shown is the borough figure: "
               "trust is the borough's, as no ward-level survey results are published.")
cols = st.columns(4)
label = view.measure_label
cols[0].metric(label, widgets.fmt(row["value"]), help=f"{result.crime.start} to {result.crime.end}")
cols[1].metric("London", widgets.fmt(london["value"]))
cols[2].metric("Trust", widgets.pct(row["trust"]), help=widgets.interval(row["trust_lo"], row["trust_hi"]))
cols[3].metric("Rank", f"{int(row['rank'])} of {len(table)}", help="1 = highest crime among flagged areas first")
if row["trust"] != row["trust"]:
    st.info("City of London: trust not surveyed by MOPAC (it has its own police force).")
st.write(f"**{row['class_label']}**" + (f" — flagged: {row['reason']}" if row["flagged"] else ""))
widgets.rate_line(row, london)

st.subheader("Neighbouring areas")
st.caption("Areas sharing a boundary or a corner with this one (the neighbours the hot-spot analysis uses).")
widgets.neighbour_list(table, data.neighbours(q.level, area), compared, level=q.level)

st.subheader("Crime by month: this area, its borough and London")
widgets.area_trend_chart(data.profile_trend(q, area), "crimes per 1,000 residents", large=view.meeting)
st.subheader("Crime by type, month by month" if q.source == "police_uk" else "Crime by offence group, month by month")
widgets.type_trend_chart(data.type_trend(q, area), grouped=q.source == "mps_ward", large=view.meeting)
st.subheader("Outcomes where known")
widgets.outcomes_mix(*data.outcomes(area, result.crime.start, result.crime.end,
                                    q.crime_types if q.source == "police_uk" else ()), large=view.meeting)
st.subheader("Since the plan's launch")
widgets.before_after(row)
st.subheader("Trust over time (borough figure, 95% intervals)")
widgets.trust_chart(data.trust_table(view.trust_measure, "borough"), [str(row["borough_code"])], large=view.meeting)

st.subheader("Stop and search")
ssv.profile_section(area, q.level, large=view.meeting)

st.divider()
st.header("Compare")
chosen = state.pick_compare(names, compared)
picked = table.set_index("area_code").loc[chosen].reset_index()
st.table(widgets.compare_frame(picked, label))
if len(chosen) > 1:
    widgets.area_trend_chart(data.compare_trend(q, tuple(chosen)), "crimes per 1,000 residents", large=view.meeting)
