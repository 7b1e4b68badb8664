"""Bring the store up to date from every publisher, starting from a fresh clone if need be.

:func:`update_store` asks each publisher what is newest and pulls only what the store
lacks: police.uk months newer than the newest held (``crimes-street-dates``), the Met's
ward file from the London Datastore when a new release is out, and MOPAC's PAS workbook
when a newer quarter is out. :func:`check_updates` only reports, changing nothing on
disk. :func:`refresh_store` and :func:`ingest_archive` fetch chosen police.uk months or
read an archive, as before.

**Atomicity: the whole update is one step.** Every source is fetched first, into the HTTP
and download caches only; nothing is registered in the store until every requested
source has been fetched and checked. Then the pulled pieces are kept
(``store/inputs/ingested``, ``store/inputs/releases``) and one new store version is built
and published atomically (``VersionWriter``). A failure or a killed process during the
fetch leaves the store exactly as it was; the next run resumes from the caches (finished
police.uk requests are not sent again, an unchanged Datastore file is answered 304).
Killed after the fetch, the visible store is still the old one, and the pieces already
kept are picked up by the next build. On a machine without a store, the first pull seeds
one from the embedded snapshot (``data_sources.seed``).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import requests

from data_sources import ingested, lookup, mps_ward, pas, releases
from data_sources.build import build_store
from data_sources.currency import gap_months
from data_sources.datastore import Dataset, Datastore, Download, Resource, pick_resource
from data_sources.errors import ApiError, CrimeTrustError, InputFileError
from data_sources.police_api import NotPublished, PoliceApi, SessionLike
from data_sources.police_uk_csv import discover_street_files, read_street_file
from data_sources.refresh import MonthRangeError, download_archive, parse_month_range, refresh_months, select_area
from data_sources.seed import base_folder
from data_sources.settings import CRS_DISPLAY, Settings
from data_sources.store import DataHandle, current_version_dir, open_data, open_snapshot, open_store

#: The forces whose street files cover London.
LONDON_FORCES = ("metropolitan", "city-of-london", "btp")

SOURCES = ("police_uk", "mps_ward", "pas")
SOURCE_LABELS = {
    "police_uk": "police.uk street-level crime",
    "mps_ward": "Met ward-level recorded crime (London Datastore)",
    "pas": "MOPAC Public Attitude Survey workbook (London Datastore)",
}
#: The Met's ward file: dataset and the title of its resource (a case-insensitive regex).
MPS_DATASET = "recorded_crime_summary"
MPS_TITLE = r"\bward\b.*most recent 24 months"
#: MOPAC's PAS trust workbook, e.g. ``PAS_T&Cdashboard_to Q3 23-24.xlsx``.
PAS_DATASET = "mopac-surveys"
PAS_TITLE = r"PAS_T&C\s*dashboard.*?to\s*Q([1-4])\s*(\d{2})\s*-\s*(\d{2})"
_YYYYMM = re.compile(r"^(\d{4})(\d{2})$")

Progress = Callable[[str, int, int], None]


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


@dataclass(frozen=True)
class SourceResult:
    """What an update did to one source."""

    source: str
    months_added: tuple[str, ...]
    months_revised: tuple[str, ...]
    rows: int
    cells_changed: int
    gaps: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class UpdateReport:
    """Every source's result, and the store manifest after the update (unchanged: the current one)."""

    results: tuple[SourceResult, ...]
    manifest: dict


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


def _span(months: Sequence[str]) -> str:
    if not months:
        return "none"
    return months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"


def _check_sources(sources: Sequence[str]) -> list[str]:
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise UpdateError(f"unknown source(s) {unknown!r}; choose from {list(SOURCES)!r}")
    return [s for s in SOURCES if s in sources]


# -- what is held ------------------------------------------------------------------------------


def _handle(settings: Settings) -> DataHandle:
    """The store when one is built, else the snapshot (read only)."""
    return open_data(settings)[0]


def _months(handle: DataHandle, table: str) -> list[str]:
    return sorted(handle.read(table, columns=["month"])["month"].astype(str).unique())


def _trust(handle: DataHandle) -> pd.DataFrame:
    return handle.read("trust")


def _workbook_quarter(trust: pd.DataFrame) -> str | None:
    if "publication" not in trust.columns:
        return None
    book = trust[trust["publication"] == pas.WORKBOOK]
    return f"{book['period_end'].max():%Y-%m}" if len(book) else None


