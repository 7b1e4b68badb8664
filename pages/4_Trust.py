import streamlit as st

from ui import data, state, widgets

view = state.sidebar(crime=False)
labels = data.trust_measure_labels()
st.title("Trust and confidence in the police, by borough")
widgets.data_banner()
st.caption(f"MOPAC Public Attitude Survey: {labels.get(view.trust_measure, view.trust_measure)}. "
           "Each figure pools a rolling year of interviews. City of London: trust not surveyed by MOPAC.")

trust = data.trust_table(view.trust_measure, "borough")
latest = trust[trust["period_end"] == trust["period_end"].max()].sort_values("proportion")
london, lo, hi = data.london_trust(view.trust_measure)
cols = st.columns(3)
cols[0].metric("London", widgets.pct(london), help=widgets.interval(lo, hi))
cols[1].metric("Lowest borough", f"{latest['area_name'].iloc[0]} {widgets.pct(latest['proportion'].iloc[0])}")
cols[2].metric("Survey year ending", f"{latest['period_end'].max():%b %Y}")

names = dict(zip(latest["area_code"].astype(str), latest["area_name"].astype(str), strict=True))
default = list(latest["area_code"].astype(str).head(3))
chosen = state.pick_boroughs(names, default)
widgets.trust_chart(trust, chosen, large=view.meeting)
st.caption("Figures from: " + "; ".join(f"{name}, {first:%b %Y} to {last:%b %Y}"
                                        for name, first, last in data.trust_publications(view.trust_measure)) + ".")

st.subheader("Latest figures, lowest first")
table = latest[["area_name", "proportion", "lo", "hi", "change_since_plan", "diff_vs_london"]].rename(columns={
    "area_name": "Borough", "proportion": "Share agreeing", "lo": "95% low", "hi": "95% high",
    "change_since_plan": "Change since Dec 2022", "diff_vs_london": "Difference from London"})
points = ["Change since Dec 2022", "Difference from London"]
shares = ["Share agreeing", "95% low", "95% high"]
st.dataframe(widgets.percent_points(table, shares + points), key="trust_table", hide_index=True, width="stretch",
             column_config={**{c: st.column_config.NumberColumn(format="%.0f%%") for c in shares},
                            **{c: st.column_config.NumberColumn(format="%+.1f pts", help=widgets.POINTS_HELP)
                               for c in points}})
