from dataclasses import replace

import streamlit as st

from ui import data, state, widgets

view = state.sidebar()
q = view.query
st.title("Priority areas: high crime, low trust")
widgets.data_banner()
boroughs = data.area_names("borough")
borough = state.pick_borough(boroughs)

result = data.area_table(q, view.flags)
table = result.table
if borough:  # flags and ranks stay London-wide; the filter only narrows the list
    table = table[table["area_code"].isin(data.areas_in(q.level, borough))]
flagged = table[table["flagged"]]
label = view.measure_label
where = f" in {boroughs[borough]}" if borough else ""
st.metric("Flagged areas", f"{len(flagged)} of {len(table)}{where}")
st.caption(f"{state.measure_label(q.measure)}, {result.crime.start} to {result.crime.end}; "
           f"rule: {state.METHODS[view.flags.method]}.")
if view.flags.method == "interval":  # the only rule that uses the survey's sample size
    wider = data.area_table(q, replace(view.flags, n_per_quarter=view.flags.n_per_quarter / 2)).table
    widgets.design_effect_note(result.table, wider, 2.0)
if q.level == "ward":
    st.info("At ward level, trust is the borough figure (trust is the borough's, not the ward's own): "
            "MOPAC publishes no ward-level survey results. City of London: trust not surveyed.")

show_all = st.toggle("Show every area, not only flagged ones", key="show_all")
shown = table if show_all else flagged
st.caption("Click a row to open that area's profile."
           + (" Ranks and flags compare every area in London." if borough else ""))
event = widgets.priority_table(shown, label)
state.open_selected_row(event, shown["area_code"].astype(str).tolist())

st.subheader("Download")
st.caption("The files hold every area in London with the settings above (not only a chosen borough), byte "
           "for byte what `python -m analysis export priorities --out <the CSV's name>` writes for the same "
           "settings: the CSV starts with its header row; sources, months, thresholds and what each column means "
           "are in the metadata file beside it.")
stem = f"priorities_{q.level}_{result.crime.start}_{result.crime.end}"
csv_files = data.export(q, view.flags, "csv", f"{stem}.csv")
geojson = data.export(q, view.flags, "geojson", f"{stem}.geojson")
widgets.download_buttons(stem, csv_files, data.export_zip(q, view.flags, f"{stem}.csv"), geojson)
for note in (result.crime.connect_note, result.crime.daytime_note, result.crime.harm_note):
    if note:
        st.caption(note)