def _kept(settings: Settings, source: str) -> list[releases.KeptRelease]:
    return releases.list_releases(settings.store_dir, source) if current_version_dir(settings.store_dir) else []


def _pas_resource(dataset: Dataset) -> Resource:
    return pick_resource(dataset, PAS_TITLE, newest=lambda r: pas_quarter_end(r.title) or "",
                         what="PAS trust workbook (a title like 'PAS_T&Cdashboard_to Q3 23-24.xlsx')")


def _mps_resource(dataset: Dataset) -> Resource:
    return pick_resource(dataset, MPS_TITLE, what="ward-level file (most recent 24 months)")


def _header_months(header: str) -> list[str]:
    cols = [c.strip().strip('"') for c in header.split(",")]
    return [f"{m.group(1)}-{m.group(2)}" for c in cols if (m := _YYYYMM.match(c))]


# -- check ---------------------------------------------------------------------------------------


def check_updates(settings: Settings, *, sources: Sequence[str] = SOURCES,
                  session: SessionLike | None = None) -> list[SourceCheck]:
    """Ask each publisher what is newest and say what an update would fetch; change nothing on disk.

    Parameters
    ----------
    settings
        Store, snapshot, cache and publishers' URLs.
    sources
        Any of :data:`SOURCES`.
    session
        ``requests.Session`` or look-alike for both publishers (tests pass a local one).

    Raises
    ------
    OfflineError
        When a publisher cannot be reached.
    CrimeTrustError
        For anything else (a renamed resource, an error page, an unknown source).
    """
    chosen = _check_sources(sources)
    handle = _handle(settings)
    out = []
    for source in chosen:
        if source == "police_uk":
            out.append(_check_police(settings, handle, session))
        elif source == "mps_ward":
            out.append(_check_mps(settings, handle, session))
        else:
            out.append(_check_pas(settings, handle, session))
    return out


def _check_police(settings: Settings, handle: DataHandle, session: SessionLike | None) -> SourceCheck:
    held = _months(handle, "counts_police_uk")
    newest = held[-1] if held else None
    published = PoliceApi(session, settings=settings, cache=False).available_months()
    to_fetch = tuple(m for m in published if newest is None or m > newest)
    note = f"{len(to_fetch)} new month{'s' if len(to_fetch) != 1 else ''}: {_span(to_fetch)}" if to_fetch \
        else "up to date"
    gaps = sorted(gap_months(handle.manifest, "police_uk"))
    if gaps:
        note += f"; gap months held ({', '.join(gaps)}) are fetched again only with --refetch"
    return SourceCheck("police_uk", SOURCE_LABELS["police_uk"], newest, published[-1] if published else None,
                       to_fetch, note)


def _check_mps(settings: Settings, handle: DataHandle, session: SessionLike | None) -> SourceCheck:
    held = _months(handle, "counts_mps_ward")
    newest = held[-1] if held else None
    ds = Datastore(session, settings=settings, remember=False)
    res = _mps_resource(ds.dataset(MPS_DATASET))
    months = _header_months(ds.first_line(res))
    published = months[-1] if months else None
    if ds.resolve(res) in {k.url for k in _kept(settings, "mps_ward")}:
        return SourceCheck("mps_ward", SOURCE_LABELS["mps_ward"], newest, published, (),
                           f"up to date: the current release ({_span(months)}) is held")
    new = [m for m in months if newest is None or m > newest]
    note = (f"{len(new)} new month{'s' if len(new) != 1 else ''}: {_span(new)} (release covers {_span(months)})"
            if new else f"a release not yet downloaded ({_span(months)}); it may revise held months")
    return SourceCheck("mps_ward", SOURCE_LABELS["mps_ward"], newest, published, (res.title,), note)


def _check_pas(settings: Settings, handle: DataHandle, session: SessionLike | None) -> SourceCheck:
    trust = _trust(handle)
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


# -- update --------------------------------------------------------------------------------------


@dataclass
class _Pulled:
    """What one source fetched, held in memory until every source has been fetched."""

    source: str
    police: pd.DataFrame | None = None
    police_months: tuple[str, ...] = ()
    police_source: str = ""
    download: Download | None = None
    newest: str = ""
    rows: int = 0
    note: str = ""


