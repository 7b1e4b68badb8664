"""Offline pydeck maps: choropleths and the 3×3 crime × trust map, no basemap tiles.

The deck has ``map_provider=None`` and no ``map_style``, so the browser fetches nothing
from the internet; borough outlines give the context a basemap would. Features carry only
what the map needs (code, fill, tooltip text) and the deck is serialised compactly
(pydeck's own JSON is indented, about 4.5× larger), keeping the London ward map well under
1.5 MB as sent. Tooltips are a fixed HTML template written here; Streamlit's deck.gl
component HTML-escapes every value it puts into the template, so names from the data are
shown as text and never run as markup (tests/test_browser.py checks this in Chromium).
Escaping them here as well would show entities such as ``&#x27;`` to the user.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
import pydeck as pdk
from pydeck.bindings.json_tools import default_serialize

from ui import style
from ui.widgets import fmt, pct

LONDON_VIEW = pdk.ViewState(latitude=51.49, longitude=-0.11, zoom=9.2, min_zoom=8, max_zoom=15)
#: All of London in a small map (the Overview's ~420 px high panel).
SMALL_VIEW = pdk.ViewState(latitude=51.49, longitude=-0.11, zoom=8.6, min_zoom=8, max_zoom=15)
AREA_LAYER = "areas"
#: The only HTML in a tooltip: ``n`` (the area's name) and ``t`` (its lines) are data, escaped
#: by the renderer; ``pre-line`` turns the newlines in ``t`` into line breaks.
TOOLTIP = {"html": "<b>{n}</b><br/>{t}",
           "style": {"backgroundColor": "#fff", "color": "#000", "fontSize": "14px", "border": "1px solid #333",
                     "maxWidth": "360px", "whiteSpace": "pre-line"}}


#: The map panel's size as drawn on the Map page (a 640 px high chart in a column about 760 px
#: wide on a 1400 px window with the sidebar open), used to fit a borough into view.
MAP_SIZE_PX = (760, 640)
#: deck.gl's Web Mercator world is 512 px wide at zoom 0.
_WORLD_PX = 512
#: Fill opacity (0-255) of areas outside the chosen borough: visible as context, plainly set back.
DIMMED_ALPHA = 50


def bounds(geometries: Iterable[dict]) -> tuple[float, float, float, float]:
    """Return ``(west, south, east, north)`` of GeoJSON geometries (any nesting of coordinates).

    Examples
    --------
    >>> bounds([{"type": "Polygon", "coordinates": [[[0, 1], [2, 1], [2, 4], [0, 1]]]},
    ...         {"type": "Point", "coordinates": [-1, 2]}])
    (-1, 1, 2, 4)
    """
    xs: list[float] = []
    ys: list[float] = []

    def walk(c: list) -> None:
        if c and isinstance(c[0], int | float):
            xs.append(c[0])
            ys.append(c[1])
        else:
            for part in c:
                walk(part)

    for geom in geometries:
        walk(geom["coordinates"])
    if not xs:
        raise ValueError("no coordinates to bound")
    return min(xs), min(ys), max(xs), max(ys)


def _mercator_y(lat: float) -> float:
    """Web Mercator y of a latitude as a fraction of the world's height (0 at the top)."""
    return 0.5 - math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / (2 * math.pi)


def _latitude(y: float) -> float:
    return math.degrees(2 * math.atan(math.exp((0.5 - y) * 2 * math.pi)) - math.pi / 2)


def fit_view(box: tuple[float, float, float, float], *, size_px: tuple[int, int] = MAP_SIZE_PX,
             padding: float = 0.08, base: pdk.ViewState = LONDON_VIEW) -> pdk.ViewState:
    """Return the view that shows a ``(west, south, east, north)`` box whole, centred, in a map of ``size_px``.

    The zoom is the largest at which the box (plus ``padding`` of the map on each side)
    fits both ways in Web Mercator, capped by ``base``'s zoom limits; the centre is the
    box's centre in Mercator (not the mean latitude, which sits slightly south).

    Examples
    --------
    A box 1/512 of the world wide (360/512 degrees) at the equator fills a 512 px map at zoom 9:

    >>> v = fit_view((0.0, -0.1, 360 / 512, 0.1), size_px=(512, 512), padding=0.0)
    >>> round(v.zoom, 6), round(v.longitude, 7), round(v.latitude, 6)
    (9.0, 0.3515625, 0.0)
    """
    west, south, east, north = box
    width, height = size_px
    usable = 1 - 2 * padding
    top, bottom = _mercator_y(north), _mercator_y(south)
    spans = [(width * usable, (east - west) / 360), (height * usable, bottom - top)]
    zoom = min(math.log2(px / (_WORLD_PX * frac)) if frac > 0 else base.max_zoom for px, frac in spans)
    zoom = max(base.min_zoom, min(base.max_zoom, zoom))
    return pdk.ViewState(latitude=_latitude((top + bottom) / 2), longitude=(west + east) / 2, zoom=zoom,
                         min_zoom=base.min_zoom, max_zoom=base.max_zoom)


