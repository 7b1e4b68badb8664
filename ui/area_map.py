"""The area map: a Streamlit components v2 element (no iframe) drawing areas on a Canvas 2D.

Why a component of our own: ``st.pydeck_chart`` re-sends every shape on every rerun and its
GPU picking is too slow under software graphics for a click to register. Here the shapes of
a level go to the browser once per session (``ui.map_payload.Shapes``, kept in the page by
their content key) and a rerun sends only colours, rings, tooltips and the view (a few tens
of kB). The browser resolves a click, tap or Enter by a point-in-polygon test and returns the
area's code. If the page has lost shapes the session believes it sent (a reload mid-run),
the component asks for them again with the ``need`` trigger.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.map_payload import LINES, Shapes

_HERE = Path(__file__).resolve().parent
_COMPONENT = st.components.v2.component(
    "lct_area_map", js=(_HERE / "area_map.js").read_text(encoding="utf-8"),
    css=(_HERE / "area_map.css").read_text(encoding="utf-8"))
#: Session-state key: content keys of the shapes this session has sent to the browser.
_SENT = "_area_map_shapes_sent"


def _forget_sent() -> None:
    """The browser asked for shapes again: send every shape set anew on this rerun."""
    st.session_state.pop(_SENT, None)


def _unsent(*shapes: Shapes | None) -> dict[str, dict]:
    sent: set[str] = st.session_state.setdefault(_SENT, set())
    new = {s.key: s.payload for s in shapes if s is not None and s.key not in sent}
    sent.update(new)
    return new


def area_map(areas: Shapes, styles: dict, *, key: str, height: int, label: str,
             outlines: Shapes | None = None, focus: str | None = None,
             view: tuple[float, float, float, float] | None = None,
             points: dict | None = None, large: bool = False) -> str | None:
    """Draw ``areas`` styled by ``styles`` (``ui.map_payload.area_styles``); return the code of an area opened.

    Parameters
    ----------
    outlines
        Shapes drawn as thin context lines over the areas (the boroughs).
    focus
        A code in ``outlines`` outlined thickly (the chosen borough).
    view
        ``(west, south, east, north)`` to fit into the map; all of ``areas`` when None. The
        reader's own zooming and panning is kept across reruns until the view changes.
    points
        A layer of circles over the areas (``ui.map_payload.points_payload``).
    large
        Meeting mode: projector-sized tooltips and thicker lines.
    label
        What the map shows, for screen readers (the keys to use are added).
    """
    data = {**styles, "areas": areas.key, "outlines": outlines.key if outlines else None,
            "focus": outlines.position().get(focus, -1) if outlines and focus else -1,
            "view": list(view) if view else None, "points": points, "large": large, "height": height, "lines": LINES,
            "label": f"{label}. Arrow keys move between areas, Enter opens the area's profile, "
                     "plus and minus zoom, 0 resets the view.",
            "shapes": _unsent(areas, outlines)}
    result = _COMPONENT(key=key, data=data, height=height, on_click_change=lambda: None,
                        on_need_change=_forget_sent)
    clicked = result.get("click")
    return str(clicked) if clicked else None
