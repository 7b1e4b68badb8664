import streamlit as st

from analysis.progress_words import CAVEATS, sentences
from ui import data, progress_view, state, widgets

view = state.sidebar(period=False)
q = view.query
months = data.months(q.source, q.crime_types, q.crime_groups)
settings = state.progress_settings(months, data.trust_periods(view.trust_measure))
st.title("Plan progress: the areas flagged at launch")
widgets.data_banner()

if not {settings.baseline_start, settings.baseline_end} <= set(months):
    st.warning(f"{state.SOURCES[q.source]} with these crime types does not cover the baseline "
               f"({settings.baseline_start} to {settings.baseline_end}): the Met's ward data starts after the plan's "
               "launch, and police.uk holds every type for 2022 only. Burglary from police.uk covers 2021 onward.")
    st.button("Show police.uk burglary", key="progress_use_police_uk", on_click=state.choose_crime,
              args=("police_uk", ["Burglary"]))
    st.stop()
progress = data.progress(q, view.flags, settings)
headline, *findings = sentences(progress)
st.subheader(headline)
for line in findings:
    st.markdown(f"- {line}")
st.info(" ".join(CAVEATS))

st.subheader(f"{progress.crime_words}: {view.measure_label}, each quarter")
progress_view.crime_chart(progress, f"{view.measure_label} (per quarter)", large=view.meeting)
st.subheader(f"Trust: '{progress.now.trust_label}'")
progress_view.trust_chart(progress, large=view.meeting)

if not view.meeting:
    st.subheader("By group")
    progress_view.summary_table(progress)
    st.subheader("The areas")
    everyone = st.toggle("Show every area, not only those flagged at launch", key="progress_all")
    shown = progress.areas if everyone else progress.areas[progress.areas["group"] == "cohort"]
    st.caption("Click a row to open the area's profile. Change: latest against baseline; intervals are exact 95%.")
    state.open_selected_row(progress_view.areas_table(shown), shown["area_code"].tolist())

    st.subheader("Download")
    st.caption("Every area with the settings above, byte for byte what `python -m analysis export progress "
               "--out <the CSV's name> --summary <the summary's name>` writes; settings and column meanings are "
               "in the metadata files.")
    stem = f"progress_{q.level}_{settings.baseline_start}_{progress.latest[1]}"
    files = data.progress_export(q, view.flags, settings, "csv", f"{stem}.csv", f"{stem}_summary.csv")
    geojson = data.progress_export(q, view.flags, settings, "geojson", f"{stem}.geojson")
    widgets.download_buttons(stem, dict(list(files.items())[:2]), data.zip_files(files), geojson)
