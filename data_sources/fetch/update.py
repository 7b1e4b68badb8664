"""Bring the store up to date from every publisher, starting from a fresh clone if need be.

:func:`update_store` asks each publisher what is newest and pulls only what the store
lacks: police.uk months newer than the newest held (``crimes-street-dates``), the Met's
ward file from the London Datastore when a new release is out, MOPAC's PAS workbook
when a newer quarter is out, and police.uk's stop and search for each London force and
month newer than the newest held (``stops-force``, one request per force and month).
:func:`check_updates` only reports, changing nothing on disk. :func:`refresh_store` and
:func:`ingest_archive` fetch chosen police.uk months or read an archive, as before.

**One run at a time, each source on its own.** A run holds the store's lock
(``data_sources.store.lock``); a second run waits briefly, then stops saying another
update is running (exit 4). Every source is fetched first, into the HTTP and download
caches only, and checked whole (Content-Length, the checksum the catalogue states, every
month column of the header, rows per month against the data held; a validator is kept
only with a body that passed). A source that fails is reported and left as it was; the
others are kept (``store/inputs/ingested``, ``store/inputs/releases``,
``store/inputs/stop_search``) and one new store
version is built and published atomically (``VersionWriter``); ``all_or_nothing`` keeps
nothing when any source fails. **Resume is decided by the store**: whatever is kept but
not in the live version (``data_sources.store.unbuilt``: a run killed between keeping and
publishing) is built by the next run, whatever the publishers say then. A killed fetch
leaves the store as it was and the next run resumes from the caches (finished police.uk
requests are not sent again). On a machine without a store, the first pull seeds one
from the embedded snapshot (``data_sources.store.seed``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests

from core.errors import CrimeTrustError, InputFileError, OfflineError
from data_sources.build.build import build_store
from data_sources.fetch.police_api import PoliceApi, SessionLike
from data_sources.fetch.publishers import (
    SOURCE_LABELS,
    SOURCES,
    Notice,
    Progress,
    Pulled,
    SourceCheck,
    UpdateError,
    check_mps,
    check_pas,
    check_police,
    check_stops,
    held_force_months,
    held_trust,
    placement_wards,
    pull_mps,
    pull_pas,
    pull_police,
    pull_stop_search,
    span,
)
from data_sources.fetch.refresh import MonthRangeError, download_archive, parse_month_range, refresh_months, select_area
from data_sources.read.police_uk_csv import discover_street_files, read_street_file
from data_sources.settings import Settings
from data_sources.store import ingested, releases
from data_sources.store.lock import store_lock
from data_sources.store.seed import base_folder
from data_sources.store.unbuilt import unbuilt
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
    error: str = ""


#: Exit codes of ``python -m data_sources update`` (documented in the README and RELIABILITY.md).
EXIT_OK, EXIT_FAILED, EXIT_SOME_FAILED, EXIT_BUSY = 0, 2, 3, 4


@dataclass(frozen=True)
class UpdateReport:
    """Every source's result, the store manifest after the update (unchanged: the current one), and whether it built."""

    results: tuple[SourceResult, ...]
    manifest: dict
    built: bool = False

    @property
    def failed(self) -> tuple[SourceResult, ...]:
        return tuple(r for r in self.results if r.error)

    @property
    def exit_code(self) -> int:
        """0 when every source is up to date or updated, 3 when some failed (the others were updated)."""
        return EXIT_SOME_FAILED if self.failed else EXIT_OK


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

    Returns
    -------
    list[SourceCheck]
        One per source; a source whose publisher answered wrongly has ``error`` set (the
        others are still checked). A release fetched but not yet built is listed too.

    Raises
    ------
    OfflineError
        When a publisher cannot be reached.
    UpdateError
        For an unknown source.
    """
    chosen = _check_sources(sources)
    handle = _held_data(settings)
    pending = unbuilt(settings)
    out = []
    for source in chosen:
        check = {"police_uk": check_police, "mps_ward": check_mps, "pas": check_pas,
                 "stop_search": check_stops}[source]
        try:
            got = check(settings, handle, session)
        except OfflineError:
            raise
        except CrimeTrustError as e:  # one publisher's fault does not hide the others' answers
            got = SourceCheck(source, SOURCE_LABELS[source], None, None, (), f"the check failed: {e}", error=str(e))
        waiting = [u.what for u in pending if u.source == source]
        if waiting:
            got = replace(got, to_fetch=(*got.to_fetch, *(f"build {w}" for w in waiting)),
                          note=f"{got.note}; fetched but not yet in the store: {'; '.join(waiting)} "
                               "(the next update builds it)")
        out.append(got)
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


def _result(source: str, pulled: Pulled | None, before: DataHandle, after: DataHandle | None,
            manifest: dict[str, Any], error: CrimeTrustError | None = None) -> SourceResult:
    gaps = tuple(g["month"] for g in manifest.get("currency", {}).get(source, {}).get("gaps", []))
    if pulled is None:
        return SourceResult(source, (), (), 0, 0, gaps, f"FAILED: {error}", error=str(error))
    if after is None:
        return SourceResult(source, (), (), 0, 0, gaps, pulled.note or "nothing new")
    if source == "stop_search":
        return _stops_result(pulled, before, after, manifest)
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
    if pulled.note and (pulled.police is not None or pulled.download is not None):
        parts.append(pulled.note)
    return SourceResult(source, tuple(added), tuple(revised), pulled.rows, cells, gaps, "; ".join(parts))


def _stops_result(pulled: Pulled, before: DataHandle, after: DataHandle, manifest: dict[str, Any]) -> SourceResult:
    """Force-months added to the store, and those among them that are coverage gaps (named)."""
    added = sorted(held_force_months(after) - held_force_months(before), key=lambda fm: (fm[1], fm[0]))
    gaps = [g for g in manifest.get("sources", {}).get("stop_search", {}).get("gaps", [])
            if (str(g["force"]), str(g["month"])) in set(added)]
    months = tuple(sorted({m for _, m in added}))
    parts = [f"{len(added)} force-month{'s' if len(added) != 1 else ''} added "
             f"({', '.join(f'{f} {m}' for f, m in added)})" if added else "no months added"]
    if gaps:
        parts.append("coverage gaps: " + "; ".join(f"{g['force']} {g['month']} ({g['reason']})" for g in gaps))
    if pulled.stops is not None and pulled.stops.answers:
        parts.append(pulled.note)
    return SourceResult("stop_search", months, (), pulled.rows, 0, tuple(str(g["month"]) for g in gaps),
                        "; ".join(parts))


def _pull(source: str, settings: Settings, before: DataHandle, months: list[str], session: SessionLike | None,
          progress: Progress | None, notice: Notice | None) -> Pulled:
    if source == "police_uk":
        return pull_police(settings, before, months, session, progress, notice)
    pull = {"mps_ward": pull_mps, "pas": pull_pas, "stop_search": pull_stop_search}[source]
    return pull(settings, before, session, progress, notice)


def _all_failed(failed: dict[str, CrimeTrustError]) -> CrimeTrustError:
    """The error to raise when no source could be pulled: the one error, or every source's in one line."""
    errors = list(failed.values())
    if len(errors) == 1 or all(isinstance(e, OfflineError) for e in errors):
        return errors[0]
    return UpdateError("no source could be updated: " + "; ".join(f"{s}: {e}" for s, e in failed.items()))


