"""The one place that caches: the data handle, the analysis tables and what pages derive from them.

Big shared objects (the handle, the analysis tables, display geometry, contiguity weights)
are cached as resources, shared by every session and never copied; derived results are
cached with ``st.cache_data`` on small hashable keys (the data version plus frozen query
dataclasses). Nothing below ``ui/`` caches, so ``reopen`` clears everything with
Streamlit's own API when the store changes. Every failure the lower layers expect arrives
as a ``CrimeTrustError`` and is shown with ``st.error`` and what to do, then the page
stops: no traceback reaches a user.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

import pandas as pd
import streamlit as st
from libpysal.weights import W

from analysis import street
from analysis import trust as trust_mod
from analysis.export import priorities_files, progress_files, zip_bytes
from analysis.hotspots import area_weights, hotspot_columns
from analysis.hotspots import neighbours as _neighbours
from analysis.priorities import FlagSettings, PriorityBase, PriorityTable, flag_areas, priority_base
from analysis.progress import Progress, ProgressSettings, best_series, plan_progress
from analysis.query import CrimeQuery, months_available
from analysis.tables import AnalysisTables, load_tables
from analysis.trends import area_trends, monthly_trend, monthly_trend_by_type, profile_codes
from core.errors import CrimeTrustError, StoreError
from data_sources.settings import get_settings
from data_sources.store import CURRENT, DataHandle, lease_version, open_data, open_snapshot
from geo.london import LONDON_CODE
from ui import style
from ui.map_payload import Shapes, encode_shapes, points_payload

T = TypeVar("T")


@dataclass(frozen=True)
class Loaded:
    """The open data, a note for the user when the store could not be used, and the reader's lease on it."""

    handle: DataHandle
    problem: str | None
    lease: IO[bytes] | None = field(default=None, compare=False, repr=False)

    @property
    def key(self) -> str:
        """A small hashable key naming this data version, for the data caches."""
        return f"{self.handle.kind}:{self.handle.root}:{self.handle.manifest.get('built_at', '')}"


_PINNED = "_data_version"  # the store version this session's pages show
_MOVED = "_data_moved"  # set when the session moved to a newer version, for the banner


@st.cache_resource(show_spinner="Opening the data…", max_entries=2)
def _open(store_dir: str, snapshot_dir: str, version: str) -> Loaded:
    """Open the store (or the snapshot) at ``version``; keyed on the folders so tests can point elsewhere.

    The store's version is leased (``data_sources.store.lock``) for as long as the entry is
    cached or any session still renders with it, so an update never deletes it under them.
    """
    handle, problem = open_data(get_settings())
    return Loaded(handle, problem, lease_version(handle.root) if handle.kind == "store" else None)


def _current_version() -> str:
    try:
        return (get_settings().store_dir / CURRENT).read_text().strip()
    except OSError:
        return ""


def follow_store() -> None:
    """At the top of every page: show the store's newest version from this run on.

    A session keeps the version it pinned for the whole of a run (so a page never mixes
    two versions), and moves to a newer one, made by an update in another process or
    session, at its next run; the banner then says so.
    """
    now = _current_version()
    was = st.session_state.get(_PINNED)
    st.session_state[_PINNED] = now
    if was is not None and was != now:
        st.session_state[_MOVED] = True


def moved_to_new_version() -> bool:
    """Whether this run moved to a newer store version than the session's last run showed (asked once)."""
    return bool(st.session_state.pop(_MOVED, False))


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
    version = st.session_state.get(_PINNED)
    if version is None:
        version = st.session_state[_PINNED] = _current_version()
    with shown_errors():
        data = _open(str(settings.store_dir), str(settings.snapshot_dir), version)
        if data.handle.kind == "store" and not (data.handle.root / "manifest.json").is_file():
            reopen()
            data = Loaded(open_snapshot(settings.snapshot_dir),
                          f"The store at {data.handle.root} disappeared while the app was running; "
                          "showing the embedded snapshot instead. Rebuild with `python -m data_sources build`.")
    return data


def handle() -> DataHandle:
    """Return the open data handle (store or snapshot)."""
    return loaded().handle


def reopen() -> None:
    """Forget the open data and every cache, so the next read opens the store's current version."""
    st.cache_data.clear()
    st.cache_resource.clear()


def _reopen_after(e: StoreError) -> None:
    reopen()
    st.warning(f"{e} Reload the page to continue with the embedded snapshot.")
    st.stop()


