"""The refresh orchestration: month ranges, areas, grouping, exactness, resuming, archives."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from core.errors import ApiError, InputFileError, UnknownAreaError
from data_sources.fetch.police_api import PoliceApi
from data_sources.fetch.rate_limit import LeakyBucket
from data_sources.fetch.refresh import (
    MonthRangeError,
    download_archive,
    hilbert_index,
    parse_month_range,
    plan_pieces,
    refresh_months,
    select_area,
    wards_of_points,
)
from data_sources.read.api_mapping import BTP, CITY, MET
from data_sources.read.police_uk_csv import discover_street_files
from data_sources.schemas import STREET_CRIMES
from data_sources.settings import Settings
from geo.london import CITY_OF_LONDON_CODE
from tests.api_stub import StubApi, load_fixture, synth_records

M1, M2, EMPTY = "2024-01", "2024-02", "2024-03"
CELL = 0.025


def make_wards() -> gpd.GeoDataFrame:
    """A 6 x 4 grid of square wards; left half Westminster, right half Camden, one City ward."""
    rows = []
    for i in range(6):
        for j in range(4):
            x, y = round(-0.2 + i * CELL, 6), round(51.45 + j * CELL, 6)
            borough = ("E09000033", "Westminster") if i < 3 else ("E09000007", "Camden")
            if (i, j) == (3, 0):
                borough = (CITY_OF_LONDON_CODE, "City of London")
            rows.append({"ward_code": f"E0500{i}{j:02d}", "ward_name": f"Ward {i}-{j}",
                         "borough_code": borough[0], "borough_name": borough[1],
                         "geometry": box(x, y, round(x + CELL, 6), round(y + CELL, 6))})
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def make_crimes(month: str, seed: int, first_id: int) -> list[dict]:
    """~2,400 crimes, dense in two wards, plus points on shared edges and outside the area."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(-0.2, -0.05, 1600)
    lat = rng.uniform(51.45, 51.55, 1600)
    hot_lon = rng.uniform(-0.125, -0.1, 700)  # ward (3, 1) and (3, 2): the hot spot
    hot_lat = rng.uniform(51.475, 51.525, 700)
    edge_lon = np.r_[np.full(40, -0.125), rng.uniform(-0.2, -0.05, 40)]  # on ward edges
    edge_lat = np.r_[rng.uniform(51.45, 51.55, 40), np.full(40, 51.5)]
    out_lon, out_lat = rng.uniform(-0.3, -0.21, 30), rng.uniform(51.45, 51.55, 30)  # outside
    recs = synth_records(np.r_[lon, hot_lon, edge_lon, out_lon], np.r_[lat, hot_lat, edge_lat, out_lat],
                         month, first_id=first_id, seed=seed)
    # Several identical ASB reports at one point, distinct only by id.
    twin = {**recs[0], "category": "anti-social-behaviour", "persistent_id": "", "outcome_status": None}
    return [*recs, twin | {"id": first_id + 10_000}, twin | {"id": first_id + 10_001}]


WARDS = make_wards()
AREA = shapely.union_all(WARDS.geometry.to_numpy())


@pytest.fixture
def stub() -> StubApi:
    crimes = {M1: make_crimes(M1, 1, 1_000_000), M2: make_crimes(M2, 2, 2_000_000), EMPTY: []}
    no_loc = {M1: load_fixture("crimes_no_location_2024-01.json")}
    with StubApi(crimes, cap=600, no_location=no_loc) as s:
        yield s


def client_for(stub: StubApi, cache: Path) -> PoliceApi:
    settings = Settings(api_url=stub.url, cache_dir=cache, api_timeout_s=5, api_max_retries=2)
    return PoliceApi(settings=settings, limiter=LeakyBucket(1e6, 10_000), sleep=lambda s: None)


# -- months and areas ----------------------------------------------------------------------

def test_parse_month_range() -> None:
    assert parse_month_range("2024-11..2025-02") == ["2024-11", "2024-12", "2025-01", "2025-02"]
    assert parse_month_range("2025-03") == ["2025-03"]
    assert parse_month_range("2025-03, 2025-01..2025-02,2025-03") == ["2025-01", "2025-02", "2025-03"]
    with pytest.raises(MonthRangeError, match=r"'2025-13' .* is not YYYY-MM"):
        parse_month_range("2025-13")
    with pytest.raises(MonthRangeError, match="ends before it starts"):
        parse_month_range("2025-03..2025-01")
    with pytest.raises(MonthRangeError, match="not YYYY-MM"):
        parse_month_range("Jan 2025")


