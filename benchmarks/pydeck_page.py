"""A bare Streamlit + pydeck page drawing the app's ward shapes: the floor of the old map's stack.

Used by ``benchmarks/bench_map.py`` as the comparison: the same 680 display ward shapes
(4 dp) and 33 borough outlines as the app's Map page, drawn by ``st.pydeck_chart`` with a
pickable, tooltipped GeoJsonLayer, recoloured when the crime type changes. No analysis
runs: colours come from a hash of (ward, crime type) into the 3×3 palette, so the page
costs no more than drawing. Run by the benchmark with ``streamlit run``.
"""

import hashlib
import sys
from pathlib import Path

import pydeck as pdk
import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_sources.settings import get_settings
from data_sources.store.versions import open_snapshot
from ui.style import BIVARIATE

TYPES = ["All crime", "Burglary", "Robbery", "Vehicle crime", "Violence and sexual offences"]
PALETTE = [list(c) for row in BIVARIATE for c in row]


def _rounded(c):
    return [round(c[0], 4), round(c[1], 4)] if isinstance(c[0], float) else [_rounded(x) for x in c]


@st.cache_resource
def shapes() -> tuple[list[tuple[str, str, dict]], list[dict]]:
    snap = open_snapshot(get_settings().snapshot_dir)
    wards = snap.read("wards_display")
    boroughs = snap.read("boroughs_display")
    areas = [(str(c), str(n), {"type": g.geom_type, "coordinates": _rounded(g.__geo_interface__["coordinates"])})
             for c, n, g in zip(wards["ward_code"], wards["ward_name"], wards.geometry, strict=True)]
    lines = [{"type": "Feature", "properties": {},
              "geometry": {"type": g.geom_type, "coordinates": _rounded(g.__geo_interface__["coordinates"])}}
             for g in boroughs.geometry]
    return areas, lines


def _class(code: str, kind: str) -> int:
    return int(hashlib.md5(f"{code}{kind}".encode()).hexdigest(), 16) % 9


st.title("pydeck floor")
kind = st.selectbox("Crime type", TYPES, key="type")
areas, lines = shapes()
features = [{"type": "Feature", "geometry": geom,
             "properties": {"code": code, "n": name, "t": f"{kind}: class {k}", "fill": PALETTE[k]}}
            for code, name, geom in areas for k in [_class(code, kind)]]
deck = pdk.Deck(map_provider=None, initial_view_state=pdk.ViewState(latitude=51.49, longitude=-0.11, zoom=9.2),
                tooltip={"html": "<b>{n}</b><br/>{t}"}, layers=[
                    pdk.Layer("GeoJsonLayer", id="areas", data=features, pickable=True, stroked=True, filled=True,
                              opacity=0.85, get_fill_color="properties.fill", get_line_color=[255, 255, 255],
                              get_line_width=0.5, line_width_units="'pixels'", auto_highlight=True),
                    pdk.Layer("GeoJsonLayer", id="boroughs", data=lines, stroked=True, filled=False,
                              get_line_color=[60, 60, 60], line_width_min_pixels=1.5)])
st.pydeck_chart(deck, on_select="rerun", selection_mode="single-object", key="map", height=640)