def _rounded(geom: dict, decimals: int) -> dict:
    """Return a GeoJSON geometry with coordinates rounded (nested lists, any depth)."""
    def walk(c):
        if isinstance(c[0], (int, float)):
            return [round(c[0], decimals), round(c[1], decimals)]
        return [walk(x) for x in c]
    return {"type": geom["type"], "coordinates": walk(geom["coordinates"])}


@st.cache_resource(show_spinner=False, max_entries=4)
def _geometry(key: str, level: str, _handle: DataHandle) -> dict[str, dict]:
    if level == "ward":
        frame = _handle.read("wards_display")
        codes = frame["ward_code"]
    else:
        frame = _handle.read("boroughs_display")
        codes = frame["area_code"]
    return {str(c): _rounded(g.__geo_interface__, 4) for c, g in zip(codes, frame.geometry, strict=True)
            if g is not None and not g.is_empty}


def display_geometry(level: str) -> dict[str, dict]:
    """Map area code → GeoJSON geometry (WGS84, 4 dp ≈ 10 m, below the 25 m simplification).

    Shared read-only across sessions; ``level`` is ``'ward'`` or ``'borough'``.
    """
    return _for_level(_geometry, level)


def _for_level(cached: Callable[[str, str, DataHandle], T], level: str) -> T:
    """Call a per-level cached loader on the open data; a damaged store falls back to the snapshot."""
    data = loaded()
    try:
        return cached(data.key, level, data.handle)
    except StoreError as e:
        _reopen_after(e)
        raise


@st.cache_resource(show_spinner=False, max_entries=4)
def _shapes(key: str, level: str, _handle: DataHandle) -> Shapes:
    return encode_shapes(_geometry(key, level, _handle), _tables(key, _handle).area_names(level))


@st.cache_data(show_spinner=False, max_entries=64)
def _map_rows(key: str, q: CrimeQuery, flags: FlagSettings, colouring: str, label: str,
              _table: pd.DataFrame) -> pd.DataFrame:
    from ui.maps import map_rows  # ui.maps needs ui.widgets, which needs this module

    return map_rows(_table, colouring=colouring, measure_label=label, level=q.level)


def map_rows(result: PriorityTable, q: CrimeQuery, flags: FlagSettings, *, colouring: str,
             label: str) -> pd.DataFrame:
    """Each area's fill and tooltip lines (``ui.maps.map_rows``), cached.

    ``result`` must be what ``q``, ``flags`` and ``colouring`` give (``area_table``, with
    ``with_hotspots`` for the hot-spot colouring): the cache is keyed on those, not on it.
    """
    return _map_rows(loaded().key, q, flags, colouring, label, result.table)


def map_shapes(level: str) -> Shapes:
    """Return a level's shapes encoded for the map component (once per data version, shared)."""
    return _for_level(_shapes, level)


# --- analysis tables and what pages derive from them ----------------------------------------------


@st.cache_resource(show_spinner="Preparing the analysis tables…", max_entries=2)
def _tables(key: str, _handle: DataHandle) -> AnalysisTables:
    return load_tables(_handle)


def tables() -> AnalysisTables:
    """Return the analysis tables of the open data (one shared copy for every session)."""
    data = loaded()
    with shown_errors():
        try:
            return _tables(data.key, data.handle)
        except StoreError as e:
            _reopen_after(e)
            raise


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
    cube = tables().cube(source)
    groups = sorted(set(cube.groups)) if source == "mps_ward" else []
    return list(cube.types), groups


def area_names(level: str | None = None) -> dict[str, str]:
    """Return area code → display name for wards and boroughs (or just one level)."""
    return tables().area_names(level)


def trust_measure_labels() -> dict[str, str]:
    """Return trust measure id → published label, for the measures the data holds."""
    return dict(tables().trust_measures)


@st.cache_data(show_spinner=False, max_entries=64)
def _trust_table(key: str, measure_id: str, level: str) -> pd.DataFrame:
    return trust_mod.trust_table(tables(), measure_id, level=level)


def trust_table(measure_id: str, level: str = "borough") -> pd.DataFrame:
    """Return every published figure of a trust measure at a level, with intervals."""
    with shown_errors():
        return _trust_table(loaded().key, measure_id, level)


def trust_publications(measure_id: str) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """Which publication each stretch of a measure's borough figures comes from (``analysis.trust.publications``)."""
    with shown_errors():
        return trust_mod.publications(tables(), measure_id)


