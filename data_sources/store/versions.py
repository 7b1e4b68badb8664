"""The store: versioned folders of Parquet tables, switched atomically, and the snapshot.

Layout::

    store/
      CURRENT              name of the live version (replaced atomically)
      versions/<id>/       manifest.json, *.parquet, street/YYYY-MM.parquet
      inputs/              parsed-and-placed input files, keyed by content hash

A build writes a complete new version beside the live one and only then points CURRENT
at it, so a failed or interrupted build leaves the previous store as it was. Readers
resolve CURRENT once and read that version. The committed snapshot under
``data/snapshot/`` has the same table layout (without raw rows), so the app reads either
through one ``DataHandle``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd

from core.errors import StoreError
from data_sources.settings import Settings
from data_sources.store.lock import in_use

MANIFEST = "manifest.json"
CURRENT = "CURRENT"
KEEP_VERSIONS = 2

#: Tables every store and snapshot holds (name → geometry or not).
CORE_TABLES = {
    "areas": False,
    "population": False,
    "trust": False,
    "harm_weights": False,
    "counts_police_uk": False,
    "counts_mps_ward": False,
    "london_totals": False,
    "wards_display": True,
    "boroughs_display": True,
}

#: Derived tables a store and snapshot hold when the data had them (older snapshots lack them).
STOP_SEARCH_TABLES = ("stop_search_counts", "stop_search_months", "census_ethnicity")

#: Other tables with geometry (the store's full wards and boroughs, the snapshot's placement wards).
GEOMETRY_TABLES = ("wards", "boroughs", "wards_placement")


def write_atomic_bytes(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old bytes or the new ones, never a mix."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


#: Options for every Parquet file this project writes. Column statistics are off: every
#: reader here loads whole columns, so min/max would never prune anything, and computing
#: them over a million strings is a quarter of the write time (benchmarks/bench_ingest.py).
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "write_statistics": False}


def write_table(path: Path | io.BytesIO, frame: pd.DataFrame) -> None:
    """Write one table as Parquet (GeoParquet when ``frame`` is a GeoDataFrame), zstd-compressed."""
    if isinstance(frame, gpd.GeoDataFrame):
        frame.to_parquet(path, index=False, write_covering_bbox=False, **PARQUET_OPTIONS)
    else:
        frame.to_parquet(path, index=False, **PARQUET_OPTIONS)


def write_table_atomic(path: Path, frame: pd.DataFrame) -> None:
    """Write one table as :func:`write_table` does, so that readers never see half a file."""
    buf = io.BytesIO()
    write_table(buf, frame)
    write_atomic_bytes(path, buf.getvalue())


class VersionWriter:
    """Collects one new store version in a hidden folder and publishes it on ``commit``.

    Use as a context manager: leaving the block with an exception (including Ctrl-C)
    deletes the unfinished folder and leaves CURRENT untouched.
    """

    def __init__(self, store_dir: Path) -> None:
        self.store_dir = store_dir
        self.version = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.tmp = store_dir / "versions" / f".building-{self.version}"
        self.committed = False

    def __enter__(self) -> VersionWriter:
        self.tmp.mkdir(parents=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.committed:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name: str, frame: pd.DataFrame) -> Path:
        """Write a table into the unfinished version."""
        path = self.tmp / f"{name}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_table(path, frame)
        return path

    def commit(self, manifest: dict[str, Any]) -> Path:
        """Write the manifest, publish the version and prune old ones; return its folder."""
        (self.tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
        final = self.store_dir / "versions" / self.version
        os.replace(self.tmp, final)
        write_atomic_bytes(self.store_dir / CURRENT, self.version.encode())
        self.committed = True
        _prune(self.store_dir, keep=self.version)
        return final


def _prune(store_dir: Path, keep: str) -> None:
    versions = sorted(p for p in (store_dir / "versions").iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in [p for p in versions if p.name != keep][: max(0, len(versions) - KEEP_VERSIONS)]:
        if not in_use(old):  # a version a reader holds stays until a later build (data_sources.store.lock)
            shutil.rmtree(old, ignore_errors=True)
    for stale in (store_dir / "versions").glob(".building-*"):
        if time.time() - stale.stat().st_mtime > 24 * 3600:
            shutil.rmtree(stale, ignore_errors=True)


def current_version_dir(store_dir: Path) -> Path | None:
    """The live version's folder, or None when nothing has been built."""
    pointer = store_dir / CURRENT
    if not pointer.is_file():
        return None
    folder = store_dir / "versions" / pointer.read_text().strip()
    return folder if (folder / MANIFEST).is_file() else None


