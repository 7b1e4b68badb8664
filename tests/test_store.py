"""The store's atomic versions, its reader, and the fallback to the snapshot."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from core.errors import StoreError
from data_sources.settings import get_settings
from data_sources.store.versions import CORE_TABLES, VersionWriter, current_version_dir, open_data, open_store


def write_version(store: Path, marker: int) -> Path:
    with VersionWriter(store) as w:
        for name in CORE_TABLES:
            w.write(name, pd.DataFrame({"marker": [marker]}))
        return w.commit({"built_at": f"build {marker}", "sources": {}})


def test_commit_publishes_and_prunes(tmp_path: Path) -> None:
    first = write_version(tmp_path, 1)
    assert current_version_dir(tmp_path) == first
    for i in range(2, 5):
        latest = write_version(tmp_path, i)
    assert current_version_dir(tmp_path) == latest
    live = [p for p in (tmp_path / "versions").iterdir() if not p.name.startswith(".")]
    assert len(live) == 2  # the current one and one before it
    assert open_store(tmp_path).manifest["built_at"] == "build 4"


def test_failed_build_leaves_previous_version_live(tmp_path: Path) -> None:
    good = write_version(tmp_path, 1)
    with pytest.raises(RuntimeError), VersionWriter(tmp_path) as w:
        w.write("areas", pd.DataFrame({"marker": [2]}))
        raise RuntimeError("disk full, say")
    assert current_version_dir(tmp_path) == good
    assert not list((tmp_path / "versions").glob(".building-*"))
    assert open_store(tmp_path).manifest["built_at"] == "build 1"


def test_interrupted_build_leaves_previous_version_live(tmp_path: Path) -> None:
    good = write_version(tmp_path, 1)
    with pytest.raises(KeyboardInterrupt), VersionWriter(tmp_path) as w:
        w.write("areas", pd.DataFrame({"marker": [2]}))
        raise KeyboardInterrupt
    assert current_version_dir(tmp_path) == good


def test_open_store_without_build_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="python -m data_sources build"):
        open_store(tmp_path)


def test_open_data_prefers_store_then_snapshot(tmp_path: Path) -> None:
    settings = replace(get_settings(), store_dir=tmp_path / "none")
    handle, problem = open_data(settings)
    assert handle.kind == "snapshot" and problem is None
    write_version(tmp_path / "store", 7)
    handle, problem = open_data(replace(settings, store_dir=tmp_path / "store"))
    assert handle.kind == "store" and problem is None


def test_damaged_store_falls_back_to_snapshot_with_reason(tmp_path: Path) -> None:
    version = write_version(tmp_path, 1)
    (version / "manifest.json").write_text("{not json")
    handle, problem = open_data(replace(get_settings(), store_dir=tmp_path))
    assert handle.kind == "snapshot"
    assert problem is not None and "damaged" in problem and "snapshot" in problem


def test_damaged_table_read_says_rebuild(tmp_path: Path) -> None:
    version = write_version(tmp_path, 1)
    (version / "areas.parquet").write_bytes(b"PAR1 garbage")
    with pytest.raises(StoreError, match="rebuild"):
        open_store(tmp_path).read("areas")


def test_snapshot_is_small_and_complete() -> None:
    snap = get_settings().snapshot_dir
    sizes = {p.name: p.stat().st_size for p in snap.iterdir()}
    assert sum(sizes.values()) <= 10 * 1024 * 1024
    assert max(sizes.values()) <= 2 * 1024 * 1024
    assert {f"{t}.parquet" for t in CORE_TABLES} <= set(sizes)
    manifest = json.loads((snap / "manifest.json").read_text())
    assert manifest["kind"] == "snapshot" and manifest["built_at"]