def _keep(settings: Settings, pulled: dict[str, Pulled]) -> None:
    """Keep what was pulled in the store's inputs (the next build, or the next run, builds it)."""
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
    stops = pulled.get("stop_search")
    if stops is not None and stops.stops is not None:
        stops.stops.keep(settings.store_dir)


def update_store(settings: Settings, *, sources: Sequence[str] = SOURCES, refetch: Sequence[str] = (),
                 session: SessionLike | None = None, progress: Progress | None = None,
                 notice: Notice | None = None, all_or_nothing: bool = False,
                 lock_wait_s: float | None = None) -> UpdateReport:
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
    notice
        ``notice(source, line)``: a line while a source waits (a retry) or about the run
        (a stale lock, a build a killed run left unfinished).
    all_or_nothing
        When one source fails, keep nothing at all (the default keeps and builds the
        sources that succeeded, and reports the failed ones in :attr:`UpdateReport.failed`).
    lock_wait_s
        How long to wait for another run's lock (default ``$CRIME_TRUST_LOCK_WAIT_S``, 10 s).

    Returns
    -------
    UpdateReport
        Per source: months added and revised, rows fetched, cells changed, gap months, or
        the error that stopped it.

    Raises
    ------
    StoreBusyError
        When another update holds the store's lock (nothing was changed).
    OfflineError
        When no publisher can be reached (the store is unchanged).
    CrimeTrustError
        When no source could be updated (or, with ``all_or_nothing``, any could not): a
        renamed resource, an error page, a truncated file, a month police.uk lists but
        does not serve (the store is unchanged).
    """
    chosen = _check_sources(sources)
    try:
        months = sorted({m for text in refetch for m in parse_month_range(text)})
    except MonthRangeError as e:
        raise UpdateError(f"--refetch: {e}") from e
    if months and "police_uk" not in chosen:
        raise UpdateError("--refetch applies to police.uk; add --source police_uk")
    say = (lambda line: notice("store", line)) if notice is not None else None
    with store_lock(settings.store_dir, wait_s=lock_wait_s, say=say) as stale:
        if stale is not None and say is not None:
            say(f"a previous update ({stale.describe()}) was cut off; finishing what it left")
        left = unbuilt(settings)
        if left and say is not None:
            say("an earlier run fetched but did not build: " + "; ".join(f"{u.source} {u.what}" for u in left)
                + "; this run builds it")
        before = _held_data(settings)
        pulled: dict[str, Pulled] = {}
        failed: dict[str, CrimeTrustError] = {}
        for source in chosen:  # fetch everything first: nothing is kept until every source has answered
            try:
                pulled[source] = _pull(source, settings, before, months, session, progress, notice)
            except CrimeTrustError as e:
                if all_or_nothing:
                    others = [s for s in chosen if s != source]
                    e.args = (f"{e} [all or nothing: no source was kept" + (
                        f"; to update the others meanwhile: python -m data_sources update "
                        f"{' '.join('--source ' + s for s in others)}]" if others else "]"),)
                    raise
                failed[source] = e
        if not pulled:
            raise _all_failed(failed)
        _keep(settings, pulled)
        pending = unbuilt(settings)
        if not pending:
            return UpdateReport(tuple(_result(s, pulled.get(s), before, None, before.manifest, failed.get(s))
                                      for s in chosen), before.manifest, built=False)
        manifest = build_store(base_folder(settings.store_dir, settings.snapshot_dir), settings.store_dir)
        after = open_store(settings.store_dir)
        return UpdateReport(tuple(_result(s, pulled.get(s), before, after, manifest, failed.get(s))
                                  for s in chosen), manifest, built=True)


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
    covered = () if label == "London" else tuple(chosen["ward_code"])
    with store_lock(settings.store_dir, what="refresh"):
        base = base_folder(settings.store_dir, settings.snapshot_dir)
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
    with store_lock(settings.store_dir, what="archive read"):
        base = base_folder(settings.store_dir, settings.snapshot_dir)
        for src, frame in frames:
            force = frame["reported_by"].dropna()
            ingested.register(settings.store_dir, frame, kind="archive", month=src.month,
                              scope=str(force.iloc[0]) if len(force) else src.force, source=src.name)
        return build_store(base, settings.store_dir)
