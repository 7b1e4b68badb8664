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
one from the embedded snapshot (``data_sources.store.seed``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests

from core.errors import InputFileError
from data_sources.build.build import build_store
from data_sources.fetch.police_api import PoliceApi, SessionLike
from data_sources.fetch.publishers import (
    SOURCES,
    Progress,
    Pulled,
    SourceCheck,
    UpdateError,
    check_mps,
    check_pas,
    check_police,
    held_trust,
    placement_wards,
    pull_mps,
    pull_pas,
    pull_police,
    span,
)
from data_sources.fetch.refresh import MonthRangeError, download_archive, parse_month_range, refresh_months, select_area
from data_sources.read.police_uk_csv import discover_street_files, read_street_file
from data_sources.settings import Settings
from data_sources.store import ingested, releases
from data_sources.store.seed import base_folder
from data_sources.store.versions import DataHandle, open_data, open_store

#: The forces whose street files cover London.
LONDON_FORCES = ("metropolitan", "city-of-london", "btp")

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


def _held_data(settings: Settings) -> DataHandle:
    """The store when one is built, else the snapshot (read only)."""
    return open_data(settings)[0]


def _check_sources(sources: Sequence[str]) -> list[str]:
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise UpdateError(f"unknown source(s) {unknown!r}; choose from {list(SOURCES)!r}")
    return [s for s in SOURCES if s in sources]


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
    handle = _held_data(settings)
    out = []
    for source in chosen:
        if source == "police_uk":
            out.append(check_police(settings, handle, session))
        elif source == "mps_ward":
            out.append(check_mps(settings, handle, session))
        else:
            out.append(check_pas(settings, handle, session))
    return out


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


def _result(source: str, pulled: Pulled, before: DataHandle, after: DataHandle | None,
            manifest: dict[str, Any]) -> SourceResult:
    currency_key = source
    gaps = tuple(g["month"] for g in manifest.get("currency", {}).get(currency_key, {}).get("gaps", []))
    if after is None or (pulled.police is None and pulled.download is None):
        return SourceResult(source, (), (), 0, 0, gaps, pulled.note or "nothing new")
    if source == "pas":
        added, revised, cells = _diff_trust(held_trust(before), held_trust(after))
    else:
        table = f"counts_{source}"
        added, revised, cells = _diff_counts(before.read(table), after.read(table))
    if source == "police_uk":
        cells = 0
    parts = [f"{len(added)} month{'s' if len(added) != 1 else ''} added ({span(added)})" if added
             else "no months added"]
    if revised:
        parts.append(f"{len(revised)} revised ({span(revised)}" + (f", {cells:,} cells changed)" if cells else ")"))
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
    before = _held_data(settings)
    pulled: dict[str, Pulled] = {}
    for source in chosen:  # fetch everything first: nothing is kept until every source is in
        if source == "police_uk":
            pulled[source] = pull_police(settings, before, months, session, progress)
        elif source == "mps_ward":
            pulled[source] = pull_mps(settings, before, session, progress)
        else:
            pulled[source] = pull_pas(settings, before, session, progress)
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
    wards = placement_wards(settings)
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
