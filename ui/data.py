"""The one place that caches: the data handle, the analysis tables and derived tables.

Big objects (the handle, the analysis tables, display geometry) are cached as resources,
shared by every session and never copied; derived tables are cached with
``st.cache_data`` on small hashable keys (the data version plus frozen query dataclasses).
Every failure the lower layers expect arrives as a ``CrimeTrustError`` and is shown with
``st.error`` and what to do, then the page stops: no traceback reaches a user.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pydeck as pdk
import streamlit as st

from analysis import trust as trust_mod
from analysis.export import export_bytes, export_meta, with_geometry
from analysis.measures import (
    AnalysisTables,
    CrimeQuery,
    crime_measures,
    load_tables,
    london_row,
    monthly_trend,
    monthly_trend_by_type,
    months_available,
)
from analysis.priorities import FlagSettings, hotspot_columns, priority_table
from data_sources.errors import CrimeTrustError, StoreError
from data_sources.settings import LONDON_CODE, get_settings
from data_sources.store import DataHandle, open_data, open_snapshot
from ui import style


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


def reopen() -> None:
    """Forget the open data and every cache, so the next read opens the store's current version."""
    _open.clear()
    clear_derived()


def clear_derived() -> None:
    """Drop every derived cache (after a refresh or when the data changed under us)."""
    for cached in (_table, _geometry, _tables, _crime, _london, _trend, _months, _trust_table,
                   _area_table, _street_bins, _export, _trends, _type_trend, _outcome_counts, _hotspots):
        cached.clear()


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


# --- analysis tables and derived tables -----------------------------------------------------------


@st.cache_resource(show_spinner="Preparing the analysis tables…")
def _tables(key: str) -> AnalysisTables:
    return load_tables(loaded().handle)


def tables() -> AnalysisTables:
    """Return the analysis tables of the open data (one shared copy for every session)."""
    data = loaded()
    with shown_errors():
        try:
            return _tables(data.key)
        except StoreError as e:
            _reopen_after(e)
            raise


@st.cache_data(show_spinner=False, max_entries=64)
def _crime(key: str, q: CrimeQuery) -> pd.DataFrame:
    return crime_measures(tables(), q)


def crime(q: CrimeQuery) -> pd.DataFrame:
    """Return the per-area crime measures for a query (``analysis.measures.crime_measures``)."""
    with shown_errors():
        return _crime(loaded().key, q)


@st.cache_data(show_spinner=False, max_entries=64)
def _london(key: str, q: CrimeQuery) -> pd.DataFrame:
    return london_row(tables(), q)


def london(q: CrimeQuery) -> pd.Series:
    """Return London's row of crime measures for a query."""
    with shown_errors():
        return _london(loaded().key, q).iloc[0]


@st.cache_data(show_spinner=False, max_entries=256)
def _trend(key: str, q: CrimeQuery, area_code: str | None) -> pd.DataFrame:
    return monthly_trend(tables(), q, area_code)


def trend(q: CrimeQuery, area_code: str | None = None) -> pd.DataFrame:
    """Return the monthly count, harm and rate for an area (None: London)."""
    with shown_errors():
        return _trend(loaded().key, q, area_code)


@st.cache_data(show_spinner=False, max_entries=128)
def _months(key: str, source: str, crime_types: tuple[str, ...], crime_groups: tuple[str, ...]) -> list[str]:
    return months_available(tables(), source, crime_types, crime_groups)


def months(source: str, crime_types: tuple[str, ...] = (), crime_groups: tuple[str, ...] = ()) -> list[str]:
    """Return the months in which the source publishes every selected type."""
    with shown_errors():
        return _months(loaded().key, source, crime_types, crime_groups)


def crime_options(source: str) -> tuple[list[str], list[str]]:
    """Return (crime types, offence groups) a source has; police.uk has no separate groups."""
    cube = tables().cubes[source]
    groups = sorted(set(cube.groups)) if source == "mps_ward" else []
    return list(cube.types), groups


def area_names(level: str | None = None) -> dict[str, str]:
    """Return area code → display name for wards and boroughs (or just one level)."""
    t = tables()
    frames = [t.wards, t.boroughs] if level is None else [t.area_index(level)]
    out: dict[str, str] = {}
    for f in frames:
        out.update(zip(f["area_code"].astype(str), f["area_name"].astype(str), strict=True))
    return out


def trust_measure_labels() -> dict[str, str]:
    """Return trust measure id → published label, for the measures the data holds."""
    with shown_errors():
        return dict(trust_mod.measures_available(tables()))


@st.cache_data(show_spinner=False, max_entries=64)
def _trust_table(key: str, measure_id: str, level: str) -> pd.DataFrame:
    return trust_mod.trust_table(tables(), measure_id, level=level)