def _placement_wards(settings: Settings) -> gpd.GeoDataFrame:
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


def _pull_police(settings: Settings, handle: DataHandle, refetch: Sequence[str], session: SessionLike | None,
                 progress: Progress | None) -> _Pulled:
    client = PoliceApi(session, settings=settings)
    published = client.available_months()
    held = _months(handle, "counts_police_uk")
    newest = held[-1] if held else None
    unpublished = [m for m in refetch if m not in published]
    if unpublished:
        raise UpdateError(f"--refetch {', '.join(unpublished)}: police.uk does not list "
                          f"{'it' if len(unpublished) == 1 else 'them'}; it publishes {_span(published)}")
    months = sorted({*(m for m in published if newest is None or m > newest), *refetch})
    if not months:
        return _Pulled("police_uk", note=f"up to date (newest {newest})")
    wards = _placement_wards(settings)
    client.edition = client.last_updated()
    expected = expected_per_ward(handle.read("counts_police_uk"))

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress("police_uk", done, total)

    try:
        frame = refresh_months(months, "london", client=client, areas_gdf=wards, progress=report, expected=expected)
    except NotPublished as e:
        raise ApiError(f"police.uk lists {_span(months)} among its published months but answered 404 for their "
                       f"crimes ({e}); it may be mid-update — try again later (nothing was changed)") from e
    located = frame[frame["latitude"].notna()]["month"].value_counts()
    for month in months:
        if int(located.get(month, 0)) == 0:
            client.forget_month(month)
            raise ApiError(f"police.uk lists {month} as published but answered every polygon of London with no "
                           "crimes; it may be mid-update — try again later (nothing was changed)")
    return _Pulled("police_uk", police=frame, police_months=tuple(months), rows=len(frame),
                   police_source=f"{client.base_url} ({client.edition or 'edition unknown'})")


def _relabel(e: InputFileError, res: Resource) -> InputFileError:
    """The same problem, named by the publisher's dataset and title rather than a cache file name."""
    return InputFileError(res.label, e.problem, line=e.line,
                          hint=(e.hint + "; " if e.hint else "") + "nothing was changed")


def _pull_mps(settings: Settings, handle: DataHandle, session: SessionLike | None,
              progress: Progress | None) -> _Pulled:
    ds = Datastore(session, settings=settings)
    res = _mps_resource(ds.dataset(MPS_DATASET))
    dl = ds.download(res, expect="csv", progress=lambda d, t: progress("mps_ward", d, t) if progress else None)
    if dl.sha256 in {k.sha256 for k in _kept(settings, "mps_ward")}:
        return _Pulled("mps_ward", note="up to date: the current release is held")
    known = set(handle.read("areas").query("area_level == 'ward'")["area_code"].astype(str))
    try:
        with warnings.catch_warnings():  # a stub month is reported in the note, not as a warning
            warnings.simplefilter("ignore")
            release = mps_ward.read_mps_ward_release(dl.path, known)
    except InputFileError as e:
        raise _relabel(e, res) from e
    if not release.months:
        raise InputFileError(res.label, "holds no months", hint="try again later; nothing was changed")
    return _Pulled("mps_ward", download=dl, newest=release.months[-1], rows=len(release.frame),
                   note="; ".join(n.replace(dl.path.name, res.title) for n in release.notes))


def _pull_pas(settings: Settings, handle: DataHandle, session: SessionLike | None,
              progress: Progress | None) -> _Pulled:
    ds = Datastore(session, settings=settings)
    res = _pas_resource(ds.dataset(PAS_DATASET))
    quarter = pas_quarter_end(res.title) or ""
    book = _workbook_quarter(_trust(handle))
    if ds.resolve(res) in {k.url for k in _kept(settings, "pas")} or (book and quarter <= book):
        if progress is not None:
            progress("pas", 1, 1)
        return _Pulled("pas", note=f"up to date: the newest workbook ({res.title}) is held")
    dl = ds.download(res, expect="xlsx", progress=lambda d, t: progress("pas", d, t) if progress else None)
    if dl.sha256 in {k.sha256 for k in _kept(settings, "pas")}:
        return _Pulled("pas", note="up to date: this workbook is held")
    try:
        rows = pas.read_pas_workbook(dl.path, _borough_codes(handle))
    except InputFileError as e:
        raise _relabel(e, res) from e
    newest = f"{rows['period_end'].max():%Y-%m}" if len(rows) else quarter
    return _Pulled("pas", download=dl, newest=newest, rows=len(rows))


