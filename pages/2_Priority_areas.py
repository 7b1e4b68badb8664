import streamlit as st

from ui import data, state, widgets

view = state.sidebar()
q = view.query
st.title("Priority areas: high crime, low trust")
widgets.data_banner()

result = data.area_table(q, view.flags)
table = result.table
flagged = table[table["flagged"]]
label = view.measure_label
st.metric("Flagged areas", f"{len(flagged)} of {len(table)}")
st.caption(f"{state.measure_label(q.measure)}, {result.crime.start} to {result.crime.end}; "
           f"rule: {state.METHODS[view.flags.method]}.")
if q.level == "ward":
    st.info("At ward level, trust is the borough figure (trust is the borough's, not the ward's own): "
            "MOPAC publishes no ward-level survey results. City of London: trust not surveyed.")

show_all = st.toggle("Show every area, not only flagged ones", key="show_all")
shown = table if show_all else flagged
columns = {"rank": "Rank", "area_name": "Area", "borough_name": "Borough", "value": label,
           "rate_lo": "Rate low", "rate_hi": "Rate high", "trust": "Trust", "trust_lo": "Trust low",
           "trust_hi": "Trust high", "trust_source_level": "Trust figure from", "class_label": "Class",
           "robustness_periods": "Also flagged in earlier periods", "robustness_settings": "Under nearby thresholds",
           "reason": "Why"}
frame = shown[list(columns)].rename(columns=columns)
st.dataframe(widgets.percent_points(frame, ["Trust", "Trust low", "Trust high"]), key="priority_table",
             hide_index=True, width="stretch", column_config={
                 **{c: st.column_config.NumberColumn(format="%.0f%%") for c in ("Trust", "Trust low", "Trust high")},
                 **{c: st.column_config.NumberColumn(format="%,.1f")
                    for c in (label, "Rate low", "Rate high")}})

st.subheader("Download")
st.caption("The files hold every area with the settings above, byte for byte what "
           "`python -m analysis export priorities --out <the CSV's name>` writes for the same settings: the CSV "
           "starts with its header row; sources, months, thresholds and what each column means are in the "
           "metadata file beside it.")
stem = f"priorities_{q.level}_{result.crime.start}_{result.crime.end}"
csv_files = data.export(q, view.flags, "csv", f"{stem}.csv")
geojson = data.export(q, view.flags, "geojson", f"{stem}.geojson")
widgets.download_buttons(stem, csv_files, data.export_zip(q, view.flags, f"{stem}.csv"), geojson)
for note in (result.crime.connect_note, result.crime.daytime_note, result.crime.harm_note):
    if note:
        st.caption(note)
