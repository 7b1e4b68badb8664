"""What each publisher has and what to pull from it: police.uk (crime, stop and search), the Met, MOPAC's PAS.

For each source, a **check** (what the store holds against what the publisher lists, changing
nothing) and a **pull** (fetch what the store lacks into the HTTP and download caches and
hold it in memory as a :class:`Pulled`, checked). ``data_sources.fetch.update`` runs them, keeps
what was pulled and builds the new store version.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from core.errors import ApiError, CrimeTrustError, InputFileError
from data_sources.build.currency import gap_months
from data_sources.fetch.datastore import Dataset, Datastore, Download, Resource, pick_resource
from data_sources.fetch.police_api import NotPublished, PoliceApi, SessionLike
from data_sources.fetch.refresh import refresh_months
from data_sources.fetch.stop_search import LONDON_FORCES as STOP_FORCES
from data_sources.fetch.stop_search import StopsPulled, to_pull
from data_sources.fetch.stop_search import published as published_stops
from data_sources.fetch.stop_search import pull as pull_stops
from data_sources.read import lookup, mps_ward, pas
from data_sources.settings import Settings
from data_sources.store import releases
from data_sources.store.kept_stops import kept_answers
from data_sources.store.versions import DataHandle, current_version_dir, open_snapshot, open_store
from geo.london import CRS_DISPLAY

SOURCES = ("police_uk", "mps_ward", "pas", "stop_search")
SOURCE_LABELS = {
    "police_uk": "police.uk street-level crime",
    "mps_ward": "Met ward-level recorded crime (London Datastore)",
    "pas": "MOPAC Public Attitude Survey workbook (London Datastore)",
    "stop_search": "police.uk stop and search (Met and City of London, stops-force)",
}
#: The Met's ward file: dataset and the title of its resource (a case-insensitive regex).
MPS_DATASET = "recorded_crime_summary"
MPS_TITLE = r"\bward\b.*most recent 24 months"
#: MOPAC's PAS trust workbook, e.g. ``PAS_T&Cdashboard_to Q3 23-24.xlsx``.
PAS_DATASET = "mopac-surveys"
PAS_TITLE = r"PAS_T&C\s*dashboard.*?to\s*Q([1-4])\s*(\d{2})\s*-\s*(\d{2})"
_YYYYMM = re.compile(r"^(\d{4})(\d{2})$")

Progress = Callable[[str, int, int], None]
#: ``notice(source, line)``: a line to show while a source waits (a retry, a slow publisher).
Notice = Callable[[str, str], None]


class UpdateError(CrimeTrustError, ValueError):
    """An update asked for something that cannot be done (unknown source, unpublished month)."""


@dataclass(frozen=True)
class SourceCheck:
    """What one source holds and what its publisher has (``update --check``)."""

    source: str
    label: str
    newest_held: str | None
    newest_published: str | None
    to_fetch: tuple[str, ...]
    note: str
    error: str = ""


def pas_quarter_end(title: str) -> str | None:
    """The month a PAS workbook's last quarter ends, from its title (financial-year quarters).

    Examples
    --------
    >>> pas_quarter_end("PAS_T&Cdashboard_to Q3 23-24.xlsx")
    '2023-12'
    >>> pas_quarter_end("PAS_T&Cdashboard_to Q4 25-26.xlsx")
    '2026-03'
    >>> pas_quarter_end("Readme.pdf") is None
    True
    """
    m = re.search(PAS_TITLE, title, re.IGNORECASE)
    if not m:
        return None
    q, first = int(m.group(1)), 2000 + int(m.group(2))
    return f"{first + 1}-03" if q == 4 else f"{first}-{3 * q + 3:02d}"


def span(months: Sequence[str]) -> str:
    if not months:
        return "none"
    return months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"


def held_months(handle: DataHandle, table: str) -> list[str]:
    return sorted(handle.read(table, columns=["month"])["month"].astype(str).unique())


def held_trust(handle: DataHandle) -> pd.DataFrame:
    return handle.read("trust")


def _workbook_quarter(trust: pd.DataFrame) -> str | None:
    if "publication" not in trust.columns:
        return None
    book = trust[trust["publication"] == pas.WORKBOOK]
    return f"{book['period_end'].max():%Y-%m}" if len(book) else None


def _kept(settings: Settings, source: str) -> list[releases.KeptRelease]:
    return releases.list_releases(settings.store_dir, source)


def _pas_resource(dataset: Dataset) -> Resource:
    return pick_resource(dataset, PAS_TITLE, newest=lambda r: pas_quarter_end(r.title) or "",
                         what="PAS trust workbook (a title like 'PAS_T&Cdashboard_to Q3 23-24.xlsx')")


def _mps_resource(dataset: Dataset) -> Resource:
    return pick_resource(dataset, MPS_TITLE, what="ward-level file (most recent 24 months)")


def _header_months(header: str) -> list[str]:
    cols = [c.strip().strip('"') for c in header.split(",")]
    return [f"{m.group(1)}-{m.group(2)}" for c in cols if (m := _YYYYMM.match(c))]


def _published(client: PoliceApi) -> list[str]:
    """The months police.uk lists; an empty list is an error, never "up to date"."""
    published = client.available_months()
    if not published:
        raise ApiError(f"police.uk lists no published months at all ({client.base_url}/crimes-street-dates answered "
                       "an empty list); it may be mid-update — try again later (nothing was changed)")
    return published


def check_police(settings: Settings, handle: DataHandle, session: SessionLike | None) -> SourceCheck:
    held = held_months(handle, "counts_police_uk")
    newest = held[-1] if held else None
    published = _published(PoliceApi(session, settings=settings, cache=False))
    to_fetch = tuple(m for m in published if newest is None or m > newest)
    note = f"{len(to_fetch)} new month{'s' if len(to_fetch) != 1 else ''}: {span(to_fetch)}" if to_fetch \
        else "up to date"
    gaps = sorted(gap_months(handle.manifest, "police_uk"))
    if gaps:
        note += f"; gap months held ({', '.join(gaps)}) are fetched again only with --refetch"
    return SourceCheck("police_uk", SOURCE_LABELS["police_uk"], newest, published[-1] if published else None,
                       to_fetch, note)


def _held_files(handle: DataHandle, source: str) -> set[str]:
    """Checksums of the files the held data was built from (raw, seed or downloaded)."""
    files = handle.manifest.get("sources", {}).get(source, {}).get("files", [])
    return {str(f["sha256"]) for f in files if f.get("sha256")}


def check_mps(settings: Settings, handle: DataHandle, session: SessionLike | None) -> SourceCheck:
    held = held_months(handle, "counts_mps_ward")
    newest = held[-1] if held else None
    ds = Datastore(session, settings=settings, remember=False)
    res = _mps_resource(ds.dataset(MPS_DATASET))
    sha256, header = ds.fingerprint(res)
    months = _header_months(header)
    published = months[-1] if months else None
    if sha256 in {k.sha256 for k in _kept(settings, "mps_ward")} | _held_files(handle, "mps_ward"):
        return SourceCheck("mps_ward", SOURCE_LABELS["mps_ward"], newest, published, (),
                           f"up to date: the current release ({span(months)}) is held (same content)")
    new = [m for m in months if newest is None or m > newest]
    note = (f"{len(new)} new month{'s' if len(new) != 1 else ''}: {span(new)} (release covers {span(months)})"
            if new else f"a release not yet downloaded ({span(months)}); it may revise held months")
    return SourceCheck("mps_ward", SOURCE_LABELS["mps_ward"], newest, published, (res.title,), note)


def check_pas(settings: Settings, handle: DataHandle, session: SessionLike | None) -> SourceCheck:
    trust = held_trust(handle)
    newest = f"{trust['period_end'].max():%Y-%m}" if len(trust) else None
    book = _workbook_quarter(trust)
    ds = Datastore(session, settings=settings, remember=False)
    res = _pas_resource(ds.dataset(PAS_DATASET))
    published = pas_quarter_end(res.title)
    if ds.resolve(res) in {k.url for k in _kept(settings, "pas")} or (book and published and published <= book):
        return SourceCheck("pas", SOURCE_LABELS["pas"], newest, published, (),
                           f"up to date: the newest workbook ({res.title}, to {published}) is held"
                           + (f"; figures to {newest} come from other MOPAC publications" if newest != book else ""))
    return SourceCheck("pas", SOURCE_LABELS["pas"], newest, published, (res.title,),
                       f"a newer workbook: {res.title} (to {published}; the newest workbook held ends {book})")



@dataclass
class Pulled:
    """What one source fetched, held in memory until every source has been fetched."""

    source: str
    police: pd.DataFrame | None = None
    police_months: tuple[str, ...] = ()
    police_source: str = ""
    download: Download | None = None
    stops: StopsPulled | None = None
    newest: str = ""
    rows: int = 0
    note: str = ""


def placement_wards(settings: Settings) -> gpd.GeoDataFrame:
    """Ward polygons to ask police.uk for and to place crimes in: the store's, else the snapshot's."""
    if current_version_dir(settings.store_dir) is not None:
        wards = open_store(settings.store_dir).read("wards")
    else:
        wards = open_snapshot(settings.snapshot_dir).read("wards_placement")
    return wards.to_crs(CRS_DISPLAY)


def _borough_codes(handle: DataHandle) -> dict[str, str]:
    areas = handle.read("areas")
    b = areas[areas["area_level"] == "borough"]
    return {lookup.normalise_borough_name(str(n)): str(c) for c, n in zip(b["area_code"], b["area_name"],
                                                                          strict=True)}


#: Share of police.uk's London crimes that are anti-social behaviour (about 17%): a month
#: without it is scaled up by 1 / (1 - share) to plan the polygons of a month with it.
ASB_SHARE = 0.17


def expected_per_ward(counts: pd.DataFrame) -> pd.Series | None:
    """Crimes per ward expected in a new all-types month, to plan request polygons under the cap.

    Taken from the latest month holding at least 13 crime types and at least half as many
    crimes as the largest month (scaled up for anti-social behaviour when that month has
    none); None when no month qualifies.
    """
    by_month = counts.groupby("month", observed=True).agg(types=("crime_type", "nunique"), total=("count", "sum"))
    # all types, and a whole month of them (not one small force's month among burglary-only files)
    full = sorted(str(m) for m in by_month.index[(by_month["types"] >= 13)
                                                  & (by_month["total"] >= 0.5 * by_month["total"].max())])
    if not full:
        return None
    month = counts[counts["month"] == full[-1]]
    per_ward = month.groupby("area_code", observed=True)["count"].sum().astype(float)
    if "Anti-social behaviour" not in set(month["crime_type"]):
        per_ward = per_ward / (1 - ASB_SHARE)
    per_ward.index = per_ward.index.astype(str)
    return per_ward


def pull_police(settings: Settings, handle: DataHandle, refetch: Sequence[str], session: SessionLike | None,
                progress: Progress | None, notice: Notice | None = None) -> Pulled:
    client = PoliceApi(session, settings=settings, notice=_told(notice, "police_uk"))
    published = _published(client)
    held = held_months(handle, "counts_police_uk")
    newest = held[-1] if held else None
    unpublished = [m for m in refetch if m not in published]
    if unpublished:
        raise UpdateError(f"--refetch {', '.join(unpublished)}: police.uk does not list "
                          f"{'it' if len(unpublished) == 1 else 'them'}; it publishes {span(published)}")
    months = sorted({*(m for m in published if newest is None or m > newest), *refetch})
    if not months:
        return Pulled("police_uk", note=f"up to date (newest {newest})")
    wards = placement_wards(settings)
    client.edition = client.last_updated()
    expected = expected_per_ward(handle.read("counts_police_uk"))

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress("police_uk", done, total)

    try:
        frame = refresh_months(months, "london", client=client, areas_gdf=wards, progress=report, expected=expected)
    except NotPublished as e:
        raise ApiError(f"police.uk lists {span(months)} among its published months but answered 404 for their "
                       f"crimes ({e}); it may be mid-update — try again later (nothing was changed)") from e
    located = frame[frame["latitude"].notna()]["month"].value_counts()
    for month in months:
        if int(located.get(month, 0)) == 0:
            client.forget_month(month)
            raise ApiError(f"police.uk lists {month} as published but answered every polygon of London with no "
                           "crimes; it may be mid-update — try again later (nothing was changed)")
    return Pulled("police_uk", police=frame, police_months=tuple(months), rows=len(frame),
                   police_source=f"{client.base_url} ({client.edition or 'edition unknown'})")


def _told(notice: Notice | None, source: str) -> Callable[[str], None] | None:
    return None if notice is None else (lambda line: notice(source, line))


def _relabel(e: InputFileError, res: Resource) -> InputFileError:
    """The same problem, named by the publisher's dataset and title rather than a cache file name."""
    return InputFileError(res.label, e.problem, line=e.line,
                          hint=(e.hint + "; " if e.hint else "") + "nothing was changed")