def london_trust(measure_id: str) -> tuple[float, float, float]:
    """Return London's latest (proportion, lo, hi) for a trust measure."""
    with shown_errors():
        return trust_mod.london_trust(tables(), measure_id)


@st.cache_data(show_spinner=False, max_entries=64)
def _base(key: str, q: CrimeQuery, settings: FlagSettings) -> PriorityBase:
    return priority_base(tables(), q, settings)


@st.cache_data(show_spinner=False, max_entries=64)
def _area_table(key: str, q: CrimeQuery, flags: FlagSettings) -> PriorityTable:
    return flag_areas(_base(key, q, flags.for_base()), flags)


def area_table(q: CrimeQuery, flags: FlagSettings) -> PriorityTable:
    """Return the priority table: crime measures, trust, the 3×3 classes, the flag and its robustness.

    A threshold change reuses the cached base (crime, trust, earlier periods) and only
    re-flags.
    """
    with shown_errors(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tied terciles (ward trust is the borough's)
        return _area_table(loaded().key, q, flags)


@st.cache_resource(show_spinner="Finding neighbouring areas…", max_entries=4)
def _weights(key: str, level: str) -> W:
    t = tables()
    return area_weights(t.wards_display if level == "ward" else t.boroughs_display)


def neighbours(level: str, area_code: str) -> list[str]:
    """Return the areas touching ``area_code`` at a level: the contiguity the hot-spot statistics use."""
    with shown_errors():
        return _neighbours(_weights(loaded().key, level), area_code)


def areas_in(level: str, borough_code: str) -> list[str]:
    """Return the codes of the wards in a borough (at borough level, the borough itself)."""
    return tables().areas_in(level, borough_code)


@st.cache_data(show_spinner="Finding hot spots (Gi*)…", max_entries=32)
def _hotspots(key: str, q: CrimeQuery, settings: FlagSettings) -> pd.DataFrame:
    areas = _base(key, q, settings).crime.areas
    return hotspot_columns(areas, _weights(key, q.level), bivariate=False).set_index(areas["area_code"].astype(str))


def with_hotspots(result: PriorityTable, q: CrimeQuery, flags: FlagSettings) -> PriorityTable:
    """Return ``result`` with the Gi* columns added (slow; on demand).

    Gi* uses the crime value only, so it is computed from the base and cached with it:
    moving a threshold does not recompute it.
    """
    with shown_errors(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # islands are labelled "no neighbours"
        columns = _hotspots(loaded().key, q, flags.for_base())
    return result.with_table(result.table.join(columns, on="area_code"))


#: Every Priority areas rerun prepares the files, so each filter state people visit holds a few
#: entries (the GeoJSON ~1 MB); 16 was too few for four users' filters.
@st.cache_data(show_spinner="Preparing the download…", max_entries=96)
def _export(key: str, q: CrimeQuery, flags: FlagSettings, fmt: str, name: str) -> dict[str, bytes]:
    return priorities_files(tables(), _area_table(key, q, flags), fmt, name)


def export(q: CrimeQuery, flags: FlagSettings, fmt: str, name: str) -> dict[str, bytes]:
    """Return the priority table's files as ``python -m analysis export priorities --out NAME`` writes them."""
    with shown_errors(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _export(loaded().key, q, flags, fmt, name)


@st.cache_data(show_spinner=False, max_entries=32)
def _export_zip(key: str, q: CrimeQuery, flags: FlagSettings, name: str) -> bytes:
    return zip_bytes(_export(key, q, flags, "csv", name))


def export_zip(q: CrimeQuery, flags: FlagSettings, name: str) -> bytes:
    """Return the CSV and its metadata in one zip (one click for both)."""
    with shown_errors(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _export_zip(loaded().key, q, flags, name)


@st.cache_data(show_spinner="Comparing the areas flagged at launch with all other areas…", max_entries=32)
def _progress(key: str, q: CrimeQuery, flags: FlagSettings, settings: ProgressSettings) -> Progress:
    return plan_progress(tables(), q, flags, settings)


def progress_series(baseline: tuple[str, str]) -> tuple[str, tuple[str, ...]] | None:
    """The widest crime selection that can answer the progress question (``analysis.progress.best_series``)."""
    with shown_errors():
        return _progress_series(loaded().key, baseline)


@st.cache_data(show_spinner=False, max_entries=32)
def _progress_series(key: str, baseline: tuple[str, str]) -> tuple[str, tuple[str, ...]] | None:
    # Resolves a selection per crime type (~12 ms): once per data version and baseline, not every rerun.
    return best_series(tables(), baseline)


def progress(q: CrimeQuery, flags: FlagSettings, settings: ProgressSettings) -> Progress:
    """Return the plan's progress for the filters (``analysis.progress.plan_progress``)."""
    with shown_errors(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _progress(loaded().key, q, flags, settings)


@st.cache_data(show_spinner="Preparing the download…", max_entries=32)
def _progress_files(key: str, q: CrimeQuery, flags: FlagSettings, settings: ProgressSettings, fmt: str, name: str,
                    summary_name: str | None) -> dict[str, bytes]:
    return progress_files(tables(), _progress(key, q, flags, settings), fmt, name, summary_name)


def progress_export(q: CrimeQuery, flags: FlagSettings, settings: ProgressSettings, fmt: str, name: str,
                    summary_name: str | None = None) -> dict[str, bytes]:
    """Return the progress files as ``python -m analysis export progress --out NAME [--summary …]`` writes them."""
    with shown_errors(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _progress_files(loaded().key, q, flags, settings, fmt, name, summary_name)


@st.cache_data(show_spinner=False, max_entries=32)
def zip_files(files: dict[str, bytes]) -> bytes:
    """Several export files in one zip (deterministic, so the same files give the same bytes)."""
    return zip_bytes(files)


def trust_periods(measure_id: str) -> list[str]:
    """The survey year ends published for a trust measure, 'YYYY-MM-DD', oldest first."""
    with shown_errors():
        return [f"{t:%Y-%m-%d}" for t in trust_mod.trust_periods(tables(), measure_id)]


def street_points(start: str, end: str) -> tuple[dict | None, str]:
    """Return individual crimes (binned ~500 m squares) as a map layer, and a note on what it shows."""
    handle = loaded().handle
    months_with_rows = [m for m in handle.street_months() if start <= m <= end]
    if not months_with_rows:
        return None, ("Individual crimes need the built store (`python -m data_sources build`); "
                      "the embedded snapshot holds counts only." if handle.kind == "snapshot"
                      else "The store has no street-level rows for these months.")
    with shown_errors():
        layer, crimes = _street_layer(loaded().key, tuple(months_with_rows))
    return layer, (
        f"Squares of about 500 m: {crimes:,} police.uk street-level crimes with a location, "
        f"{months_with_rows[0]}–{months_with_rows[-1]} (brighter = more).")


@st.cache_data(show_spinner="Reading individual crimes…", max_entries=8)
def _street_layer(key: str, months: tuple[str, ...]) -> tuple[dict, int]:
    """The binned crimes as the map's point layer, and how many crimes they hold (encoded once, not per rerun)."""
    bins = street.street_bins(loaded().handle.read_street(list(months), columns=["longitude", "latitude"]))
    fills = [list(style.sequential_colour(float(r) - 1e-9)) for r in bins["rank"]]
    return points_payload(bins.assign(fill=fills), radius_m=230), int(bins["n"].sum())


@st.cache_data(show_spinner=False, max_entries=128)
def _trends(key: str, q: CrimeQuery, codes: tuple[str, ...]) -> pd.DataFrame:
    return area_trends(tables(), q, codes)


def profile_trend(q: CrimeQuery, area_code: str) -> pd.DataFrame:
    """Return monthly rates for an area, its borough (for a ward) and London, long format."""
    with shown_errors():
        return _trends(loaded().key, q, profile_codes(tables(), area_code))


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


@st.cache_data(show_spinner="Reading outcomes…", max_entries=8)
def _outcome_counts(key: str, months: tuple[str, ...]) -> pd.DataFrame:
    return street.outcome_counts(loaded().handle.read_street(list(months), columns=street.OUTCOME_COLUMNS))


def outcomes(area_code: str, start: str, end: str, crime_types: tuple[str, ...] = ()) -> tuple[pd.DataFrame | None,
                                                                                                str]:
    """Return the last-outcome mix of an area's police.uk street-level crimes, and a note on what it covers.

    Only months the store has street-level rows for are read (``analysis.street.outcome_mix``).
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
    return street.outcome_mix(counts, area_code, f"{months_with_rows[0]}–{months_with_rows[-1]}", crime_types)


def method_text() -> str | None:
    """Return METHOD.md from the repository when it exists (read per call: it is small)."""
    path = Path(__file__).resolve().parent.parent / "METHOD.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None