def trust_table(measure_id: str, level: str = "borough") -> pd.DataFrame:
    """Return every published figure of a trust measure at a level, with intervals."""
    with shown_errors():
        return _trust_table(loaded().key, measure_id, level)


def london_trust(measure_id: str) -> tuple[float, float, float]:
    """Return London's latest (proportion, lo, hi) for a trust measure."""
    with shown_errors():
        return trust_mod.london_trust(tables(), measure_id)


@st.cache_data(show_spinner=False, max_entries=64)
def _area_table(key: str, q: CrimeQuery, flags: FlagSettings) -> pd.DataFrame:
    return priority_table(tables(), q, flags)


def area_table(q: CrimeQuery, flags: FlagSettings) -> pd.DataFrame:
    """Return the priority table: crime measures, trust, the 3×3 classes, the flag and its robustness."""
    with shown_errors(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tied terciles (ward trust is the borough's)
        return _area_table(loaded().key, q, flags)


def with_hotspots(table: pd.DataFrame, q: CrimeQuery, flags: FlagSettings) -> pd.DataFrame:
    """Return ``table`` (a priority table) with the Gi* and local Moran columns added (slow; on demand).

    The statistics use the crime value and the trust figure only, so they are computed and
    cached with the thresholds reset: moving a slider does not recompute them.
    """
    base = replace(flags, method="percentile", crime_pct=2 / 3, trust_pct=1 / 3)
    with shown_errors(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # islands are labelled "no neighbours"
        columns = _hotspots(loaded().key, q, base, area_table(q, base))
    out = table.join(columns, on="area_code")
    out.attrs = dict(table.attrs)
    return out


@st.cache_data(show_spinner="Finding hot spots (Gi*)…", max_entries=32)
def _hotspots(key: str, q: CrimeQuery, flags: FlagSettings, _table: pd.DataFrame) -> pd.DataFrame:
    return hotspot_columns(tables(), _table, bivariate=False).set_index(_table["area_code"].astype(str))


def export(q: CrimeQuery, flags: FlagSettings, fmt: str) -> bytes:
    """Return the priority table as the CLI's ``python -m analysis export priorities`` writes it."""
    table = area_table(q, flags)
    with shown_errors():
        return _export(loaded().key, q, flags, fmt, table)


#: Every Priority areas rerun prepares both files, so each filter state people visit holds two
#: entries (the GeoJSON ~1 MB); 16 was too few for four users' filters (3 states × 2 files).
@st.cache_data(show_spinner="Preparing the download…", max_entries=64)
def _export(key: str, q: CrimeQuery, flags: FlagSettings, fmt: str, _table: pd.DataFrame) -> bytes:
    t = tables()
    frame = with_geometry(t, _table) if fmt == "geojson" else _table
    return export_bytes(frame, export_meta(t, _table), fmt)


#: Individual crimes are binned on a ~500 m grid before they are sent, keeping the map small.
_BIN_LON, _BIN_LAT = 0.007, 0.0045


def street_layer(start: str, end: str) -> tuple[pdk.Layer | None, str]:
    """Return a layer of individual crimes (binned ~500 m squares) and a note on what it shows."""
    handle = loaded().handle
    months_with_rows = [m for m in handle.street_months() if start <= m <= end]
    if not months_with_rows:
        return None, ("Individual crimes need the built store (`python -m data_sources build`); "
                      "the embedded snapshot holds counts only." if handle.kind == "snapshot"
                      else "The store has no street-level rows for these months.")
    with shown_errors():
        bins = _street_bins(loaded().key, tuple(months_with_rows))
    layer = pdk.Layer("ScatterplotLayer", id="crimes", data=bins, get_position=["lon", "lat"], get_radius=230,
                      get_fill_color="fill", opacity=0.8, stroked=False, pickable=False)
    return layer, (f"Squares of about 500 m: {int(bins['n'].sum()):,} police.uk street-level crimes with a location, "
                   f"{months_with_rows[0]}–{months_with_rows[-1]} (brighter = more).")


@st.cache_data(show_spinner="Reading individual crimes…", max_entries=8)
def _street_bins(key: str, months: tuple[str, ...]) -> pd.DataFrame:
    rows = loaded().handle.read_street(list(months), columns=["longitude", "latitude"]).dropna()
    gx = (rows["longitude"] / _BIN_LON).round().astype(int)
    gy = (rows["latitude"] / _BIN_LAT).round().astype(int)
    bins = pd.DataFrame({"gx": gx, "gy": gy}).value_counts().rename("n").reset_index()
    ranks = bins["n"].rank(pct=True)
    return pd.DataFrame({"lon": (bins["gx"] * _BIN_LON).round(4), "lat": (bins["gy"] * _BIN_LAT).round(4),
                         "n": bins["n"], "fill": [list(style.sequential_colour(float(r) - 1e-9)) for r in ranks]})


@st.cache_data(show_spinner=False, max_entries=128)
def _trends(key: str, q: CrimeQuery, codes: tuple[str, ...]) -> pd.DataFrame:
    names = {**area_names(), LONDON_CODE: "London"}
    frames = [monthly_trend(tables(), q, None if c == LONDON_CODE else c).assign(area=names.get(c, c))
              for c in codes]
    return pd.concat(frames, ignore_index=True)


def profile_trend(q: CrimeQuery, area_code: str) -> pd.DataFrame:
    """Return monthly rates for an area, its borough (for a ward) and London, long format."""
    t = tables()
    codes = [area_code]
    ward = t.wards[t.wards["area_code"] == area_code]
    if len(ward):
        codes.append(str(ward["borough_code"].iloc[0]))
    codes.append(LONDON_CODE)
    with shown_errors():
        return _trends(loaded().key, q, tuple(codes))


def compare_trend(q: CrimeQuery, area_codes: tuple[str, ...]) -> pd.DataFrame:
    """Return monthly rates for up to four areas and London, long format."""
    with shown_errors():
        return _trends(loaded().key, q, (*area_codes, LONDON_CODE))


@st.cache_data(show_spinner=False, max_entries=128)
def _type_trend(key: str, q: CrimeQuery, area_code: str) -> pd.DataFrame:
    return monthly_trend_by_type(tables(), q, area_code)


def type_trend(q: CrimeQuery, area_code: str) -> pd.DataFrame:
    """Return an area's monthly counts by crime type or offence group (``monthly_trend_by_type``)."""
    with shown_errors():
        return _type_trend(loaded().key, q, area_code)


NO_OUTCOME = "no outcome recorded"


@st.cache_data(show_spinner="Reading outcomes…", max_entries=8)
def _outcome_counts(key: str, months: tuple[str, ...]) -> pd.DataFrame:
    rows = loaded().handle.read_street(list(months), columns=["ward_code", "borough_code", "crime_type",
                                                              "last_outcome"])
    rows["last_outcome"] = rows["last_outcome"].fillna(NO_OUTCOME).replace("", NO_OUTCOME)
    return rows.groupby(list(rows.columns), dropna=False, observed=True).size().rename("n").reset_index()


def outcomes(area_code: str, start: str, end: str, crime_types: tuple[str, ...] = ()) -> tuple[pd.DataFrame | None,
                                                                                                str]:
    """Return the last-outcome mix of an area's police.uk street-level crimes, and a note on what it covers.

    Parameters
    ----------
    area_code
        A ward or a borough.
    start, end
        The period ('YYYY-MM'); only months the store has street-level rows for are read.
    crime_types
        police.uk types to keep; empty for all.

    Returns
    -------
    (pandas.DataFrame or None, str)
        ``outcome, crimes, share`` (share of crimes with a recorded outcome), largest first;
        None when there is nothing to show, with the reason as the note.
    """
    handle = loaded().handle
    if handle.kind == "snapshot":
        return None, ("Outcomes need the built store (`python -m data_sources build`): the embedded snapshot "
                      "holds counts only, not individual crimes.")
    months_with_rows = tuple(m for m in handle.street_months() if start <= m <= end)
    if not months_with_rows:
        return None, f"The store has no police.uk street-level crimes for {start}–{end}."
    with shown_errors():
        counts = _outcome_counts(loaded().key, months_with_rows)
    column = "ward_code" if area_code in set(counts["ward_code"]) else "borough_code"
    here = counts[counts[column] == area_code]
    if crime_types:
        here = here[here["crime_type"].isin(crime_types)]
    total = int(here["n"].sum())
    known = here[here["last_outcome"] != NO_OUTCOME]
    mix = known.groupby("last_outcome")["n"].sum().sort_values(ascending=False)
    span = f"{months_with_rows[0]}–{months_with_rows[-1]}"
    if mix.empty:
        return None, f"No police.uk crime here in {span} has an outcome recorded ({total:,} crimes)."
    frame = pd.DataFrame({"outcome": mix.index.astype(str), "crimes": mix.to_numpy(dtype=int),
                          "share": mix.to_numpy(dtype=float) / mix.sum()})
    kinds = sorted(here["crime_type"].dropna().unique())
    types = ", ".join(kinds) if len(kinds) <= 3 else f"{len(kinds)} crime types"
    return frame, (f"police.uk street-level crimes, {span} ({types}): {int(mix.sum()):,} of {total:,} have an "
                   "outcome recorded; the latest outcome is shown, and recent crimes are often still "
                   "under investigation.")


def method_text() -> str | None:
    """Return METHOD.md from the repository when it exists (read per call: it is small)."""
    path = Path(__file__).resolve().parent.parent / "METHOD.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None
