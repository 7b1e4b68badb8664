"""Bring the store up to date from the live police.uk API or a data.police.uk archive.

Both paths fetch, keep what they fetched under ``store/inputs/ingested`` (so history
beyond police.uk's ~36-month window survives), then rebuild the store, which switches to
the new version atomically. A refresh killed part-way resumes from the HTTP cache and
repeats no finished request; the visible store changes only when the rebuild completes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from data_sources.build import build_store
from data_sources.errors import InputFileError
from data_sources.ingested import register
from data_sources.police_api import PoliceApi
from data_sources.police_uk_csv import discover_street_files, read_street_file
from data_sources.refresh import download_archive, refresh_months, select_area
from data_sources.settings import CRS_DISPLAY, Settings
from data_sources.store import open_store

#: The forces whose street files cover London.
LONDON_FORCES = ("metropolitan", "city-of-london", "btp")


def refresh_store(months: list[str], area: str, *, settings: Settings, client: PoliceApi | None = None,
                  progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Fetch ``months`` for ``area`` from the API, keep them, and rebuild the store.

    Needs a built store (for the ward polygons and the raw data folder it was built from).

    Returns
    -------
    dict
        The new store manifest.
    """
    handle = open_store(settings.store_dir)
    wards = handle.read("wards").to_crs(CRS_DISPLAY)
    label, chosen = select_area(area, wards)
    client = client or PoliceApi(settings=settings)
    frame = refresh_months(months, area, client=client, areas_gdf=wards, progress=progress)
    covered = () if label == "London" else tuple(chosen["ward_code"])
    for month in months:
        register(settings.store_dir, frame, kind="api", month=month, scope=label,
                 source=f"{client.base_url} ({client.edition or 'edition unknown'})", wards=covered)
    return build_store(Path(handle.manifest["data_dir"]), settings.store_dir)


def ingest_archive(path_or_url: str, *, settings: Settings, session: requests.Session | None = None,
                   progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Read the London forces' street files from an archive zip (path or URL) and rebuild the store.

    The zip is read member by member through the bulk CSV reader, never extracted. A URL
    is downloaded once into the cache folder.
    """
    handle = open_store(settings.store_dir)
    path = download_archive(path_or_url, session=session, settings=settings)
    members = [s for s in discover_street_files(path) if s.force in LONDON_FORCES]
    if not members:
        raise InputFileError(path, "holds no London street files (YYYY-MM/YYYY-MM-<force>-street.csv)",
                             hint="use a data.police.uk archive that includes the Met")
    for src in members:
        if progress:
            progress(Path(src.name).name)
        frame, _ = read_street_file(src)
        force = frame["reported_by"].dropna()
        register(settings.store_dir, frame, kind="archive", month=src.month,
                 scope=str(force.iloc[0]) if len(force) else src.force, source=src.name)
    return build_store(Path(handle.manifest["data_dir"]), settings.store_dir)