def pull_mps(settings: Settings, handle: DataHandle, session: SessionLike | None,
             progress: Progress | None, notice: Notice | None = None) -> Pulled:
    ds = Datastore(session, settings=settings, notice=_told(notice, "mps_ward"))
    res = _mps_resource(ds.dataset(MPS_DATASET))
    dl = ds.download(res, expect="csv", progress=lambda d, t: progress("mps_ward", d, t) if progress else None)
    if dl.sha256 in {k.sha256 for k in _kept(settings, "mps_ward")}:
        return Pulled("mps_ward", note="up to date: the current release is held")
    known = set(handle.read("areas").query("area_level == 'ward'")["area_code"].astype(str))
    try:
        with warnings.catch_warnings():  # a stub month is reported in the note, not as a warning
            warnings.simplefilter("ignore")
            release = mps_ward.read_mps_ward_release(dl.path, known)
    except InputFileError as e:
        raise _relabel(e, res) from e
    if not release.months:
        raise InputFileError(res.label, "holds no months", hint="try again later; nothing was changed")
    short = mps_ward.short_release(release.frame, handle.read("counts_mps_ward"))
    if short:
        raise InputFileError(res.label, f"{short}: the download looks incomplete",
                             hint="try again later; nothing was changed")
    ds.confirm(dl)
    return Pulled("mps_ward", download=dl, newest=release.months[-1], rows=len(release.frame),
                   note="; ".join(n.replace(dl.path.name, res.title) for n in release.notes))


