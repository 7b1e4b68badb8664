"""Stop and search in the build: placement in wards, derived counts, and the real files end to end."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
from shapely.geometry import box

from data_sources.build.inputs import SourceAccount
from data_sources.build.stop_search import derive_counts, derive_months, place_searches
from data_sources.schemas import STOP_SEARCH
from data_sources.store.versions import open_store
from geo.assign import WardLocator

_TO_WGS = pyproj.Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


@pytest.fixture
def locator() -> WardLocator:
    wards = gpd.GeoDataFrame({"ward_code": ["W1", "W2"], "borough_code": ["B1", "B2"]},
                             geometry=[box(530000, 180000, 531000, 181000), box(531000, 180000, 532000, 181000)],
                             crs="EPSG:27700")
    return WardLocator.from_wards(wards)


def rows(points: list[tuple[float, float] | None], **extra: list[str]) -> pd.DataFrame:
    lon, lat = [], []
    for p in points:
        x, y = _TO_WGS.transform(*p) if p else (np.nan, np.nan)
        lon.append(x)
        lat.append(y)
    n = len(points)
    frame = pd.DataFrame({c: pd.Series([pd.NA] * n, dtype="string") for c in STOP_SEARCH.columns})
    frame = frame.assign(longitude=lon, latitude=lat, force="metropolitan", month="2024-01", dataset="bulk_csv",
                         datetime=pd.Timestamp("2024-01-10T10:00", tz="UTC"), **extra)
    return STOP_SEARCH.conform(frame)


def test_searches_are_placed_by_point_and_unlocated_kept(locator):
    acc = SourceAccount()
    found = rows([(530500, 180500), (531500, 180500), None, (600000, 250000)])
    placed = place_searches(found, locator, acc)
    assert placed["ward_code"].tolist() == ["W1", "W2", pd.NA]
    assert placed["borough_code"].tolist() == ["B1", "B2", pd.NA]
    assert acc.dropped == {"outside_london": 1}


def test_counts_cover_every_search_in_every_dimension(locator):
    found = rows([(530500, 180500), (530600, 180600), None],
                 officer_defined_ethnicity=["Black", "White", pd.NA],
                 outcome=["Arrest", "Arrest", "Community resolution"])
    counts = derive_counts(place_searches(found, locator, SourceAccount()))
    assert (counts.groupby("dimension")["count"].sum() == 3).all()
    cross = counts[counts["dimension"] == "officer_ethnicity_outcome"].set_index("category")["count"]
    assert cross.to_dict() == {"Black|arrest": 1, "White|arrest": 1, "(not recorded)|other": 1}
    eth = counts[counts["dimension"] == "officer_defined_ethnicity"]
    assert eth.loc[eth["ward_code"].isna(), "category"].tolist() == ["(not recorded)"]
    months = derive_months(place_searches(found, locator, SourceAccount()), {("metropolitan", "2024-01"): 1})
    assert months[["searches", "no_location", "outside_london", "first_day", "last_day"]].iloc[0].tolist() == [
        3, 1, 1, 10, 10]



@pytest.mark.slow
def test_real_files_end_to_end(real_store: tuple[Path, dict]) -> None:
    store, manifest = real_store
    acc = manifest["sources"]["stop_search"]
    assert acc["rows_read"] == 498_927 + 6_754 + 27_395  # Met bulk + City bulk + Met API, as published
    assert acc["rows_kept"] + sum(acc["dropped"].values()) == acc["rows_read"]
    aug = next(f for f in acc["files"] if f["path"].endswith("2022-08-metropolitan-stop-and-search.csv.gz"))
    assert (aug["rows"], aug["kept"], aug["identical_rows"]) == (17_286, 17_286, 2_347)  # duplicates kept
    gaps = {(g["force"], g["month"]): g["reason"] for g in acc["gaps"]}
    assert gaps[("metropolitan", "2022-01")] == "no data held"
    assert gaps[("metropolitan", "2022-12")] == "cut short: covers 1-17 Dec only"
    assert all(("metropolitan", f"{m}") in gaps for m in ("2024-09", "2024-12", "2025-04"))
    assert ("metropolitan", "2024-08") not in gaps and ("city-of-london", "2024-11") in gaps
    handle = open_store(store)
    months = handle.read("stop_search_months")
    met = months[(months["force"] == "metropolitan") & months["month"].between("2022-02", "2024-08")]
    share = met["no_location"].sum() / met["searches"].sum()
    assert 0.095 < share < 0.105  # 9.9% as counted in the provenance notes
    counts = handle.read("stop_search_counts")
    total = counts[counts["dimension"] == "all"]["count"].sum()
    assert total == acc["rows_kept"] == len(handle.read("stop_search"))


@pytest.mark.slow
def test_a_store_seeded_from_the_snapshot_keeps_the_stop_search_tables(tmp_path: Path) -> None:
    from data_sources.build.build import build_store
    from data_sources.store.seed import plant_seed

    snapshot = Path(__file__).resolve().parent.parent / "data" / "snapshot"
    store = tmp_path / "store"
    manifest = build_store(plant_seed(snapshot, store), store)
    handle = open_store(store)
    counts = handle.read("stop_search_counts")
    assert counts.loc[counts["dimension"] == "all", "count"].sum() == manifest["sources"]["stop_search"]["rows_kept"]
    assert len(handle.read("stop_search_months")) == len(pd.read_parquet(snapshot / "stop_search_months.parquet"))
    assert handle.read("stop_search").empty  # the snapshot holds counts, not rows