def dim_outside(rows: pd.DataFrame, inside: Iterable[str], *, alpha: int = DIMMED_ALPHA) -> pd.DataFrame:
    """Return ``rows`` (from :func:`map_rows`) with areas not in ``inside`` filled faintly (RGBA)."""
    keep = set(inside)
    fills = [tuple(fill) if code in keep else (*fill[:3], alpha)
             for code, fill in zip(rows["area_code"], rows["fill"], strict=True)]
    return rows.assign(fill=fills)


_FLAG_LINE = list(style.FLAG_UNDER)
_PLAIN_LINE = [255, 255, 255]
FLAG_LAYER = "flagged"


class CompactDeck(pdk.Deck):
    """A ``pydeck.Deck`` that serialises without indentation (what Streamlit sends)."""

    def to_json(self) -> str:
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


def tooltip_text(lines: Iterable[tuple[str, str]]) -> str:
    """Join a tooltip's ``label: value`` lines as plain text (the renderer escapes it)."""
    return "\n".join(f"{k}: {v}" for k, v in lines)


def _features(geometry: Mapping[str, dict], rows: pd.DataFrame, flagged: set[str]) -> list[dict]:
    """GeoJSON features for ``rows`` (``area_code``, ``fill``, ``t``); flagged ones get a thick outline."""
    out = []
    for code, fill, name, tip in rows[["area_code", "fill", "n", "t"]].itertuples(index=False, name=None):
        geom = geometry.get(code)
        if geom is None:
            continue
        props = {"code": code, "fill": list(fill), "n": name, "t": tip}
        if code in flagged:
            props.update(f=1, lc=_FLAG_LINE, lw=style.FLAG_UNDER_PX)
        else:
            props.update(lc=_PLAIN_LINE, lw=0.5)
        out.append({"type": "Feature", "geometry": geom, "properties": props})
    # Flagged areas last, so their outlines are drawn over their neighbours'.
    out.sort(key=lambda f: "f" in f["properties"])
    return out


def area_deck(rows: pd.DataFrame, geometry: Mapping[str, dict], borough_lines: list[dict], *,
              flagged: Sequence[str] = (), selected: str | None = None,
              extra_layers: Sequence[pdk.Layer] = (), opacity: float = 0.85,
              view: pdk.ViewState = LONDON_VIEW, focus: dict | None = None) -> pdk.Deck:
    """Draw a map of areas filled by ``rows['fill']`` with borough outlines and flagged areas ringed.

    Parameters
    ----------
    rows
        One row per area: ``area_code``, ``fill`` (an RGB tuple), ``n`` (its name) and ``t``
        (tooltip lines as plain text, see :func:`tooltip_text`).
    geometry
        Area code → GeoJSON geometry (WGS84, rounded), from ``ui.data.display_geometry``.
    borough_lines
        GeoJSON features of the borough outlines.
    flagged
        Area codes to ring (the priority areas) with a cased line: the black casing is a
        per-feature property of the area layer, and a thin white core is drawn on top by a
        second, outline-only layer (the one place flagged geometry is sent twice).
    selected
        An area code to outline as the current selection.
    view
        Where the map opens (``SMALL_VIEW`` fits London into a small panel; see :func:`fit_view`).
    focus
        A GeoJSON geometry (a chosen borough) to outline thickly in black.
    """
    flag_set = set(flagged)
    # pydeck turns every string into a deck.gl expression, so a literal string is quoted twice.
    layers: list[pdk.Layer] = [pdk.Layer(
        "GeoJsonLayer", id=AREA_LAYER, data=_features(geometry, rows, flag_set), pickable=True, stroked=True,
        filled=True, opacity=opacity, get_fill_color="properties.fill",
        get_line_color="properties.lc", get_line_width="properties.lw", line_width_units="'pixels'",
        auto_highlight=True, highlight_color=[255, 0, 255, 160])]
    layers.append(pdk.Layer(
        "GeoJsonLayer", id="boroughs", data=borough_lines, pickable=False, stroked=True, filled=False,
        get_line_color=list(style.BOROUGH_LINE), line_width_min_pixels=1.5))
    cores = [{"type": "Feature", "geometry": geometry[c], "properties": {}} for c in sorted(flag_set) if c in geometry]
    if cores:
        layers.append(pdk.Layer(
            "GeoJsonLayer", id=FLAG_LAYER, data=cores, pickable=False, stroked=True, filled=False,
            get_line_color=list(style.FLAG_OVER), get_line_width=style.FLAG_OVER_PX, line_width_units="'pixels'"))
    if selected in geometry:
        layers.append(pdk.Layer("GeoJsonLayer", id="selected",
                                data=[{"type": "Feature", "geometry": geometry[selected], "properties": {}}],
                                stroked=True, filled=False, get_line_color=list(style.SELECTED),
                                line_width_min_pixels=4))
    if focus is not None:
        layers.append(pdk.Layer("GeoJsonLayer", id="focus", data=[{"type": "Feature", "geometry": focus,
                                                                   "properties": {}}],
                                stroked=True, filled=False, get_line_color=list(style.FLAG_UNDER),
                                line_width_min_pixels=4))
    layers.extend(extra_layers)
    return CompactDeck(map_provider=None, layers=layers, initial_view_state=view, tooltip=TOOLTIP)


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


