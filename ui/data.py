"""The one place that caches: the data handle, the analysis tables and derived tables.

Big objects (the handle, the analysis tables, display geometry) are cached as resources,
shared by every session and never copied; derived tables are cached with
``st.cache_data`` on small hashable keys (the data version plus frozen query dataclasses).
Every failure the lower layers expect arrives as a ``CrimeTrustError`` and is shown with
``st.error`` and what to do, then the page stops: no traceback reaches a user.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st

from data_sources.errors import CrimeTrustError, StoreError
from data_sources.settings import get_settings
from data_sources.store import DataHandle, open_data, open_snapshot


@dataclass(frozen=True)
class Loaded:
    """The open data and a note for the user when the store could not be used."""

    handle: DataHandle
    problem: str | None

    @property
    def key(self) -> str:
        """A small hashable key naming this data version, for the data caches."""
        return f"{self.handle.kind}:{self.handle.root}:{self.handle.manifest.get('built_at', '')}"


@st.cache_resource(show_spinner="Opening the data…")
def _open(store_dir: str, snapshot_dir: str) -> Loaded:
    """Open the store (or the snapshot); keyed on the folders so tests can point elsewhere."""
    handle, problem = open_data(get_settings())
    return Loaded(handle, problem)


@contextmanager
def shown_errors() -> Iterator[None]:
    """Show any expected failure as an error with what to do, then stop the page."""
    try:
        yield
    except CrimeTrustError as e:
        st.error(f"{e}")
        st.stop()


def loaded() -> Loaded:
    """Return the open data; fall back to the snapshot when the store vanished while running."""
    settings = get_settings()
    with shown_errors():
        data = _open(str(settings.store_dir), str(settings.snapshot_dir))
        if data.handle.kind == "store" and not (data.handle.root / "manifest.json").is_file():
            _open.clear()
            clear_derived()
            data = Loaded(open_snapshot(settings.snapshot_dir),
                          f"The store at {data.handle.root} disappeared while the app was running; "
                          "showing the embedded snapshot instead. Rebuild with `python -m data_sources build`.")
    return data


def handle() -> DataHandle:
    """Return the open data handle (store or snapshot)."""
    return loaded().handle


def _reopen_after(e: StoreError) -> None:
    _open.clear()
    clear_derived()
    st.warning(f"{e} Reload the page to continue with the embedded snapshot.")
    st.stop()


@st.cache_resource(show_spinner=False)
def _table(key: str, name: str):
    return loaded().handle.read(name)


def table(name: str):
    """Return a raw table of the open data, read once and shared (treat it as read-only)."""
    data = loaded()
    try:
        return _table(data.key, name)
    except StoreError as e:
        _reopen_after(e)


def clear_derived() -> None:
    """Drop every derived cache (after a refresh or when the data changed under us)."""
    _table.clear()


def _rounded(geom: dict, decimals: int) -> dict:
    """Return a GeoJSON geometry with coordinates rounded (nested lists, any depth)."""
    def walk(c):
        if isinstance(c[0], (int, float)):
            return [round(c[0], decimals), round(c[1], decimals)]
        return [walk(x) for x in c]
    return {"type": geom["type"], "coordinates": walk(geom["coordinates"])}


@st.cache_resource(show_spinner=False)
def _geometry(key: str, level: str) -> dict[str, dict]:
    if level == "ward":
        frame = loaded().handle.read("wards_display")
        codes = frame["ward_code"]
    else:
        frame = loaded().handle.read("boroughs_display")
        codes = frame["area_code"]
    return {str(c): _rounded(g.__geo_interface__, 4) for c, g in zip(codes, frame.geometry, strict=True)
            if g is not None and not g.is_empty}


def display_geometry(level: str) -> dict[str, dict]:
    """Map area code → GeoJSON geometry (WGS84, 4 dp ≈ 10 m, below the 25 m simplification).

    Shared read-only across sessions; ``level`` is ``'ward'`` or ``'borough'``.
    """
    data = loaded()
    try:
        return _geometry(data.key, level)
    except StoreError as e:
        _reopen_after(e)
        raise


def borough_lines() -> list[dict]:
    """Return borough outlines as GeoJSON features without properties (map context)."""
    return [{"type": "Feature", "geometry": g, "properties": {}} for g in display_geometry("borough").values()]