def pull_pas(settings: Settings, handle: DataHandle, session: SessionLike | None,
             progress: Progress | None, notice: Notice | None = None) -> Pulled:
    ds = Datastore(session, settings=settings, notice=_told(notice, "pas"))
    res = _pas_resource(ds.dataset(PAS_DATASET))
    quarter = pas_quarter_end(res.title) or ""
    book = _workbook_quarter(held_trust(handle))
    if ds.resolve(res) in {k.url for k in _kept(settings, "pas")} or (book and quarter <= book):
        if progress is not None:
            progress("pas", 1, 1)
        return Pulled("pas", note=f"up to date: the newest workbook ({res.title}) is held")
    dl = ds.download(res, expect="xlsx", progress=lambda d, t: progress("pas", d, t) if progress else None)
    if dl.sha256 in {k.sha256 for k in _kept(settings, "pas")}:
        return Pulled("pas", note="up to date: this workbook is held")
    try:
        rows = pas.read_pas_workbook(dl.path, _borough_codes(handle))
    except InputFileError as e:
        raise _relabel(e, res) from e
    ds.confirm(dl)
    newest = f"{rows['period_end'].max():%Y-%m}" if len(rows) else quarter
    return Pulled("pas", download=dl, newest=newest, rows=len(rows))


# -- stop and search ------------------------------------------------------------------------------