@dataclass(frozen=True)
class DataHandle:
    """Read access to one built store version or to the snapshot."""

    root: Path
    kind: Literal["store", "snapshot"]
    manifest: dict[str, Any]

    def has(self, name: str) -> bool:
        return (self.root / f"{name}.parquet").is_file()

    def read(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Read a table; a missing or damaged file is a StoreError saying what to do."""
        path = self.root / f"{name}.parquet"
        try:
            if CORE_TABLES.get(name) or name in GEOMETRY_TABLES:
                return gpd.read_parquet(path, columns=columns)
            return pd.read_parquet(path, columns=columns)
        except (OSError, ValueError) as e:
            raise StoreError(f"{self.kind} table {name!r} at {path} cannot be read ({e}); "
                             "rebuild with `python -m data_sources build`") from e

    def street_months(self) -> list[str]:
        """Months with street-level rows (only a built store holds rows)."""
        return sorted(p.stem for p in (self.root / "street").glob("*.parquet"))

    def read_street(self, months: list[str], columns: list[str] | None = None) -> pd.DataFrame:
        """Street-level rows for ``months`` (empty when the handle has none)."""
        frames = [self.read(f"street/{m}", columns) for m in months if self.has(f"street/{m}")]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns or [])

    @property
    def label(self) -> str:
        """One line for the screen: what data this is and when it was built."""
        built = self.manifest.get("built_at", "unknown time")
        what = "the built store" if self.kind == "store" else "the embedded snapshot"
        return f"Showing {what}, built {built}"


def _handle(root: Path, kind: Literal["store", "snapshot"]) -> DataHandle:
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError) as e:
        raise StoreError(f"{kind} manifest at {root / MANIFEST} is missing or damaged ({e})") from e
    missing = [t for t in CORE_TABLES if not (root / f"{t}.parquet").is_file()]
    if missing:
        raise StoreError(f"{kind} at {root} lacks tables {missing}; rebuild with `python -m data_sources build`")
    return DataHandle(root, kind, manifest)


def open_store(store_dir: Path) -> DataHandle:
    """Open the live store version, or raise StoreError if none is usable."""
    folder = current_version_dir(store_dir)
    if folder is None:
        raise StoreError(f"no store has been built at {store_dir}; run `python -m data_sources build`")
    return _handle(folder, "store")


def open_snapshot(snapshot_dir: Path) -> DataHandle:
    """Open the committed snapshot."""
    return _handle(snapshot_dir, "snapshot")


def open_data(settings: Settings) -> tuple[DataHandle, str | None]:
    """Open the store when one is built and intact, else the snapshot.

    Returns
    -------
    handle, problem
        ``problem`` explains why the snapshot is used instead of a store that exists but
        is damaged (None when all is well or no store was ever built).
    """
    problem = None
    if (settings.store_dir / CURRENT).exists():
        try:
            return open_store(settings.store_dir), None
        except StoreError as e:
            problem = f"{e} — showing the embedded snapshot instead."
    return open_snapshot(settings.snapshot_dir), problem


def publish_snapshot(snapshot_dir: Path, tables: dict[str, pd.DataFrame], manifest: dict[str, Any]) -> None:
    """Replace the snapshot folder as a whole: write beside it, then swap."""
    tmp = snapshot_dir.with_name(f".{snapshot_dir.name}.building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        for name, frame in tables.items():
            write_table(tmp / f"{name}.parquet", frame)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
        old = snapshot_dir.with_name(f".{snapshot_dir.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if snapshot_dir.exists():
            os.replace(snapshot_dir, old)
        os.replace(tmp, snapshot_dir)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
