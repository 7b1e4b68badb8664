import streamlit as st

from analysis.stop_search import gap_note
from analysis.stop_search_views import CAVEAT
from geo.london import LONDON_CODE
from ui import data, state, widgets
from ui import stop_search_data as ssd
from ui import stop_search_view as ssv
from ui.area_map import area_map
from ui.map_payload import area_styles

view = state.sidebar(crime=False, trust=False, period=False)
st.title("Stop and search: where, how often, on whom, with what result")
widgets.data_banner()
level = view.query.level
choice = ssv.controls(level, data.area_names(), data.trust_measure_labels())
q, group, name = choice.query, choice.group, ssv.GROUP_LABELS[choice.group]
result = ssd.measures(q)
london = result.london
st.caption(f"police.uk searches by the Metropolitan Police and the City of London Police, {q.start} to {q.end}; "
           "rates are per 1,000 residents (Census 2021) a year. Figures describe where and on whom searches fell; "
           "they do not say why.")
(st.warning if result.period.gaps else st.caption)(gap_note(result))

cols = st.columns(5)
cols[0].metric("Searches in London", f"{int(london['searches']):,}", help=f"{int(london['months'])} months counted")
cols[1].metric("Per 1,000 residents a year", widgets.fmt(london["searches_per_1000"]))
ratio = f"ratio_{group}_white"
low, high = widgets.fmt(london[f"{ratio}_lo"], ".2f"), widgets.fmt(london[f"{ratio}_hi"], ".2f")
cols[2].metric(f"{name}/White ratio, London", widgets.fmt(london[ratio], ".2f"),
               help=f"95% interval {low}–{high}" + (" (few searches)" if london[f"{ratio}_small"] else ""))
cols[3].metric("Arrest share", widgets.pct(london["arrest_share"]),
               help=widgets.interval(london["arrest_share_lo"], london["arrest_share_hi"]))
cols[4].metric("No further action", widgets.pct(london["nfa_share"]),
               help=widgets.interval(london["nfa_share_lo"], london["nfa_share_hi"]))
st.caption(f"Ethnicity: {ssv.ETHNICITY_LABELS[q.ethnicity].lower()}; {widgets.pct(london['ethnicity_unknown_share'])} "
           f"of London's searches record none and are left out of group rates. "
           f"{widgets.pct(london['unlocated_share'])} have no coordinates: in London's figures, in no area's.")

st.subheader(f"Searches per 1,000 residents a year, by {level}")
flagged = data.area_table(view.query, view.flags).table
flagged = flagged.loc[flagged["flagged"], "area_code"].astype(str).tolist()
map_col, legend_col = st.columns([4, 1.3] if not view.meeting else [3, 2])
with map_col:
    shapes = data.map_shapes(level)
    opened = area_map(shapes, area_styles(ssv.map_rows(result), shapes, flagged=flagged), key="ssmap", height=560,
                      outlines=data.map_shapes("borough"), large=view.meeting,
                      label=f"Map of London {level}s: searches per 1,000 residents a year")
with legend_col:
    widgets.sequential_legend("Searches per 1,000 a year", result.table["searches_per_1000"].min(),
                              result.table["searches_per_1000"].max(), large=view.meeting)
    st.caption("Ringed: the high-crime, low-trust areas flagged on the Map page with its settings (Met recorded "
               "crime, latest 12 months). Searches without coordinates are on no map. Where far more people "
               "work or visit than live (the City, the West End) rates per resident are inflated.")

if level == "borough":
    st.subheader(f"Boroughs: {name}/White disproportionality, arrests and no further action")
    st.caption(f"Sort by clicking a column. Ratios on fewer than {q.min_searches} searches of the two groups are "
               "marked; intervals are exact 95%. City of London and Westminster share figures by ethnicity "
               "(the Census joins them).")
    st.dataframe(ssv.borough_table(result, group), key="sstable", hide_index=True, width="stretch",
                 column_config=ssv.ratio_format(group))
else:
    st.info("Rates by ethnic group are shown by borough only: the Census publishes ethnic groups by borough. "
            "Choose Boroughs in the sidebar for the disproportionality table and the scatter.")

area = choice.area or LONDON_CODE
st.subheader(f"Month by month: {data.area_names().get(area, 'London')}")
ssv.trend_chart(ssd.trend(q, area), large=view.meeting)
st.caption("A grey dashed line marks a coverage gap; the line breaks there unless you include gaps.")

if level == "borough":
    st.subheader(f"{name}/White ratio beside trust in the police, by borough")
    scatter = ssd.scatter(q, choice.trust_measure, group)
    ssv.scatter_chart(scatter.points, group, scatter.measure_label, large=view.meeting)
    st.write(scatter.sentence + f" Survey year ending {scatter.period_end:%b %Y}.")
    st.caption(CAVEAT + " The City of London is not surveyed by MOPAC.")

stem = f"stop-search-{level}-{q.start}-{q.end}"
files = ssd.files(q, f"{stem}.csv")
(csv_name, csv_data), (meta_name, meta_data) = files.items()
cols = st.columns(2)
cols[0].download_button("Download CSV", csv_data, file_name=csv_name, mime="text/csv", key="ss_csv", on_click="ignore")
cols[1].download_button("Metadata (JSON)", meta_data, file_name=meta_name, mime="application/csvm+json",
                        key="ss_meta", on_click="ignore")
if opened:
    state.open_profile(opened)