_CLASS = {"low": 0, "mid": 1, "high": 2}


def map_rows(table: pd.DataFrame, *, colouring: str, measure_label: str, level: str) -> pd.DataFrame:
    """Give each area its fill colour and tooltip text, from ``ui.data.area_table`` output.

    Parameters
    ----------
    table
        Crime measures joined with trust and classes (``value``, ``rate_lo``/``rate_hi``,
        ``trust``/``trust_lo``/``trust_hi``, ``trust_note``, ``crime_class``,
        ``trust_class``, ``class_label``, ``flagged``).
    colouring
        ``'bivariate'`` (3×3 crime × trust), ``'measure'`` (viridis steps of ``value``) or
        ``'hotspot'`` (Gi* classes; needs the ``hotspot`` and ``gi_z`` columns of
        ``analysis.priorities.hotspot_columns``).
    measure_label
        How the chosen measure is named in the tooltip.
    level
        ``'ward'`` or ``'borough'``: at ward level trust is the borough's figure.
    """
    values = table["value"].astype(float)
    if colouring == "bivariate":
        fills = [style.bivariate_colour(_CLASS.get(c, -1), _CLASS.get(t, -1))
                 for c, t in zip(table["crime_class"], table["trust_class"], strict=True)]
    elif colouring == "hotspot":
        fills = [style.HOTSPOT.get(h, style.NO_DATA) for h in table["hotspot"]]
    else:
        ranks = values.rank(pct=True, method="average")
        fills = [style.sequential_colour(float(p) - 1e-9 if p == p else float("nan")) for p in ranks]
    tips = []
    for rec in table.itertuples(index=False):
        lines = [("Borough", rec.borough_name)] if level == "ward" else []
        lines.append((measure_label, fmt(rec.value)))
        if rec.rate == rec.rate:
            lines.append(("Crimes per 1,000 (95% interval)",
                          f"{fmt(rec.rate)} ({fmt(rec.rate_lo)}–{fmt(rec.rate_hi)})"))
        trust_text = (f"{pct(rec.trust)} ({pct(rec.trust_lo)}–{pct(rec.trust_hi)})"
                      if rec.trust == rec.trust else "not surveyed")
        lines.append(("Trust (95% interval)", trust_text))
        note = rec.trust_note if isinstance(rec.trust_note, str) else ""
        if note:
            lines.append(("Note", "trust is the borough's figure" if level == "ward" and "borough" in note else note))
        lines.append(("Class", rec.class_label))
        if colouring == "hotspot":
            lines.append(("Hot spot (Gi*)", f"{rec.hotspot} (z = {fmt(rec.gi_z, '.2f')})"))
        if rec.flagged:
            lines.append(("Priority", f"flagged (rank {int(rec.rank)}); {rec.robustness_periods}"))
        tips.append(tooltip_text(lines))
    return pd.DataFrame({"area_code": table["area_code"].astype(str), "fill": fills,
                         "n": table["area_name"].astype(str).to_numpy(), "t": tips})
