"""Placement-grade wards in the snapshot: the 2022 London points land in the same ward as with the full polygons.

A store grown from the snapshot (no raw data) places newly fetched crimes with the
snapshot's simplified ward polygons. Over the 849,409 London points of 2022, at least
99.9% must land in the same ward as with the full police.uk polygons. The measured share
is written to ``test-artifacts/placement.json`` and reported in BENCHMARKS.md.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from data_sources.read.points_2022 import POINTS_FILE, read_points_2022
from data_sources.settings import get_settings
from data_sources.store.seed import SEED_TABLES
from data_sources.store.versions import open_snapshot, open_store
from geo.assign import WardLocator
from geo.wards import placement_geometry

pytestmark = pytest.mark.slow
REQUIRED_SHARE = 0.999
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def _snapshot_wards(full: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    snap = get_settings().snapshot_dir
    if all((snap / f"{t}.parquet").is_file() for t in SEED_TABLES):
        return open_snapshot(snap).read("wards_placement"), "committed snapshot"
    return placement_geometry(full), "placement_geometry (no seed tables in the committed snapshot yet)"


def test_snapshot_wards_place_the_2022_points_as_the_full_polygons(real_store: tuple[Path, dict],
                                                                   shared_data: Path) -> None:
    full = open_store(real_store[0]).read("wards")
    simple, where = _snapshot_wards(full)
    assert list(simple["ward_code"]) == list(full["ward_code"])
    points = read_points_2022(shared_data / POINTS_FILE)
    lon, lat = points["longitude"].to_numpy(), points["latitude"].to_numpy()
    a = WardLocator.from_wards(full).locate(lon, lat)
    b = WardLocator.from_wards(simple).locate(lon, lat)
    same = (a == b) | (pd.isna(a) & pd.isna(b))
    share = float(same.mean())
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "placement.json").write_text(json.dumps(
        {"points": len(points), "same_ward": int(same.sum()), "share": share, "wards_from": where}, indent=1))
    assert len(points) == 849_409
    assert share >= REQUIRED_SHARE, f"{share:.5%} of the 2022 points in the same ward ({where})"
