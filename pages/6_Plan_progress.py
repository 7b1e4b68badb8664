from dataclasses import replace

import streamlit as st

from analysis.periods import month_range, month_runs
from analysis.progress import PLAN_BASELINE
from analysis.progress_words import CAVEATS, sentences
from ui import data, progress_state, progress_view, state, widgets

best = data.progress_series(PLAN_BASELINE)
view = state.sidebar(period=False, crime_default=best)
q = view.query
months = data.months(q.source, q.crime_types, q.crime_groups)
settings = progress_state.progress_settings(months, data.trust_periods(view.trust_measure))
st.title("Plan progress: the areas flagged at launch")
widgets.data_banner()

baseline = (settings.baseline_start, settings.baseline_end)
if not set(month_range(*baseline)) <= set(months):
    best = data.progress_series(baseline)
    if best is None:
        st.warning(f"No crime selection held covers the baseline ({baseline[0]} to {baseline[1]}) with a whole "
                   "window after it: choose another baseline.")
        st.stop()
    shown = f"{state.SOURCES[best[0]]} ({', '.join(best[1]) or 'every type'})"
    st.info(f"{state.SOURCES[q.source]} with these crime types holds {month_runs(months) or 'no months'}, not the "
            f"baseline ({baseline[0]} to {baseline[1]}): the Met's ward data starts after the plan's launch, and "
            f"police.uk holds every type for 2022 only. Shown instead: {shown}, the widest selection held that covers "
            "the baseline and a whole window after it.")
    if not view.meeting:
        st.button(f"Use {shown} in the sidebar", key="progress_use_best", on_click=state.choose_crime, args=best)
    q = replace(q, source=best[0], crime_types=best[1], crime_groups=())
    settings = replace(settings, latest_end=None)
progress = data.progress(q, view.flags, settings)
headline, *findings = sentences(progress)
st.subheader(headline)
for line in findings:
    st.markdown(f"- {line}")
st.info(" ".join(CAVEATS))

st.subheader("Observed against what selection alone would give")
progress_view.selection_chart(progress, large=view.meeting)
st.subheader(f"{progress.crime_words}: {view.measure_label}, each quarter")
progress_view.crime_chart(progress, f"{view.measure_label} (per quarter)", large=view.meeting)
st.subheader(f"Trust: '{progress.now.trust_label}'")
progress_view.trust_chart(progress, large=view.meeting)

if not view.meeting:
    st.subheader("By group and comparison")
    progress_view.summary_table(progress)
    st.subheader("The areas")
    everyone = st.toggle("Show every area, not only those flagged at launch", key="progress_all")
    shown_areas = progress.areas if everyone else progress.areas[progress.areas["group"] == "cohort"]
    st.caption("Click a row to open the area's profile. Change: latest against baseline; intervals are exact 95%.")
    state.open_selected_row(progress_view.areas_table(shown_areas), shown_areas["area_code"].tolist())

    st.subheader("Download")
    st.caption("Every area with the settings above, byte for byte what `python -m analysis export progress "
               "--out <the CSV's name> --summary <the summary's name>` writes with the same settings; settings and "
               "column meanings are in the metadata files.")
    stem = f"progress_{q.level}_{settings.baseline_start}_{progress.latest[1]}"
    files = data.progress_export(q, view.flags, settings, "csv", f"{stem}.csv", f"{stem}_summary.csv")
    geojson = data.progress_export(q, view.flags, settings, "geojson", f"{stem}.geojson")
    widgets.download_buttons(stem, dict(list(files.items())[:2]), data.zip_files(files), geojson)