def test_select_area() -> None:
    assert select_area("london", WARDS)[0] == "London" and len(select_area("E12000007", WARDS)[1]) == 24
    name, wards = select_area("westminster", WARDS)
    assert name == "Westminster" and len(wards) == 12
    assert len(select_area("E09000007", WARDS)[1]) == 11
    assert select_area("E0500102", WARDS)[0] == "Ward 1-2"
    with pytest.raises(UnknownAreaError, match=r"unknown area 'Atlantis'.*borough code"):
        select_area("Atlantis", WARDS)


def test_plan_pieces_tiles_wards_under_target() -> None:
    expected = pd.Series(np.arange(24) * 10.0 + 5, index=WARDS["ward_code"])
    pieces = plan_pieces(WARDS, expected, target=400)
    assert sum(len(p.units) for p in pieces) == 24
    assert all(sum(p.expected) <= 400 or len(p.units) == 1 for p in pieces)
    union = shapely.union_all([p.geometry for p in pieces])
    assert union.symmetric_difference(AREA).area < 1e-12
    # Each group goes as one ring covering all its wards (parts touching at a corner are joined).
    assert all(p.polygon.geom_type == "Polygon" and p.polygon.covers(p.geometry) for p in pieces)


def test_wards_of_points_is_strictly_inside_the_area() -> None:
    """As one request for the whole area: shared edges are inside, the outer edge is not."""
    wards = np.array([box(0, 0, 1, 1), box(1, 0, 2, 1)])
    lon = np.array([0.5, 1.5, 1.0, 0.0, 2.5, np.nan, 0.5])
    lat = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0])
    got = wards_of_points(wards, lon, lat)
    assert got[:2].tolist() == [0, 1]  # inside a ward
    assert got[2] in (0, 1)  # on the edge the two wards share
    assert got[3:].tolist() == [-1, -1, -1, -1]  # outer edge, outside, no coordinates, outer edge


def test_hilbert_index_is_a_bijection_on_a_grid() -> None:
    x, y = np.meshgrid(np.arange(8.0), np.arange(8.0))
    d = hilbert_index(x.ravel(), y.ravel(), bits=3)
    assert sorted(d) == list(range(64))


# -- refresh -------------------------------------------------------------------------------

def test_refresh_london_returns_exactly_the_unlimited_answer(stub: StubApi, tmp_path: Path) -> None:
    frame = refresh_months([M1, M2], "london", client=client_for(stub, tmp_path), areas_gdf=WARDS)
    assert list(frame.columns) == STREET_CRIMES.columns
    assert frame.dtypes.astype(str).to_dict() == STREET_CRIMES.dtypes
    for month in (M1, M2):
        got = frame[(frame["month"] == month) & frame["latitude"].notna()]
        assert set(got["api_id"]) == stub.truth(AREA, month)
        assert got["api_id"].is_unique
    assert any(r.status == 503 for r in stub.log)  # the hot spot forced a split
    no_loc = frame[frame["latitude"].isna()]
    assert set(no_loc["api_id"]) == {900000001, 900000002} and set(no_loc["month"]) == {M1}
    city = box(-0.125, 51.45, -0.1, 51.475)
    in_city = shapely.intersects_xy(city, frame["longitude"].to_numpy(), frame["latitude"].to_numpy())
    force = frame["location_type"].eq("Force").fillna(False).to_numpy(bool)
    assert set(frame.loc[in_city & force, "falls_within"]) == {CITY}
    assert set(frame.loc[~in_city & force, "falls_within"]) == {MET}
    assert set(frame.loc[frame["location_type"].eq("BTP").fillna(False), "reported_by"]) == {BTP}
    assert frame.equals(frame.sort_values(["month", "api_id"]).reset_index(drop=True))


def test_refresh_borough_keeps_only_its_crimes(stub: StubApi, tmp_path: Path) -> None:
    frame = refresh_months([M1], "Camden", client=client_for(stub, tmp_path), areas_gdf=WARDS)
    camden = shapely.union_all(WARDS[WARDS["borough_code"] == "E09000007"].geometry.to_numpy())
    # Exactly what one request for Camden would return: the 40 crimes on its edge with
    # Westminster are in neither borough's answer.
    assert set(frame["api_id"]) == stub.truth(camden, M1)
    assert frame["latitude"].notna().all()  # no-location crimes only for London as a whole


def test_expected_counts_avoid_refusals(stub: StubApi, tmp_path: Path) -> None:
    first = refresh_months([M1], "london", client=client_for(stub, tmp_path / "a"), areas_gdf=WARDS,
                           include_no_location=False)
    lon, lat = first["longitude"].to_numpy(), first["latitude"].to_numpy()
    expected = {w: float(shapely.contains_xy(g, lon, lat).sum()) for w, g in zip(WARDS["ward_code"], WARDS.geometry,
                                                                                   strict=True)}
    stub.log.clear()
    refresh_months([M2], "london", client=client_for(stub, tmp_path / "b"), areas_gdf=WARDS, expected=expected,
                   target=500, include_no_location=False)
    statuses = [r.status for r in stub.requests_to("crimes-street")]
    assert 503 not in statuses
    assert len(statuses) <= np.ceil(len(stub.truth(AREA, M2)) / 600) + 2


