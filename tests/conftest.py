"""Shared fixtures: the real shared data (skipped when absent) and a store built from it once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("CRIME_TRUST_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real public data folder; tests that need it skip on a machine without it."""
    if not (SHARED_DATA / "PROVENANCE.md").is_file():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def real_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A store built once per test session from the real data: (store dir, manifest)."""
    from data_sources.build.build import build_store

    store = tmp_path_factory.mktemp("real_store")
    manifest = build_store(shared_data, store)
    return store, manifest


@pytest.fixture
def small_data(shared_data: Path, tmp_path: Path) -> Path:
    """A data folder linking the real boundaries, population, trust and harm folders, with an empty crime/."""
    data = tmp_path / "data"
    data.mkdir()
    for sub in ("boundaries", "population", "trust", "harm"):
        (data / sub).symlink_to(shared_data / sub)
    (data / "crime").mkdir()
    return data


@pytest.fixture(scope="module")
def tiny():
    """Hand-made analysis tables: a few wards in two boroughs (see tests/tiny.py)."""
    from tests.tiny import tiny_tables

    return tiny_tables()


@pytest.fixture(scope="module")
def snapshot_tables():
    """Analysis tables loaded from the committed snapshot."""
    from analysis.tables import load_tables
    from data_sources.settings import get_settings
    from data_sources.store.versions import open_snapshot

    snapshot = get_settings().snapshot_dir
    if not (snapshot / "manifest.json").is_file():
        pytest.skip("no committed snapshot")
    return load_tables(open_snapshot(snapshot))


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium for a module of browser tests (``tests/browser_server.chromium``)."""
    from tests.browser_server import chromium

    with chromium() as b:
        yield b
