"""The map's data: each area's colour and tooltip lines, a borough's box, areas set back.

Drawing is ``ui.area_map``'s job (a Canvas 2D component); this module decides what is drawn.
Tooltip lines are plain ``(label, value)`` text: the component shows them with
``textContent``, so names from the data are shown as text and never run as markup
(tests/test_browser.py checks this in Chromium).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ui import style
from ui.widgets import fmt, pct

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


def dim_outside(rows: pd.DataFrame, inside: Iterable[str], *, alpha: int = DIMMED_ALPHA) -> pd.DataFrame:
    """Return ``rows`` (from :func:`map_rows`) with areas not in ``inside`` filled faintly (RGBA)."""
    keep = set(inside)
    fills = [tuple(fill) if code in keep else (*fill[:3], alpha)
             for code, fill in zip(rows["area_code"], rows["fill"], strict=True)]
    return rows.assign(fill=fills)


_CLASS = {"low": 0, "mid": 1, "high": 2}


def map_rows(table: pd.DataFrame, *, colouring: str, measure_label: str, level: str) -> pd.DataFrame:
    """Give each area its fill colour and tooltip lines, from ``ui.data.area_table`` output.

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
        tips.append(lines)
    return pd.DataFrame({"area_code": table["area_code"].astype(str), "fill": fills, "tip": tips})