def test_empty_month_gives_empty_frame_in_schema(stub: StubApi, tmp_path: Path) -> None:
    frame = refresh_months([EMPTY], "london", client=client_for(stub, tmp_path), areas_gdf=WARDS)
    assert frame.empty and frame.dtypes.astype(str).to_dict() == STREET_CRIMES.dtypes


def test_unpublished_month_is_an_api_error(stub: StubApi, tmp_path: Path) -> None:
    with pytest.raises(ApiError, match=r"not published crimes for 2030-01.*2024-01 … 2024-03"):
        refresh_months(["2030-01"], "london", client=client_for(stub, tmp_path), areas_gdf=WARDS)


def test_killed_refresh_resumes_without_repeating_finished_requests(stub: StubApi, tmp_path: Path) -> None:
    reference = refresh_months([M1, M2], "london", client=client_for(stub, tmp_path / "ref"), areas_gdf=WARDS)
    stub.log.clear()
    seen: list[tuple[int, int]] = []

    def killer(done: int, total: int) -> None:
        seen.append((done, total))
        if done == 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        refresh_months([M1, M2], "london", client=client_for(stub, tmp_path / "run"), areas_gdf=WARDS,
                       progress=killer)
    assert all(d <= t for d, t in seen)

    def finished(log: list) -> set[tuple]:
        return {(r.path, tuple(sorted(r.params.items()))) for r in log
                if r.status in (200, 503) and r.path not in ("crime-last-updated", "crimes-street-dates")}

    first = finished(stub.log)
    stub.log.clear()
    resumed = refresh_months([M1, M2], "london", client=client_for(stub, tmp_path / "run"), areas_gdf=WARDS)
    assert first and not (first & finished(stub.log))
    pd.testing.assert_frame_equal(resumed, reference)


def test_server_fault_midway_then_resume(stub: StubApi, tmp_path: Path) -> None:
    stub.add_fault("500", path="crimes-street", after=5, times=None)
    client = client_for(stub, tmp_path)
    with pytest.raises(ApiError, match="gave up after 3 attempts"):
        refresh_months([M1], "london", client=client, areas_gdf=WARDS)
    stub.faults.clear()
    before = len(stub.requests_to("crimes-street"))
    again = client_for(stub, tmp_path)
    frame = refresh_months([M1], "london", client=again, areas_gdf=WARDS)
    assert again.cache_hits >= 4 and len(stub.requests_to("crimes-street")) > before
    assert set(frame.loc[frame["latitude"].notna(), "api_id"]) == stub.truth(AREA, M1)


# -- archives ------------------------------------------------------------------------------

def make_archive() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for force in ("metropolitan", "city-of-london", "btp", "kent"):
            zf.writestr(f"2024-01/2024-01-{force}-street.csv", f"Crime ID,Month\nx,{force}\n")
        zf.writestr("2024-01/2024-01-metropolitan-outcomes.csv", "no")
    return buf.getvalue()


def test_archive_members_from_a_local_zip(tmp_path: Path) -> None:
    path = tmp_path / "2024-01.zip"
    path.write_bytes(make_archive())
    members = {Path(src.name).name: src for src in discover_street_files(download_archive(path))}
    assert sorted(members) == ["2024-01-btp-street.csv", "2024-01-city-of-london-street.csv",
                               "2024-01-kent-street.csv", "2024-01-metropolitan-street.csv"]
    with members["2024-01-btp-street.csv"].open() as fh:
        assert fh.read().endswith(b"x,btp\n")
    assert members["2024-01-kent-street.csv"].force == "kent"


def test_archive_download_via_session_is_cached(tmp_path: Path) -> None:
    with StubApi(files={"2024-01.zip": make_archive()}) as stub:
        settings = Settings(cache_dir=tmp_path, api_timeout_s=5)
        path = download_archive(f"{stub.url}/files/2024-01.zip", settings=settings)
        assert path == tmp_path / "archives" / "2024-01.zip" and len(discover_street_files(path)) == 4
        download_archive(f"{stub.url}/files/2024-01.zip", settings=settings)
        assert len(stub.requests_to("files/")) == 1
        with pytest.raises(ApiError, match="HTTP 404"):
            download_archive(f"{stub.url}/files/missing.zip", settings=settings)
        assert not list((tmp_path / "archives").glob(".*"))  # no partial file left behind


def test_bad_archive_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputFileError, match="not a readable zip"):
        discover_street_files(download_archive(bad))
