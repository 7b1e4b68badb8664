"""police.uk ``stops-force`` answers kept in the store, one file per force and month, for every build.

``update`` pulls a month of stop and search with the API's ``stops-force`` endpoint and keeps
the answer as it came (gzipped JSON) under ``store/inputs/stop_search/<force>/YYYY-MM.json.gz``,
written through a temporary name, so a killed update leaves a whole file or none. Every build
reads them with the API reader (``data_sources.read.stop_search_api``) beside the raw data's;
a kept answer replaces the raw folder's answer for the same force and month, and a bulk file
replaces both.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from data_sources.store.versions import write_atomic_bytes

#: Where kept answers live inside a store.
KEPT = "inputs/stop_search"


def kept_folder(store_dir: Path) -> Path:
    """The folder of kept answers (one sub-folder per force)."""
    return store_dir / KEPT


def keep_answer(store_dir: Path, force: str, month: str, records: list[Any]) -> Path:
    """Keep one force-month answer atomically (replacing an older one) and return its path.

    ``mtime=0`` makes the same answer give the same bytes, so the build's content-hash cache
    sees a re-pulled, unchanged month as unchanged.
    """
    folder = kept_folder(store_dir) / force
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{month}.json.gz"
    write_atomic_bytes(path, gzip.compress(json.dumps(records).encode(), mtime=0))
    return path


def kept_answers(store_dir: Path) -> list[tuple[Path, str, str]]:
    """``(path, month, force)`` of every kept answer, by force then month."""
    root = kept_folder(store_dir)
    if not root.is_dir():
        return []
    out = []
    for force_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(force_dir.glob("????-??.json.gz")):
            out.append((path, path.name[:7], force_dir.name))
    return out
