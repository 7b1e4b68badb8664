"""What the area map component is sent: shapes once, then small per-rerun styles.

Shapes (one level's areas, in a fixed order) are encoded compactly as rings of integers
(coordinates in 1e-4 degrees, the first pair absolute and the rest as deltas), keyed by a
hash of their content so the browser can keep them for the session. A rerun sends only what
changes: a palette and one palette index per area, the areas to ring, tooltip lines (each
distinct list of labels and each distinct value sent once, areas referring to them by
index) and the view. Nothing here is
markup: the component shows every string with ``textContent``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from ui import style

#: Coordinates are sent as integers in units of 1e-4 degree (about 10 m; the display geometry
#: is rounded to 4 decimals already).
_QUANTUM = 1e4


@dataclass(frozen=True)
class Shapes:
    """One level's area shapes as the browser receives them, and the content key it caches them by."""

    key: str
    codes: tuple[str, ...]
    payload: dict = field(compare=False, repr=False)

    def position(self) -> dict[str, int]:
        """Area code → its index in the shapes (the order every per-area list follows)."""
        return {c: i for i, c in enumerate(self.codes)}


def _rings(geometry: dict) -> list[list[int]]:
    """The rings of a Polygon or MultiPolygon as delta-encoded integer lists."""
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    out = []
    for polygon in polygons:
        for ring in polygon:
            flat: list[int] = []
            px = py = 0
            for lon, lat, *_ in ring:
                x, y = round(lon * _QUANTUM), round(lat * _QUANTUM)
                flat += [x - px, y - py]
                px, py = x, y
            out.append(flat)
    return out


def encode_shapes(geometry: Mapping[str, dict], names: Mapping[str, str]) -> Shapes:
    """Encode area code → GeoJSON (Multi)Polygon (WGS84) for the browser, with each area's name.

    Examples
    --------
    >>> s = encode_shapes({"A": {"type": "Polygon", "coordinates": [[[0.1, 51.5], [0.2, 51.5], [0.1, 51.6]]]}},
    ...                   {"A": "Alpha"})
    >>> s.codes, s.payload["rings"]
    (('A',), [[[1000, 515000, 1000, 0, -1000, 1000]]])
    """
    codes = tuple(sorted(geometry))
    payload = {"codes": list(codes), "names": [str(names.get(c, c)) for c in codes],
               "rings": [_rings(geometry[c]) for c in codes]}
    key = hashlib.sha256(json.dumps(payload, separators=(",", ":")).encode()).hexdigest()[:16]
    return Shapes(key=key, codes=codes, payload=payload)


def _hex(colour: Sequence[int]) -> str:
    """``#rrggbb`` or, with an alpha, ``#rrggbbaa``."""
    return "#" + "".join(f"{int(v):02x}" for v in colour)


#: The component's line colours and widths (px at normal size), from ``ui.style`` so the map
#: and the tests that check them against the palettes read one table.
LINES = {"flag_under": _hex(style.FLAG_UNDER), "flag_under_px": style.FLAG_UNDER_PX,
         "flag_over": _hex(style.FLAG_OVER), "flag_over_px": style.FLAG_OVER_PX,
         "selected": _hex(style.SELECTED), "borough": _hex(style.BOROUGH_LINE)}


def _interned(values: Iterable[str], table: dict[str, int]) -> list[int]:
    return [table.setdefault(v, len(table)) for v in values]


def area_styles(rows: pd.DataFrame, shapes: Shapes, *, flagged: Iterable[str] = (),
                selected: str | None = None) -> dict:
    """The per-rerun part of the map: fills, rings, the selection and tooltips, in ``shapes`` order.

    Parameters
    ----------
    rows
        One row per area (``ui.maps.map_rows``): ``area_code``, ``fill`` (RGB or RGBA) and
        ``tip`` (the tooltip's ``(label, value)`` lines). Areas of ``shapes`` without a row are
        left unfilled and cannot be opened.
    flagged
        Area codes ringed with the cased black-and-white line.
    selected
        An area code outlined as the current selection.

    Examples
    --------
    >>> shapes = encode_shapes({c: {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 1]]]} for c in "AB"}, {})
    >>> rows = pd.DataFrame({"area_code": ["B"], "fill": [(255, 0, 0)], "tip": [[("Rate", "1.0")]]})
    >>> styles = area_styles(rows, shapes, flagged=["B"])
    >>> styles["palette"], styles["fill"], styles["ring"], styles["selected"]
    (['#ff0000'], [-1, 0], [1], -1)
    >>> styles["tips"]
    {'layouts': [['Rate']], 'values': ['1.0'], 'areas': [[], [0, 0]]}
    """
    where = shapes.position()
    palette: dict[str, int] = {}
    layouts: dict[tuple[str, ...], int] = {}
    values: dict[str, int] = {}
    fill = [-1] * len(shapes.codes)
    tips: list[list[int]] = [[] for _ in shapes.codes]
    for code, colour, lines in rows[["area_code", "fill", "tip"]].itertuples(index=False, name=None):
        i = where.get(str(code))
        if i is None:
            continue
        fill[i] = _interned([_hex(colour)], palette)[0]
        layout = tuple(str(label) for label, _ in lines)
        tips[i] = [layouts.setdefault(layout, len(layouts)), *_interned((str(v) for _, v in lines), values)]
    return {"palette": list(palette), "fill": fill,
            "ring": sorted(where[c] for c in set(flagged) if c in where),
            "selected": where.get(selected, -1) if selected else -1,
            "tips": {"layouts": [list(k) for k in layouts], "values": list(values), "areas": tips}}


def points_payload(points: pd.DataFrame, *, radius_m: float) -> dict:
    """Circles of ``radius_m`` metres at ``lon``/``lat`` filled by ``fill`` (RGB), for a layer over the areas."""
    palette: dict[str, int] = {}
    fills = _interned((_hex(c) for c in points["fill"]), palette)
    return {"lon": points["lon"].round(5).tolist(), "lat": points["lat"].round(5).tolist(),
            "fill": fills, "palette": list(palette), "radius_m": radius_m}
