import streamlit as st

from ui import access, data, refresh, state, uploads, widgets

view = state.sidebar(crime=False, trust=False)
handle = data.handle()
st.title("Data and method")
widgets.data_banner()
refresh.show_done_note()

st.header("Where the data came from")
st.write("Showing the built store." if handle.kind == "store" else
         "Showing the embedded snapshot (derived tables only; build the store for individual crimes).")
st.write(f"Built {handle.manifest.get('built_at', 'at an unknown time')}, code version "
         f"{handle.manifest.get('code_version', 'unknown')}.")
st.subheader("How current each source is")
refresh.currency_panel()
st.subheader("Rows read and kept")
st.dataframe(widgets.sources_frame(handle.manifest), key="sources_table", hide_index=True, width="stretch")
st.subheader("Months per source")
refresh.months_panel()
st.caption("Contains public sector information licensed under the Open Government Licence v3.0: police.uk "
           "street-level crime, Metropolitan Police Service ward recorded crime, MOPAC Public Attitude Survey, "
           "ONS Census 2021 population and lookups.")

st.header("Method")
method = data.method_text()
if method:
    with st.expander("The method in full (METHOD.md)"):
        st.markdown(method)
st.markdown(widgets.METHOD_SUMMARY)
st.subheader("Thresholds in force")
st.write(f"Rule: {state.METHODS[view.flags.method]}; crime at or above the {view.flags.crime_pct:.0%} "
         f"percentile and trust at or below the {view.flags.trust_pct:.0%} percentile; trust measure "
         f"{view.flags.trust_measure}; about {view.flags.n_per_quarter:.0f} interviews per borough per quarter "
         "assumed for intervals (MOPAC's documented design, an unweighted count: the weighted, clustered survey is "
         "worth fewer; Plan progress has a design-effect setting). Change them on the Map or Priority areas page.")

st.header("Changing the data")
access.access_panel()
st.subheader("Your own trust table")
uploads.trust_upload()

st.header("Bring the data up to date")
refresh.update_panel()
st.subheader("Or fetch chosen months from police.uk")
refresh.refresh_panel()
