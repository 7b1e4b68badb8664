"""Small reusable pieces of page layout: the data banner and the map legends.

Legends are drawn with ``st.columns`` and coloured blocks made from static CSS in this file
(no data ever reaches ``unsafe_allow_html``); labels are passed as plain text to
``st.caption``/``st.markdown`` without HTML.
"""

from __future__ import annotations

import streamlit as st

from ui import data, style

_SWATCH = ('<div style="background: rgb({r},{g},{b}); height: {h}px; border: 1px solid #555;'
           ' border-radius: 2px;"></div>')


def _swatch(rgb: style.RGB, height: int) -> None:
    r, g, b = (int(v) for v in rgb)  # integers from the palette constants, never data
    st.markdown(_SWATCH.format(r=r, g=g, b=b, h=int(height)), unsafe_allow_html=True)


def data_banner() -> None:
    """Say which data the page shows (store or snapshot, months, build time)."""
    loaded = data.loaded()
    handle = loaded.handle
    months = []
    for name, info in handle.manifest.get("sources", {}).items():
        got = info.get("months") or []
        if got:
            months.append(f"{name} {got[0]}–{got[-1]}")
    kind = "built store" if handle.kind == "store" else "embedded snapshot"
    st.caption(f"Data: the {kind}, built {handle.manifest.get('built_at', 'at an unknown time')}. "
               f"Months: {'; '.join(months) or 'none'}.")
    if loaded.problem:
        st.warning(loaded.problem)


def bivariate_legend(*, large: bool = False) -> None:
    """Draw the 3×3 crime × trust legend (rows: crime high → low; columns: trust low → high)."""
    height = 48 if large else 22
    st.markdown("**Crime × trust**")
    names = ("low", "mid", "high")
    for c in (2, 1, 0):
        cols = st.columns([2, 1, 1, 1])
        cols[0].caption(f"{names[c]} crime")
        for t in range(3):
            with cols[t + 1]:
                _swatch(style.BIVARIATE[c][t], height)
    cols = st.columns([2, 1, 1, 1])
    for t in range(3):
        cols[t + 1].caption(f"{names[t]} trust")
    st.caption("Black: high crime and low trust. Yellow outline: flagged priority area.")


def sequential_legend(label: str, low: float, high: float, *, large: bool = False) -> None:
    """Draw the viridis steps with the range of the values they stand for."""
    height = 40 if large else 18
    st.markdown(f"**{label}**" if "*" not in label else label)
    cols = st.columns(len(style.SEQUENTIAL))
    for col, rgb in zip(cols, style.SEQUENTIAL, strict=True):
        with col:
            _swatch(rgb, height)
    left, right = st.columns(2)
    left.caption(f"lowest ({low:,.1f})")
    right.caption(f"highest ({high:,.1f})")
    st.caption("Colours are ranks: each step holds about the same number of areas. "
               "Yellow outline: flagged priority area.")