def _diff_counts(before: pd.DataFrame, after: pd.DataFrame) -> tuple[list[str], list[str], int]:
    """Months added, months whose cells changed, and cells changed (ward × type × month; absent = 0)."""
    keys = ["area_code", "month", "crime_type"]

    def cells(frame: pd.DataFrame) -> pd.Series:  # categories: grouping Arrow strings is ~10x slower
        return frame.astype({k: "category" for k in keys}).groupby(keys, observed=True)["count"].sum()

    old, new = cells(before), cells(after)
    old.index = old.index.set_levels([lvl.astype(str) for lvl in old.index.levels])
    new.index = new.index.set_levels([lvl.astype(str) for lvl in new.index.levels])
    old_months, new_months = set(before["month"].astype(str)), set(after["month"].astype(str))
    both = pd.concat([old.rename("old"), new.rename("new")], axis=1).fillna(0)
    both = both[both.index.get_level_values("month").isin(old_months & new_months)]
    changed = both[both["old"] != both["new"]]
    revised = sorted(set(changed.index.get_level_values("month").astype(str)))
    return sorted(new_months - old_months), revised, len(changed)


def _diff_trust(before: pd.DataFrame, after: pd.DataFrame) -> tuple[list[str], list[str], int]:
    """Quarter ends added, quarter ends with changed values, and values changed."""
    keys = ["area_code", "period_end", "measure_id"]
    old, new = before.set_index(keys)["proportion"], after.set_index(keys)["proportion"]
    old_q = {f"{d:%Y-%m}" for d in before["period_end"]}
    new_q = {f"{d:%Y-%m}" for d in after["period_end"]}
    common = old.index.intersection(new.index)
    differs = np.abs(old.loc[common].to_numpy() - new.loc[common].to_numpy()) >= 5e-4
    revised = sorted({f"{d:%Y-%m}" for d in common[differs].get_level_values("period_end")})
    return sorted(new_q - old_q), revised, int(differs.sum())


def _result(source: str, pulled: _Pulled, before: DataHandle, after: DataHandle | None,
            manifest: dict[str, Any]) -> SourceResult:
    currency_key = source
    gaps = tuple(g["month"] for g in manifest.get("currency", {}).get(currency_key, {}).get("gaps", []))
    if after is None or (pulled.police is None and pulled.download is None):
        return SourceResult(source, (), (), 0, 0, gaps, pulled.note or "nothing new")
    if source == "pas":
        added, revised, cells = _diff_trust(_trust(before), _trust(after))
    else:
        table = f"counts_{source}"
        added, revised, cells = _diff_counts(before.read(table), after.read(table))
    if source == "police_uk":
        cells = 0
    parts = [f"{len(added)} month{'s' if len(added) != 1 else ''} added ({_span(added)})" if added
             else "no months added"]
    if revised:
        parts.append(f"{len(revised)} revised ({_span(revised)}" + (f", {cells:,} cells changed)" if cells else ")"))
    if gaps:
        parts.append(f"gaps: {', '.join(gaps)}")
    if pulled.note:
        parts.append(pulled.note)
    return SourceResult(source, tuple(added), tuple(revised), pulled.rows, cells, gaps, "; ".join(parts))


