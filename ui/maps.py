"""Offline pydeck maps: choropleths and the 3×3 crime × trust map, no basemap tiles.

The deck has ``map_provider=None`` and no ``map_style``, so the browser fetches nothing
from the internet; borough outlines give the context a basemap would. Features carry only
what the map needs (code, fill, a pre-escaped tooltip) and the deck is serialised compactly
(pydeck's own JSON is indented, about 4.5× larger), keeping the London ward map well under
1.5 MB as sent. Every data-derived string in a tooltip is ``html.escape``d here, because
deck.gl renders tooltips as HTML.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from ui import style

LONDON_VIEW = pdk.ViewState(latitude=51.49, longitude=-0.11, zoom=8.9, min_zoom=8, max_zoom=15)
AREA_LAYER = "areas"
TOOLTIP = {"html": "{t}", "style": {"backgroundColor": "#fff", "color": "#000", "fontSize": "14px",
                                   "border": "1px solid #333", "maxWidth": "360px"}}


class CompactDeck(pdk.Deck):
    """A ``pydeck.Deck`` that serialises without indentation (what Streamlit sends)."""

    def to_json(self) -> str:
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


def tooltip_html(title: str, lines: Iterable[tuple[str, str]] = ()) -> str:
    """Build a tooltip's HTML with every piece escaped (titles and values come from data)."""
    body = "".join(f"<br/>{html.escape(str(k))}: {html.escape(str(v))}" for k, v in lines)
    return f"<b>{html.escape(str(title))}</b>{body}"


def _features(geometry: Mapping[str, dict], rows: pd.DataFrame, extra: Sequence[str] = ()) -> list[dict]:
    """GeoJSON features for ``rows`` (columns ``area_code``, ``fill``, ``t`` and ``extra``)."""
    cols = ["area_code", "fill", "t", *extra]
    out = []
    for rec in rows[cols].itertuples(index=False, name=None):
        geom = geometry.get(rec[0])
        if geom is None:
            continue
        props = {"code": rec[0], "fill": list(rec[1]), "t": rec[2]}
        props.update(zip(extra, rec[3:], strict=True))
        out.append({"type": "Feature", "geometry": geom, "properties": props})
    return out


def area_deck(rows: pd.DataFrame, geometry: Mapping[str, dict], borough_lines: list[dict], *,
              flagged: Sequence[str] = (), selected: str | None = None,
              extra_layers: Sequence[pdk.Layer] = (), opacity: float = 0.85) -> pdk.Deck:
    """Draw a map of areas filled by ``rows['fill']`` with borough outlines and flagged areas ringed.

    Parameters
    ----------
    rows
        One row per area: ``area_code``, ``fill`` (an RGB tuple) and ``t`` (tooltip HTML,
        already escaped — build it with :func:`tooltip_html`).
    geometry
        Area code → GeoJSON geometry (WGS84, rounded), from ``ui.data.display_geometry``.
    borough_lines
        GeoJSON features of the borough outlines.
    flagged
        Area codes to outline thickly (the priority areas).
    selected
        An area code to outline as the current selection.
    """
    layers: list[pdk.Layer] = [pdk.Layer(
        "GeoJsonLayer", id=AREA_LAYER, data=_features(geometry, rows), pickable=True, stroked=True,
        filled=True, opacity=opacity, get_fill_color="properties.fill", get_line_color=[255, 255, 255],
        line_width_min_pixels=0.5, auto_highlight=True, highlight_color=[255, 0, 255, 160])]
    layers.append(pdk.Layer(
        "GeoJsonLayer", id="boroughs", data=borough_lines, pickable=False, stroked=True, filled=False,
        get_line_color=list(style.BOROUGH_LINE), line_width_min_pixels=1.5))
    ring = [{"type": "Feature", "geometry": geometry[c], "properties": {}} for c in flagged if c in geometry]
    if ring:
        layers.append(pdk.Layer("GeoJsonLayer", id="flagged-under", data=ring, stroked=True, filled=False,
                                get_line_color=list(style.FLAG_UNDER), line_width_min_pixels=5))
        layers.append(pdk.Layer("GeoJsonLayer", id="flagged", data=ring, stroked=True, filled=False,
                                get_line_color=list(style.FLAG_OVER), line_width_min_pixels=2.5))
    if selected in geometry:
        layers.append(pdk.Layer("GeoJsonLayer", id="selected",
                                data=[{"type": "Feature", "geometry": geometry[selected], "properties": {}}],
                                stroked=True, filled=False, get_line_color=[255, 0, 255],
                                line_width_min_pixels=4))
    layers.extend(extra_layers)
    return CompactDeck(map_provider=None, layers=layers, initial_view_state=LONDON_VIEW, tooltip=TOOLTIP)


def selected_code(event: object) -> str | None:
    """Return the area code clicked on the map, from ``st.pydeck_chart``'s selection event."""
    try:
        objects = event.selection["objects"].get(AREA_LAYER) or []  # type: ignore[attr-defined]
    except (AttributeError, KeyError, TypeError):
        return None
    if not objects:
        return None
    obj = objects[0]
    props = obj.get("properties", obj) if isinstance(obj, dict) else {}
    code = props.get("code")
    return str(code) if code else None
