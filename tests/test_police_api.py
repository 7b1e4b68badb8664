"""The police.uk client against the local stub: shapes, retries, cache, errors, splitting, rate."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box

from core.errors import ApiError, OfflineError
from data_sources.fetch.police_api import MAX_GET_URL, Piece, PoliceApi, encode_poly, fetch_pieces, request_polygon
from data_sources.fetch.rate_limit import LeakyBucket, max_bucket_level
from data_sources.read.api_mapping import BTP, MET, category_names, crimes_to_frame, parse_crimes
from data_sources.schemas import STREET_CRIMES
from data_sources.settings import Settings
from tests.api_stub import FIXTURES, StubApi, load_fixture, synth_records

MONTH = "2024-01"
AREA = box(-0.20, 51.45, -0.05, 51.55)


def make_client(url: str, cache_dir: Path, *, retries: int = 3, timeout: float = 5.0,
                limiter: LeakyBucket | None = None, sleeps: list[float] | None = None) -> PoliceApi:
    settings = Settings(api_url=url, cache_dir=cache_dir, api_timeout_s=timeout, api_max_retries=retries)
    record = sleeps.append if sleeps is not None else (lambda s: None)
    return PoliceApi(settings=settings, limiter=limiter or LeakyBucket(1e6, 10_000), sleep=record)


def points_in(poly: Polygon, n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = poly.bounds
    return rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)


@pytest.fixture
def stub() -> StubApi:
    lons, lats = points_in(AREA, 3000)
    # Points exactly on the first quadrant cut lines: a split must not lose them.
    xm, ym = (AREA.bounds[0] + AREA.bounds[2]) / 2, (AREA.bounds[1] + AREA.bounds[3]) / 2
    lons = np.r_[lons, xm, xm, -0.17, xm]
    lats = np.r_[lats, 51.47, ym, ym, ym]
    crimes = {MONTH: synth_records(lons, lats, MONTH), "2024-02": []}
    with StubApi(crimes, cap=10_000, no_location={MONTH: load_fixture("crimes_no_location_2024-01.json")}) as s:
        yield s


# -- mapping ---------------------------------------------------------------------------------

def test_mapping_of_real_records_to_schema() -> None:
    crimes = parse_crimes((FIXTURES / "crimes_street_2018-06.json").read_bytes())
    frame = crimes_to_frame(crimes, categories=category_names(load_fixture("crime_categories_2024-01.json")),
                            source="test")
    assert list(frame.columns) == STREET_CRIMES.columns
    assert frame.dtypes.astype(str).to_dict() == STREET_CRIMES.dtypes
    asb = frame[frame["crime_type"] == "Anti-social behaviour"]
    assert len(asb) == 3 and asb["crime_id"].isna().all() and asb["last_outcome"].isna().all()
    assert asb["api_id"].nunique() == 3  # identical but for the id: three distinct reports
    btp = frame[frame["location_type"] == "BTP"]
    assert set(btp["reported_by"]) == {BTP} and btp["crime_id"].isna().all()
    assert btp["location"].iloc[0] == "On or near Kings Cross (station)"
    force = frame[frame["location_type"] == "Force"]
    assert set(force["falls_within"]) == {MET}
    assert force["location"].str.startswith("On or near ").all()
    burglary = frame[frame["crime_type"] == "Burglary"].iloc[0]
    assert len(burglary["crime_id"]) == 64 and burglary["last_outcome"] == "Under investigation"
    assert burglary["latitude"] == pytest.approx(51.5, abs=0.1)
    assert burglary["longitude"] == pytest.approx(0.08, abs=0.1)
    assert set(frame["crime_type"]) <= set(category_names(None).values())
    assert "Violence and sexual offences" in set(frame["crime_type"])
    assert frame["lsoa_code"].isna().all() and (frame["dataset"] == "api").all()


def test_mapping_no_location_unknown_slug_and_empty() -> None:
    records = load_fixture("crimes_no_location_2024-01.json")
    records.append({**records[0], "id": 5, "category": "new-kind-of-crime"})
    frame = crimes_to_frame(parse_crimes(json.dumps(records).encode()), categories=category_names(None), source="x")
    assert frame["latitude"].isna().all() and frame["location"].isna().all() and frame["location_type"].isna().all()
    assert list(frame["crime_type"]) == ["Burglary", "Violence and sexual offences", "New kind of crime"]
    assert frame["last_outcome"].isna().tolist() == [False, True, False]
    empty = crimes_to_frame(parse_crimes(b"[]"), categories={}, source="x")
    assert empty.empty and empty.dtypes.astype(str).to_dict() == STREET_CRIMES.dtypes


def test_old_slugs_have_names() -> None:
    names = category_names(None)
    assert names["public-disorder-weapons"] == "Public disorder and weapons"
    assert names["violent-crime"] == "Violence and sexual offences"
    assert "all-crime" not in category_names(load_fixture("crime_categories_2024-01.json"))


# -- endpoints -------------------------------------------------------------------------------

def test_metadata_endpoints(stub: StubApi, tmp_path: Path) -> None:
    client = make_client(stub.url, tmp_path)
    assert client.available_months() == ["2024-01", "2024-02"]
    assert client.last_updated() == "2024-02-28"
    assert {c["url"] for c in client.crime_categories(MONTH)} >= {"burglary", "violent-crime"}
    boundary = client.neighbourhood_boundary("city-of-london", "ban")
    assert boundary.is_valid and boundary.bounds == pytest.approx((-0.098, 51.509, -0.09, 51.5135))
    assert client.no_location_crimes(MONTH).column("id").to_pylist() == [900000001, 900000002]


def test_get_then_post_for_long_polygons(stub: StubApi, tmp_path: Path) -> None:
    client = make_client(stub.url, tmp_path)
    small = box(-0.15, 51.48, -0.10, 51.52)
    many = Polygon(small.buffer(0.0001, quad_segs=128).exterior)  # hundreds of vertices, same area
    assert len(encode_poly(many)) > MAX_GET_URL
    got_small = set(client.street_crimes(small, MONTH).column("id").to_pylist())
    got_many = set(client.street_crimes(many, MONTH).column("id").to_pylist())
    assert [r.method for r in stub.requests_to("crimes-street")] == ["GET", "POST"]
    assert got_small and got_small <= got_many == stub.truth(many, MONTH)


def test_empty_month_gives_empty_list(stub: StubApi, tmp_path: Path) -> None:
    assert make_client(stub.url, tmp_path).street_crimes(AREA, "2024-02").num_rows == 0


# -- errors and retries -------------------------------------------------------------------

def test_unpublished_month_is_a_clear_error(stub: StubApi, tmp_path: Path) -> None:
    with pytest.raises(ApiError, match=r"not published crimes for 2031-05.*2024-01 … 2024-02"):
        make_client(stub.url, tmp_path).street_crimes(AREA, "2031-05")


def test_malformed_json_names_the_request_and_is_not_cached(stub: StubApi, tmp_path: Path) -> None:
    client = make_client(stub.url, tmp_path)
    stub.add_fault("malformed", path="crimes-street")
    with pytest.raises(ApiError, match=r"street crimes for 2024-01.*malformed JSON"):
        client.street_crimes(AREA, MONTH, split_on_503=False)
    assert client.street_crimes(box(-0.1, 51.5, -0.09, 51.51), MONTH).num_rows > 0  # the next answer is whole
    assert client.cache_hits == 0


def test_retries_stop_at_the_bound(stub: StubApi, tmp_path: Path) -> None:
    sleeps: list[float] = []
    client = make_client(stub.url, tmp_path, retries=3, sleeps=sleeps)
    stub.add_fault("500", path="crime-categories", times=None)
    with pytest.raises(ApiError, match=r"crime categories.*gave up after 4 attempts \(HTTP 500\)"):
        client.crime_categories(MONTH)
    assert len(stub.requests_to("crime-categories")) == 4
    assert sleeps == [1.0, 2.0, 4.0]  # exponential back-off between attempts


def test_retry_after_is_honoured_and_transient_errors_recover(stub: StubApi, tmp_path: Path) -> None:
    sleeps: list[float] = []
    client = make_client(stub.url, tmp_path, sleeps=sleeps)
    stub.add_fault("429", path="crimes-street", retry_after="7")
    stub.add_fault("502", path="crimes-street")
    stub.add_fault("503", path="crimes-street")  # 503 with a body: an overloaded server, retried
    assert client.street_crimes(box(-0.15, 51.48, -0.10, 51.52), MONTH).num_rows
    assert sleeps == [7.0, 2.0, 4.0]
    assert [r.status for r in stub.requests_to("crimes-street")] == [429, 502, 503, 200]


def test_timeouts_and_dropped_connections_are_retried(stub: StubApi, tmp_path: Path) -> None:
    client = make_client(stub.url, tmp_path, timeout=0.3)
    stub.add_fault("timeout", path="crime-categories", delay=1.0)
    stub.add_fault("drop", path="crime-categories")
    assert client.crime_categories(MONTH)
    assert len(stub.requests_to("crime-categories")) == 3


def test_timeouts_exhaust_retries(stub: StubApi, tmp_path: Path) -> None:
    client = make_client(stub.url, tmp_path, timeout=0.2, retries=1)
    stub.add_fault("slow", path="crime-categories", delay=0.5, times=2)
    with pytest.raises(ApiError, match=r"gave up after 2 attempts \(no answer within 0.2 s\)"):
        client.crime_categories(MONTH)


def test_unreachable_api_is_offline_error(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again below: connection refused
    client = make_client(f"http://127.0.0.1:{port}/api", tmp_path)
    with pytest.raises(OfflineError, match=r"cannot reach police.uk API at http://127.0.0.1:\d+/api; .*POLICE_API_URL"):
        client.crime_categories()


# -- cache ---------------------------------------------------------------------------------

def test_cached_request_makes_no_network_call(stub: StubApi, tmp_path: Path) -> None:
    first = make_client(stub.url, tmp_path).street_crimes(AREA, MONTH, split_on_503=False)
    before = len(stub.log)
    again = make_client(stub.url, tmp_path)
    assert again.street_crimes(AREA, MONTH, split_on_503=False).equals(first)
    assert len(stub.log) == before and again.network_requests == 0 and again.cache_hits == 1
    edition = make_client(stub.url, tmp_path)
    edition.edition = "2099-01-01"  # a republication invalidates the cache
    edition.street_crimes(AREA, MONTH, split_on_503=False)
    assert len(stub.log) == before + 1


def test_errors_are_not_cached(stub: StubApi, tmp_path: Path) -> None:
    stub.add_fault("500", path="crime-categories", times=None)
    with pytest.raises(ApiError):
        make_client(stub.url, tmp_path, retries=0).crime_categories()
    stub.faults.clear()
    assert make_client(stub.url, tmp_path, retries=0).crime_categories()


# -- splitting -----------------------------------------------------------------------------

def test_split_fetch_returns_exactly_the_unlimited_answer(stub: StubApi, tmp_path: Path) -> None:
    truth = stub.truth(AREA, MONTH)
    stub.cap = 150
    client = make_client(stub.url, tmp_path)
    result = fetch_pieces(client, [Piece((AREA,), (3000.0,), "area")], MONTH, workers=4)
    assert result.splits > 0 and result.pieces_fetched > 20
    crimes = result.crimes
    ids = crimes.column("id").to_numpy()
    assert len(set(ids)) == len(ids)  # overlapping pieces: every crime once
    lon = crimes.column("longitude").to_numpy(zero_copy_only=False).astype(float)
    lat = crimes.column("latitude").to_numpy(zero_copy_only=False).astype(float)
    assert set(ids[shapely.intersects_xy(AREA, lon, lat)].tolist()) == truth


def test_piece_too_small_to_split_fails_clearly(tmp_path: Path) -> None:
    crimes = {MONTH: synth_records(np.full(3, -0.14985), np.full(3, 51.50015), MONTH)}
    with StubApi(crimes, cap=2) as stub:
        client = make_client(stub.url, tmp_path, retries=1)
        tiny = box(-0.1500, 51.5000, -0.1497, 51.5003)
        with pytest.raises(ApiError, match="street crimes for 2024-01 in tiny: gave up after 2 attempts"):
            fetch_pieces(client, [Piece((tiny,), (3.0,), "tiny")], MONTH)


def test_group_split_halves_units_by_expected_count() -> None:
    units = tuple(box(i, 0, i + 1, 1) for i in range(4))
    a, b = Piece(units, (10, 10, 10, 70), "g").split()
    assert len(a.units) == 3 and len(b.units) == 1 and a.label == "ga"
    quads = Piece((box(0, 0, 1, 1),), (8.0,), "w").split()
    assert len(quads) == 4 and all(q.expected == (2.0,) for q in quads)


def test_request_polygon_covers_multipart_groups_with_one_ring() -> None:
    parts = box(0, 0, 0.01, 0.01).union(box(0.02, 0, 0.03, 0.01))
    poly = request_polygon(parts)
    assert isinstance(poly, Polygon) and not poly.interiors and poly.covers(parts)
    ring = box(0, 0, 0.03, 0.03).difference(box(0.01, 0.01, 0.02, 0.02))
    assert request_polygon(ring).covers(ring) and not request_polygon(ring).interiors


# -- the rate limit as the server sees it --------------------------------------------------

def test_concurrent_fetch_never_overflows_the_bucket(tmp_path: Path) -> None:
    """45 polygon requests over 6 workers with the real 15/s, burst 30 limiter: about 1 s."""
    area = box(0, 51, 0.9, 51.5)
    lons, lats = points_in(area, 900)
    with StubApi({MONTH: synth_records(lons, lats, MONTH)}) as stub:
        client = make_client(stub.url, tmp_path, limiter=LeakyBucket(15, 30))
        pieces = [Piece((box(x / 10, 51, (x + 1) / 10, 51.1 + y / 10),), (1.0,), f"p{x}{y}")
                  for x in range(9) for y in range(5)]
        result = fetch_pieces(client, pieces, MONTH, workers=6)
        stamps = [r.t for r in stub.requests_to("crimes-street")]
    assert result.pieces_fetched == len(stamps) == 45
    assert max_bucket_level(stamps, 15) <= 30 + 1.0  # tolerance: network jitter between send and arrival
    assert max(stamps) - min(stamps) >= (45 - 30) / 15 - 0.1


def test_progress_can_stop_a_fetch(stub: StubApi, tmp_path: Path) -> None:
    client = make_client(stub.url, tmp_path)
    pieces = [Piece((box(-0.2 + i / 100, 51.45, -0.19 + i / 100, 51.46),), (1.0,), f"p{i}") for i in range(10)]

    def stop(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch_pieces(client, pieces, MONTH, workers=2, progress=stop)
    sent = len(stub.requests_to("crimes-street"))
    assert 3 <= sent < 10
    # Everything that was answered is in the cache: a second run sends only the rest.
    client2 = make_client(stub.url, tmp_path)
    fetch_pieces(client2, pieces, MONTH, workers=2)
    assert client2.network_requests == 10 - sent and client2.cache_hits == sent