def update_store(settings: Settings, *, sources: Sequence[str] = SOURCES, refetch: Sequence[str] = (),
                 session: SessionLike | None = None, progress: Progress | None = None) -> UpdateReport:
    """Pull from each publisher what the store lacks, then build one new store version.

    Parameters
    ----------
    settings
        Store, snapshot, cache and publishers' URLs (``POLICE_API_URL``, ``LONDON_DATASTORE_URL``).
    sources
        Any of :data:`SOURCES` (default all).
    refetch
        police.uk months (``YYYY-MM`` or ``YYYY-MM..YYYY-MM``) to fetch again although held;
        the fetched month replaces the held one.
    session
        ``requests.Session`` or look-alike for both publishers.
    progress
        ``progress(source, done, total)``: requests for police.uk, bytes for downloads.

    Returns
    -------
    UpdateReport
        Per source: months added and revised, rows fetched, cells changed, gap months.

    Raises
    ------
    OfflineError
        When a publisher cannot be reached (the store is unchanged).
    CrimeTrustError
        For anything else: a renamed resource, an error page, a truncated file, a month
        police.uk lists but does not serve (the store is unchanged).
    """
    chosen = _check_sources(sources)
    try:
        months = sorted({m for text in refetch for m in parse_month_range(text)})
    except MonthRangeError as e:
        raise UpdateError(f"--refetch: {e}") from e
    if months and "police_uk" not in chosen:
        raise UpdateError("--refetch applies to police.uk; add --source police_uk")
    before = _handle(settings)
    pulled: dict[str, _Pulled] = {}
    for source in chosen:  # fetch everything first: nothing is kept until every source is in
        if source == "police_uk":
            pulled[source] = _pull_police(settings, before, months, session, progress)
        elif source == "mps_ward":
            pulled[source] = _pull_mps(settings, before, session, progress)
        else:
            pulled[source] = _pull_pas(settings, before, session, progress)
    if not any(p.police is not None or p.download is not None for p in pulled.values()):
        return UpdateReport(tuple(_result(s, pulled[s], before, None, before.manifest) for s in chosen),
                            before.manifest)
    base = base_folder(settings.store_dir, settings.snapshot_dir)
    police = pulled.get("police_uk")
    if police is not None and police.police is not None:
        for month in police.police_months:
            ingested.register(settings.store_dir, police.police, kind="api", month=month, scope="London",
                              source=police.police_source)
    for source in ("mps_ward", "pas"):
        got = pulled.get(source)
        if got is not None and got.download is not None:
            dl = got.download
            releases.keep_release(settings.store_dir, source, dl.path, title=dl.resource.title, url=dl.url,
                                  sha256=dl.sha256, size=dl.size, fetched_at=dl.fetched_at, newest=got.newest,
                                  etag=dl.etag, last_modified=dl.last_modified)
    manifest = build_store(base, settings.store_dir)
    after = open_store(settings.store_dir)
    return UpdateReport(tuple(_result(s, pulled[s], before, after, manifest) for s in chosen), manifest)


# -- refresh (chosen months) and archives ---------------------------------------------------------


def refresh_store(months: list[str], area: str, *, settings: Settings, client: PoliceApi | None = None,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Fetch ``months`` for ``area`` from the API, keep them, and rebuild the store.

    On a machine without a store, the store is first seeded from the embedded snapshot.

    Returns
    -------
    dict
        The new store manifest.
    """
    wards = _placement_wards(settings)
    label, chosen = select_area(area, wards)
    client = client or PoliceApi(settings=settings)
    frame = refresh_months(months, area, client=client, areas_gdf=wards, progress=progress)
    base = base_folder(settings.store_dir, settings.snapshot_dir)
    covered = () if label == "London" else tuple(chosen["ward_code"])
    for month in months:
        ingested.register(settings.store_dir, frame, kind="api", month=month, scope=label,
                          source=f"{client.base_url} ({client.edition or 'edition unknown'})", wards=covered)
    return build_store(base, settings.store_dir)


def ingest_archive(path_or_url: str, *, settings: Settings, session: requests.Session | None = None,
                   progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Read the London forces' street files from an archive zip (path or URL) and rebuild the store.

    The zip is read member by member through the bulk CSV reader, never extracted. A URL
    is downloaded once into the cache folder. On a machine without a store, the store is
    first seeded from the embedded snapshot.
    """
    path = download_archive(path_or_url, session=session, settings=settings)
    members = [s for s in discover_street_files(path) if s.force in LONDON_FORCES]
    if not members:
        raise InputFileError(path, "holds no London street files (YYYY-MM/YYYY-MM-<force>-street.csv)",
                             hint="use a data.police.uk archive that includes the Met")
    frames = []
    for src in members:
        if progress:
            progress(Path(src.name).name)
        frame, _ = read_street_file(src)
        frames.append((src, frame))
    base = base_folder(settings.store_dir, settings.snapshot_dir)
    for src, frame in frames:
        force = frame["reported_by"].dropna()
        ingested.register(settings.store_dir, frame, kind="archive", month=src.month,
                          scope=str(force.iloc[0]) if len(force) else src.force, source=src.name)
    return build_store(base, settings.store_dir)