def held_force_months(handle: DataHandle) -> set[tuple[str, str]]:
    """Every (force, month) the data holds with at least one search."""
    if not handle.has("stop_search_months"):
        return set()
    m = handle.read("stop_search_months", columns=["force", "month", "searches"])
    m = m[m["searches"] > 0]
    return set(zip(m["force"].astype(str), m["month"].astype(str), strict=True))


def held_stops(settings: Settings, handle: DataHandle) -> dict[str, str | None]:
    """The newest month held per London force: in the data, or kept by an earlier run and not yet built."""
    newest: dict[str, str | None] = dict.fromkeys(STOP_FORCES)
    kept = ((force, month) for _, month, force in kept_answers(settings.store_dir))
    for force, month in [*held_force_months(handle), *kept]:
        if force in newest and (newest[force] is None or month > str(newest[force])):
            newest[force] = month
    return newest


def _stops_plan(client: PoliceApi, held: dict[str, str | None]) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    available = published_stops(client)
    return available, to_pull(available, held)


def _per_force(values: Mapping[str, str | list[str] | None]) -> str | None:
    """E.g. 'metropolitan 2025-04, city-of-london 2025-02' (None when no force has one)."""
    parts = [f"{f} {v[-1] if isinstance(v, list) else v}" for f, v in values.items() if v]
    return ", ".join(parts) or None


