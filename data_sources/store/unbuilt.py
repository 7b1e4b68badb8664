"""What the store has kept but its live version was not built from: the work a killed run left.

An update keeps what it pulled (``store/inputs/ingested``, ``store/inputs/releases``,
``store/inputs/stop_search``) and
then builds. Killed in between, the pieces are kept but not in the store anyone sees. The
next run must finish that build, whatever the publishers say now, so resume is decided by
comparing the kept pieces with the live version's manifest (which lists every piece it was
built from with its checksum), never by a registry of what was downloaded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from data_sources.settings import Settings
from data_sources.store import ingested, releases
from data_sources.store.kept_stops import kept_answers
from data_sources.store.versions import current_version_dir, open_store


@dataclass(frozen=True)
class Unbuilt:
    """One kept piece the live version lacks: its source and what it is, in words."""

    source: str
    what: str


def _live_manifest(settings: Settings) -> dict[str, Any]:
    """The live version's manifest ({} when nothing has been built)."""
    return open_store(settings.store_dir).manifest if current_version_dir(settings.store_dir) is not None else {}


def _built_checksums(manifest: dict[str, Any], source: str) -> set[str]:
    if source == "stop_search":  # every file the step read, kept answers included, with its checksum
        fetched = manifest.get("sources", {}).get(source, {}).get("files", [])
    else:
        fetched = manifest.get("currency", {}).get(source, {}).get("fetched", [])
    return {str(f.get("sha256")) for f in fetched if f.get("sha256")}


def unbuilt(settings: Settings) -> list[Unbuilt]:
    """Every piece kept in the store that the live version was not built from (empty: nothing to finish)."""
    out = []
    manifest = _live_manifest(settings)  # read once for every source
    built = _built_checksums(manifest, "police_uk")
    for entry in ingested.list_ingested(settings.store_dir):
        if entry.sha256 not in built:
            out.append(Unbuilt("police_uk", f"{entry.month} {entry.scope} (fetched {entry.fetched_at})"))
    for source in ("mps_ward", "pas"):
        built = _built_checksums(manifest, source)
        for rel in releases.list_releases(settings.store_dir, source):
            if rel.sha256 not in built:
                out.append(Unbuilt(source, f"{rel.title} (fetched {rel.fetched_at})"))
    built = _built_checksums(manifest, "stop_search")
    for path, month, force in kept_answers(settings.store_dir):
        if hashlib.sha256(path.read_bytes()).hexdigest() not in built:
            out.append(Unbuilt("stop_search", f"{force} {month} (stops-force answer kept)"))
    return out
