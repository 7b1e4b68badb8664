"""Street-level rows fetched by ``refresh`` (API months, archive files), kept in the store.

police.uk keeps only about 36 months online, so what a refresh fetched is written here,
under ``store/inputs/ingested/``, and every later build includes it: history beyond the
online window is kept, not lost. Each entry is one month for one area (API) or one force
(archive), written atomically, with a registry saying when it was fetched and from where.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from data_sources.schemas import STREET_CRIMES
from data_sources.store.versions import write_atomic_bytes, write_table_atomic

REGISTRY = "registry.json"


@dataclass(frozen=True)
class IngestedInput:
    """One fetched month: what it covers, where its rows are, when it was fetched, and its checksum.

    ``wards`` lists the ward codes an API fetch covered (empty: the whole of London, or,
    for an archive, the whole force area); newer entries supersede older rows there.
    """

    kind: Literal["api", "archive"]
    month: str
    scope: str
    file: str
    rows: int
    fetched_at: str
    source: str
    wards: tuple[str, ...] = ()
    sha256: str = ""

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.month}-{self.scope}"


def _folder(store_dir: Path) -> Path:
    return store_dir / "inputs" / "ingested"


def list_ingested(store_dir: Path) -> list[IngestedInput]:
    """Every registered fetch, oldest first (so later ones supersede earlier ones)."""
    path = _folder(store_dir) / REGISTRY
    if not path.is_file():
        return []
    entries = [IngestedInput(**{**e, "wards": tuple(e.get("wards", ()))}) for e in json.loads(path.read_text())]
    return sorted(entries, key=lambda e: e.fetched_at)


def register(store_dir: Path, frame: pd.DataFrame, *, kind: Literal["api", "archive"], month: str, scope: str,
             source: str, wards: tuple[str, ...] = ()) -> IngestedInput:
    """Save one month's rows (STREET_CRIMES schema) and record it, replacing an older fetch of the same key."""
    folder = _folder(store_dir)
    folder.mkdir(parents=True, exist_ok=True)
    rows = frame[frame["month"] == month].reset_index(drop=True).assign(dataset=kind)
    rows = STREET_CRIMES.conform(rows)
    entry = IngestedInput(kind, month, scope, "", len(rows), time.strftime("%Y-%m-%dT%H:%M:%S"), source, wards)
    entry = IngestedInput(**{**asdict(entry), "file": f"{entry.key}.parquet"})
    write_table_atomic(folder / entry.file, rows)
    entry = IngestedInput(**{**asdict(entry), "sha256": hashlib.sha256((folder / entry.file).read_bytes()).hexdigest()})
    others = [e for e in list_ingested(store_dir) if e.key != entry.key]
    write_atomic_bytes(folder / REGISTRY, json.dumps([asdict(e) for e in [*others, entry]], indent=1).encode())
    return entry


def read_ingested(store_dir: Path, entry: IngestedInput) -> pd.DataFrame:
    """The rows of one registered fetch."""
    return pd.read_parquet(_folder(store_dir) / entry.file)
