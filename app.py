"""Overview: London at a glance, and where the data came from."""

import pandas as pd
import streamlit as st

from ui import data, maps
from ui.style import SEQUENTIAL

st.set_page_config(page_title="London crime and trust", layout="wide")
loaded = data.loaded()
st.title("London crime and trust in the police")
st.caption(loaded.handle.label)
if loaded.problem:
    st.warning(loaded.problem)

areas = data.table("areas")
wards = areas[areas["area_level"] == "ward"]
rows = pd.DataFrame({
    "area_code": wards["area_code"],
    "fill": [SEQUENTIAL[2]] * len(wards),
    "t": [maps.tooltip_html(n, [("Borough", b)])
          for n, b in zip(wards["area_name"], wards["borough_name"], strict=True)],
})
deck = maps.area_deck(rows, data.display_geometry("ward"), data.borough_lines())
st.pydeck_chart(deck, key="overview_map", height=520)
st.markdown("Contains public sector information licensed under the "
            "Open Government Licence v3.0 (police.uk, Metropolitan Police Service, MOPAC, ONS).")
