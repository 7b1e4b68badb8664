"""Benchmark: ``update`` on a store grown from the snapshot, against local stand-ins for both publishers.

1. **Nothing new**: after one update has pulled everything, a second ``update`` (all three
   sources): wall time and requests made (police.uk: the month list; the Datastore: two
   catalogues and one conditional request answered 304; no file downloaded, no rebuild).
2. **One police.uk month for London**: a store seeded from the snapshot, one new month of
   ~90,000 crimes over the real ward polygons (the police.uk stand-in
   refusing polygons over 10,000 with 503, in its own process as the real API is on another
   machine; crimes per ward follow London's own pattern, each ward's share of 2022's crimes,
   which is also what the update plans its polygons from), the real limiter (15 requests/s,
   burst 30): wall time of the API fetch (``refresh_months``) and of everything before the
   rebuild against the rate-limit ideal (all requests / 15 per s), and of the whole update
   (fetch, keep, rebuild).

Run: ``.venv/bin/python -m benchmarks.bench_update [--snapshot data/snapshot]``; needs
``../shared/data`` for the Met release and the PAS workbook the stand-in serves.
Results go to ``benchmarks/out/bench_update.json``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_api_refresh import crimes_for, serve, ward_rates  # noqa: E402
from data_sources.fetch import publishers  # noqa: E402
from data_sources.fetch import update as update_mod  # noqa: E402
from data_sources.fetch.publishers import expected_per_ward  # noqa: E402
from data_sources.fetch.rate_limit import max_bucket_level  # noqa: E402
from data_sources.fetch.update import update_store  # noqa: E402
from data_sources.settings import Settings, get_settings  # noqa: E402
from data_sources.store.versions import open_snapshot  # noqa: E402
from tests.api_stub import StubApi  # noqa: E402
from tests.datastore_stub import StubDatastore  # noqa: E402
from tests.update_fixtures import NEW_MONTH, london_month, publish_all  # noqa: E402

SHARED = REPO.parent / "shared" / "data"


def nothing_new(snapshot: Path, runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, StubApi({NEW_MONTH: london_month(SHARED)},
                                                        months=["2025-02", NEW_MONTH]) as api, StubDatastore() as ds:
        publish_all(ds, SHARED)
        settings = Settings(data_dir=Path(tmp) / "none", store_dir=Path(tmp) / "store", snapshot_dir=snapshot,
                            cache_dir=Path(tmp) / "cache", api_url=api.url, datastore_url=ds.url)
        t0 = time.perf_counter()
        update_store(settings)
        first = time.perf_counter() - t0
        times, requests, downloads = [], [], []
        for _ in range(runs):
            n_api, n_ds, n_dl = len(api.log), len(ds.log), len(ds.downloads())
            t0 = time.perf_counter()
            report = update_store(settings)
            times.append(time.perf_counter() - t0)
            requests.append((len(api.log) - n_api, len(ds.log) - n_ds))
            downloads.append(len(ds.downloads()) - n_dl)
            assert not any(r.rows for r in report.results)
        statuses = sorted({r.status for r in ds.log[-requests[-1][1]:]})
    return {"first_update_s": round(first, 2), "nothing_new_s": [round(t, 3) for t in times],
            "requests_police_uk": requests[-1][0], "requests_datastore": requests[-1][1],
            "datastore_statuses": statuses, "files_downloaded": max(downloads)}


def one_month(snapshot: Path, total: float, seed: int, pattern: str) -> dict[str, object]:
    snap = open_snapshot(snapshot)
    wards = snap.read("wards_placement").to_crs("EPSG:4326")
    rng = np.random.default_rng(seed)
    if pattern == "london":  # London's own pattern: each ward's share of a real all-types month
        per_ward = expected_per_ward(snap.read("counts_police_uk"))
        assert per_ward is not None
        shares = wards["ward_code"].map(per_ward).fillna(1.0).to_numpy()
        rates = shares / shares.sum() * total
    else:
        rates = ward_rates(wards, total, rng)
    records = crimes_for(wards, rng.poisson(rates), NEW_MONTH, 10_000_000, seed)
    parent, child = mp.Pipe()
    server = mp.Process(target=serve, args=({NEW_MONTH: records}, child), daemon=True)
    server.start()
    url = parent.recv()
    marks: dict[str, float] = {}
    real_build = update_mod.build_store

    def timed_build(*a: object, **kw: object) -> dict:
        marks["build_start"] = time.perf_counter()
        return real_build(*a, **kw)  # type: ignore[arg-type]

    real_refresh = publishers.refresh_months

    def timed_refresh(*a: object, **kw: object) -> object:
        marks["api_start"] = time.perf_counter()
        try:
            return real_refresh(*a, **kw)  # type: ignore[arg-type]
        finally:
            marks["api_end"] = time.perf_counter()

    update_mod.build_store = timed_build  # type: ignore[assignment]
    publishers.refresh_months = timed_refresh  # type: ignore[assignment]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(data_dir=Path(tmp) / "none", store_dir=Path(tmp) / "store", snapshot_dir=snapshot,
                                cache_dir=Path(tmp) / "cache", api_url=url)
            t0 = time.perf_counter()
            report = update_store(settings, sources=["police_uk"])
            wall = time.perf_counter() - t0
    finally:
        update_mod.build_store = real_build  # type: ignore[assignment]
        publishers.refresh_months = real_refresh  # type: ignore[assignment]
    parent.send("stop")
    log = parent.recv()
    server.join()
    fetch = marks["build_start"] - t0
    ideal = len(log) / settings.api_rate_per_s
    street = [r for r in log if "crimes-street/" in r.path]
    return {"pattern": pattern, "crimes": len(records), "rows_fetched": report.results[0].rows, "requests": len(log),
            "street_requests": len(street), "refused_503": sum(r.status == 503 for r in street),
            "ideal_s": round(ideal, 2), "api_s": round(marks["api_end"] - marks["api_start"], 2),
            "api_ratio": round((marks["api_end"] - marks["api_start"]) / ideal, 2),
            "fetch_s": round(fetch, 2), "fetch_ratio": round(fetch / ideal, 2),
            "update_total_s": round(wall, 2), "max_bucket_level": round(max_bucket_level([r.t for r in log], 15), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--snapshot", type=Path, default=get_settings().snapshot_dir)
    ap.add_argument("--runs", type=int, default=3, help="runs of the nothing-new update")
    ap.add_argument("--total", type=float, default=90_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pattern", choices=["london", "lognormal"], default="london",
                    help="crimes per ward: London's 2022 pattern, or bench_api_refresh's synthetic one")
    args = ap.parse_args()
    result = {"nothing_new": nothing_new(args.snapshot, args.runs),
              "one_month": one_month(args.snapshot, args.total, args.seed, args.pattern)}
    print(json.dumps(result, indent=1))
    out = REPO / "benchmarks" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_update.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
