"""Ward placement and display geometry on tiny hand-built wards."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from geo.assign import WardLocator, assign_wards
from geo.wards import display_geometry, dissolve_boroughs

# Three 1 km square wards side by side near Charing Cross (British National Grid).
X0, Y0 = 530000.0, 180000.0


@pytest.fixture
def wards() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"ward_code": ["E05000001", "E05000002", "E05000003"], "ward_name": ["A", "B", "C"],
         "borough_code": ["E09000033", "E09000033", "E09000022"], "borough_name": ["W", "W", "L"]},
        geometry=[box(X0 + i * 1000, Y0, X0 + (i + 1) * 1000, Y0 + 1000) for i in range(3)],
        crs="EPSG:27700",
    )


def to_lonlat(x: list[float], y: list[float]) -> tuple[np.ndarray, np.ndarray]:
    pts = gpd.GeoSeries(gpd.points_from_xy(x, y), crs="EPSG:27700").to_crs("EPSG:4326")
    return pts.x.to_numpy(), pts.y.to_numpy()


@pytest.mark.parametrize(("x", "y", "expected"), [
    (X0 + 500, Y0 + 500, "E05000001"),
    (X0 + 1500, Y0 + 500, "E05000002"),
    (X0 + 2999, Y0 + 1, "E05000003"),
    (X0 + 3040, Y0 + 500, "E05000003"),  # 40 m outside, within the nearest-ward tolerance
    (X0 + 5000, Y0 + 500, None),  # 2 km outside
])
def test_locate_points(wards: gpd.GeoDataFrame, x: float, y: float, expected: str | None) -> None:
    lon, lat = to_lonlat([x], [y])
    assert WardLocator.from_wards(wards).locate(lon, lat)[0] == expected


def test_point_claimed_by_two_wards_goes_to_the_first(wards: gpd.GeoDataFrame) -> None:
    overlapping = wards.copy()
    overlapping.geometry = [box(X0, Y0, X0 + 1100, Y0 + 1000), *wards.geometry.iloc[1:]]  # A overlaps B by 100 m
    lon, lat = to_lonlat([X0 + 1050], [Y0 + 500])
    assert WardLocator.from_wards(overlapping).locate(lon, lat)[0] == "E05000001"


def test_repeated_snap_points_map_back_to_every_row(wards: gpd.GeoDataFrame) -> None:
    lon, lat = to_lonlat([X0 + 500, X0 + 1500, X0 + 500, X0 + 2500, X0 + 500], [Y0 + 500] * 5)
    got = WardLocator.from_wards(wards).locate(lon, lat)
    assert list(got) == ["E05000001", "E05000002", "E05000001", "E05000003", "E05000001"]


def test_assign_falls_back_to_lsoa_then_none(wards: gpd.GeoDataFrame) -> None:
    lon, lat = to_lonlat([X0 + 500], [Y0 + 500])
    lon = np.array([lon[0], np.nan, np.nan, np.nan])
    lat = np.array([lat[0], np.nan, np.nan, np.nan])
    lsoa = pd.Series(["E01000001", "E01000002", "E01099999", None], dtype="string")
    lookup = pd.Series({"E01000001": "E05000003", "E01000002": "E05000002"})
    ward, borough, how = assign_wards(lon, lat, lsoa, locator=WardLocator.from_wards(wards), lsoa_to_ward=lookup)
    assert ward.tolist() == ["E05000001", "E05000002", pd.NA, pd.NA]
    assert borough.tolist() == ["E09000033", "E09000033", pd.NA, pd.NA]
    assert how.tolist() == ["point", "lsoa", "none", "none"]


def test_locator_refuses_wrong_crs(wards: gpd.GeoDataFrame) -> None:
    with pytest.raises(ValueError, match="EPSG:27700"):
        WardLocator.from_wards(wards.to_crs("EPSG:4326"))


def test_dissolve_boroughs(wards: gpd.GeoDataFrame) -> None:
    boroughs = dissolve_boroughs(wards)
    assert boroughs["borough_code"].tolist() == ["E09000022", "E09000033"]
    assert boroughs.area.round().tolist() == [1e6, 2e6]


def test_display_geometry_keeps_neighbours_touching(wards: gpd.GeoDataFrame) -> None:
    wiggly = wards.copy()
    # Give the shared edges many small zig-zags, then simplify: no gap or overlap may appear.
    edge = [(X0 + 1000 + (5 if i % 2 else -5), Y0 + i * 10) for i in range(101)]
    left = shapely.Polygon([(X0, Y0), *edge, (X0, Y0 + 1000)])
    right = shapely.Polygon([*edge, (X0 + 2000, Y0 + 1000), (X0 + 2000, Y0)])
    wiggly.geometry = [left, right, wards.geometry.iloc[2]]
    out = display_geometry(wiggly, tolerance_m=25).to_crs("EPSG:27700")
    union = shapely.union_all(out.geometry.values)
    assert abs(union.area - out.area.sum()) < 50  # no overlaps (m²)
    assert abs(union.area - 3e6) < 2000  # no gaps: the three still tile the 3 km²
    vertices = shapely.get_num_coordinates
    assert vertices(out.geometry.values).sum() < vertices(wiggly.geometry.values).sum()
    assert out.crs is not None


def test_display_geometry_requires_bng(wards: gpd.GeoDataFrame) -> None:
    with pytest.raises(ValueError, match="EPSG:27700"):
        display_geometry(wards.to_crs("EPSG:4326"))
