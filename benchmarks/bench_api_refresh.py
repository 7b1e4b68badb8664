"""Benchmark: refresh a simulated London month from the local API stub with the real rate limit.

~90,000 crimes over ~680 wards with a skewed (lognormal) density, so a few central wards
hold 1,000+ crimes; the stub refuses polygons over 10,000 crimes like police.uk. The
refresh plans its groups from a "previous month" (same densities, different draw).

Measures
--------
requests / ceil(total / 10,000)      target <= 1.3  (every crimes-street request, refusals included)
wall time / (all requests / 15 per s) target <= 1.2  (real 15/s, burst 30 limiter)

Run: ``.venv/bin/python -m benchmarks.bench_api_refresh [--months 3] [--wards store]``.
Results go to ``benchmarks/out/bench_api_refresh.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box
from shapely.geometry.base import BaseGeometry

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from data_sources.fetch.police_api import PoliceApi  # noqa: E402
from data_sources.fetch.rate_limit import LeakyBucket, max_bucket_level  # noqa: E402
from data_sources.fetch.refresh import refresh_months  # noqa: E402
from data_sources.settings import Settings  # noqa: E402
from tests.api_stub import StubApi, synth_records  # noqa: E402

LONDON_BBOX = (-0.51, 51.29, 0.33, 51.69)


def synthetic_wards(nx: int = 34, ny: int = 20) -> gpd.GeoDataFrame:
    """A grid of nx x ny square 'wards' over London's bounding box (680 by default)."""
    x0, y0, x1, y1 = LONDON_BBOX
    xs, ys = np.linspace(x0, x1, nx + 1).round(6), np.linspace(y0, y1, ny + 1).round(6)
    rows = [{"ward_code": f"W{i:02d}{j:02d}", "ward_name": f"Ward {i}-{j}", "borough_code": f"B{i // 5:02d}",
             "borough_name": f"Borough {i // 5}", "geometry": box(xs[i], ys[j], xs[i + 1], ys[j + 1])}
            for i in range(nx) for j in range(ny)]
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def store_wards() -> gpd.GeoDataFrame:
    """The real 2022 ward polygons from the built store, in lon/lat."""
    from data_sources.settings import get_settings
    from data_sources.store.versions import open_store

    return open_store(get_settings().store_dir).read("wards").to_crs("EPSG:4326")


def ward_rates(wards: gpd.GeoDataFrame, total: float, rng: np.random.Generator) -> np.ndarray:
    """Expected crimes per ward: lognormal, raised towards the centre, scaled to ``total``."""
    c = wards.geometry.representative_point()
    dist = np.hypot((c.x - -0.13) * 0.62, c.y - 51.51)  # degrees, roughly isotropic
    base = rng.lognormal(0.0, 0.7, len(wards)) * np.exp(-dist / 0.08) * 6 + rng.lognormal(0.0, 0.5, len(wards))
    return base / base.sum() * total


def crimes_for(wards: gpd.GeoDataFrame, counts: np.ndarray, month: str, first_id: int, seed: int) -> list[dict]:
    """Records at uniform random points inside each ward (rejection sampling in its box)."""
    rng = np.random.default_rng(seed)
    lons, lats = [], []
    for geom, n in zip(wards.geometry, counts, strict=True):
        x0, y0, x1, y1 = geom.bounds
        got_x, got_y = np.empty(0), np.empty(0)
        while len(got_x) < n:
            x, y = rng.uniform(x0, x1, 2 * n + 8), rng.uniform(y0, y1, 2 * n + 8)
            keep = shapely.contains_xy(geom, x, y)
            got_x, got_y = np.r_[got_x, x[keep]], np.r_[got_y, y[keep]]
        lons.append(got_x[:n])
        lats.append(got_y[:n])
    return synth_records(np.concatenate(lons), np.concatenate(lats), month, first_id=first_id, seed=seed)


def serve(crimes: dict[str, list[dict]], conn: Connection) -> None:
    """Run the stub in its own process (as the real API is on another machine) until told to stop."""
    with StubApi(crimes, cap=10_000) as stub:
        conn.send(stub.url)
        conn.recv()
        conn.send(list(stub.log))


def truth(records: list[dict], area: BaseGeometry) -> set[int]:
    """Ids one unlimited request for ``area`` would return."""
    lon = np.array([float(r["location"]["longitude"]) for r in records])
    lat = np.array([float(r["location"]["latitude"]) for r in records])
    return {int(records[i]["id"]) for i in np.flatnonzero(shapely.contains_xy(area, lon, lat))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--months", type=int, default=1, help="months to refresh in one run")
    ap.add_argument("--total", type=float, default=90_000, help="expected crimes per month")
    ap.add_argument("--wards", choices=["synthetic", "store"], default="synthetic")
    ap.add_argument("--workers", type=int, default=6)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    rng = np.random.default_rng(args.seed)
    wards = synthetic_wards() if args.wards == "synthetic" else store_wards()
    rates = ward_rates(wards, args.total, rng)
    previous = rng.poisson(rates * rng.lognormal(0, 0.05, len(rates)))  # last month: same pattern, new draw
    months = [str(p) for p in pd.period_range("2024-01", periods=args.months, freq="M")]
    crimes = {m: crimes_for(wards, rng.poisson(rates), m, 10_000_000 * (k + 1), args.seed + k)
              for k, m in enumerate(months)}
    expected = pd.Series(previous.astype(float), index=wards["ward_code"].to_numpy())

    parent, child = mp.Pipe()
    server = mp.Process(target=serve, args=(crimes, child), daemon=True)
    server.start()
    url = parent.recv()
    with tempfile.TemporaryDirectory() as cache:
        settings = Settings(api_url=url, cache_dir=Path(cache))
        client = PoliceApi(settings=settings, limiter=LeakyBucket(settings.api_rate_per_s, settings.api_burst))
        t0 = time.perf_counter()
        frame = refresh_months(months, "london", client=client, areas_gdf=wards, expected=expected,
                               workers=args.workers)
        wall = time.perf_counter() - t0
    parent.send("stop")
    all_requests = parent.recv()
    server.join()
    street = [r for r in all_requests if "crimes-street" in r.path]
    span = max(r.t for r in all_requests) - min(r.t for r in all_requests)
    area = shapely.union_all(wards.geometry.to_numpy())
    exact = all(set(frame.loc[frame["month"] == m, "api_id"]) == truth(crimes[m], area) for m in months)

    totals = [len(crimes[m]) for m in months]
    min_requests = sum(math.ceil(t / 10_000) for t in totals)
    ideal = len(all_requests) / settings.api_rate_per_s
    result = {
        "wards": args.wards, "n_wards": len(wards), "months": len(months), "crimes": sum(totals),
        "largest_ward": int(max(previous)), "exact": exact,
        "street_requests": len(street), "refused_503": sum(r.status == 503 for r in street),
        "min_requests": min_requests, "request_ratio": round(len(street) / min_requests, 3),
        "all_requests": len(all_requests), "wall_s": round(wall, 2), "ideal_s": round(ideal, 2),
        "time_ratio": round(wall / ideal, 3), "request_span_s": round(span, 2),
        "max_bucket_level": round(max_bucket_level([r.t for r in all_requests], settings.api_rate_per_s), 2),
    }
    width = max(map(len, result))
    print("\n".join(f"{k:<{width}}  {v}" for k, v in result.items()))
    out = REPO / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_api_refresh.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
