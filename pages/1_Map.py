import streamlit as st

from ui import data, maps, state, widgets
from ui.area_map import area_map
from ui.map_payload import area_styles

view = state.sidebar(colouring=True, area=True)
q = view.query
st.title("Where crime is high and trust is low")
widgets.data_banner()
boroughs = data.area_names("borough")
borough = state.pick_borough(boroughs)

result = data.area_table(q, view.flags)
if view.colouring == "hotspot":
    result = data.with_hotspots(result, q, view.flags)
table = result.table
label = view.measure_label
rows = data.map_rows(result, q, view.flags, colouring=view.colouring, label=label)
flagged = table.loc[table["flagged"], "area_code"].astype(str).tolist()
box = None
if borough:  # zoom to the borough; areas outside it are set back and not ringed
    inside = data.areas_in(q.level, borough)
    rows, flagged = maps.dim_outside(rows, inside), [c for c in flagged if c in set(inside)]
    focus = data.display_geometry("borough").get(borough)
    box = maps.bounds([focus]) if focus else None

with st.sidebar:
    st.header("Individual crimes")
    show_points = st.checkbox("Show individual crimes (hexagons)", key="points")
points = None
if show_points:
    points, note = data.street_points(result.crime.start, result.crime.end)
    st.caption(note)

map_col, legend_col = st.columns([4, 1.3] if not view.meeting else [3, 2])
with map_col:
    shapes = data.map_shapes(q.level)
    clicked = area_map(shapes, area_styles(rows, shapes, flagged=flagged, selected=view.area), key="map",
                       height=640, outlines=data.map_shapes("borough"), focus=borough, view=box, points=points,
                       large=view.meeting, label=f"Map of London {q.level}s: {label}")
with legend_col:
    if view.colouring == "bivariate":
        widgets.bivariate_legend(large=view.meeting)
    elif view.colouring == "hotspot":
        widgets.hotspot_legend(table["hotspot"].value_counts().to_dict(), large=view.meeting)
    else:
        widgets.sequential_legend(label, table["value"].min(), table["value"].max(), large=view.meeting)
    st.metric("Flagged areas", len(flagged))
    if borough:
        st.caption(f"In {boroughs[borough]}; {int(table['flagged'].sum())} in all London. "
                   "Flags compare every area in London.")

st.caption(f"{label}, {result.crime.start} to {result.crime.end}; "
           f"trust: {data.trust_measure_labels().get(view.trust_measure, view.trust_measure)}, latest survey year.")
if q.level == "ward":
    st.info("At ward level, trust is the borough figure: MOPAC publishes no ward-level survey results. "
            "City of London: trust not surveyed by MOPAC.")
for note in (result.crime.connect_note, result.crime.daytime_note):
    if note:
        st.caption(note)

if clicked:
    state.open_profile(clicked)