def _unlisted(available: dict[str, list[str]]) -> str:
    empty = [f for f, months in available.items() if not months]
    return f"; police.uk lists no stop and search month for {', '.join(empty)} (nothing to pull for it)" \
        if empty else ""


def check_stops(settings: Settings, handle: DataHandle, session: SessionLike | None) -> SourceCheck:
    held = held_stops(settings, handle)
    available, wanted = _stops_plan(PoliceApi(session, settings=settings, cache=False), held)
    fetch = tuple(f"{f} {m}" for f, m in wanted)
    note = (f"{len(fetch)} new force-month{'s' if len(fetch) != 1 else ''}: {', '.join(fetch)}" if fetch
            else "up to date") + _unlisted(available)
    return SourceCheck("stop_search", SOURCE_LABELS["stop_search"], _per_force(held), _per_force(available),
                       fetch, note)


def pull_stop_search(settings: Settings, handle: DataHandle, session: SessionLike | None,
                     progress: Progress | None, notice: Notice | None = None) -> Pulled:
    client = PoliceApi(session, settings=settings, notice=_told(notice, "stop_search"))
    held = held_stops(settings, handle)
    available, wanted = _stops_plan(client, held)
    if not wanted:
        if progress is not None:
            progress("stop_search", 1, 1)
        return Pulled("stop_search", note=f"up to date (newest {_per_force(held)}){_unlisted(available)}")
    client.edition = client.last_updated()  # answers cached before police.uk republished are not reused
    asked: list[str] = []

    def report(line: str) -> None:
        if progress is not None:
            progress("stop_search", len(asked), len(wanted))
        asked.append(line)

    stops = pull_stops(client, wanted, report)
    if progress is not None:
        progress("stop_search", len(wanted), len(wanted))
    return Pulled("stop_search", stops=stops, rows=sum(len(r) for r in stops.answers.values()),
                  newest=_per_force({f: m for (f, m) in sorted(stops.answers)}) or "",
                  note=stops.note + _unlisted(available))
