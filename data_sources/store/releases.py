"""Releases downloaded from the London Datastore (Met ward crime, MOPAC PAS), kept in the store.

The Met's ward file covers only its latest 24 months, and a PAS workbook replaces the one
before it, so every release an update downloads is kept here, under
``store/inputs/releases/<source>/``, and every later build reads them all: history grows
and never shrinks, and the newest release wins where releases overlap. Each entry records
where and when it was fetched and its checksum; files are written atomically and a
release already kept (same checksum) is not kept twice.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from data_sources.store.versions import write_atomic_bytes

REGISTRY = "registry.json"


@dataclass(frozen=True)
class KeptRelease:
    """One downloaded release: its file in the store and where, when and what it was."""

    source: str
    file: str
    title: str
    url: str
    sha256: str
    size: int
    fetched_at: str
    newest: str
    etag: str = ""
    last_modified: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def folder(store_dir: Path, source: str) -> Path:
    """Where a source's releases are kept."""
    return store_dir / "inputs" / "releases" / source


def list_releases(store_dir: Path, source: str) -> list[KeptRelease]:
    """Every kept release of ``source``, oldest fetch first (so later ones win ties)."""
    path = folder(store_dir, source) / REGISTRY
    if not path.is_file():
        return []
    entries = [KeptRelease(**e) for e in json.loads(path.read_text())]
    return sorted(entries, key=lambda e: e.fetched_at)


def release_path(store_dir: Path, release: KeptRelease) -> Path:
    return folder(store_dir, release.source) / release.file


def keep_release(store_dir: Path, source: str, file: Path, *, title: str, url: str, sha256: str, size: int,
                 fetched_at: str, newest: str, etag: str = "", last_modified: str = "") -> KeptRelease:
    """Copy a downloaded file into the store and register it (a no-op for a checksum already kept)."""
    for kept in list_releases(store_dir, source):
        if kept.sha256 == sha256:
            return kept
    dest_dir = folder(store_dir, source)
    dest_dir.mkdir(parents=True, exist_ok=True)
    name = f"{fetched_at.replace(':', '')}-{sha256[:12]}{''.join(file.suffixes[-1:])}"
    tmp = dest_dir / f".{name}.{uuid.uuid4().hex}.tmp"
    shutil.copyfile(file, tmp)
    tmp.replace(dest_dir / name)
    entry = KeptRelease(source, name, title, url, sha256, size, fetched_at, newest, etag, last_modified)
    entries = [*list_releases(store_dir, source), entry]
    write_atomic_bytes(dest_dir / REGISTRY, json.dumps([e.as_dict() for e in entries], indent=1).encode())
    return entry


def now() -> str:
    """The time stamp releases are registered with (local time, to the second)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S")
