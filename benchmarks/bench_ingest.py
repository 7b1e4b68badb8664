"""Benchmark: 1,000,000 police.uk rows read → validate → dedupe check → ward join → store.

Generates a police.uk-format street file whose coordinates are drawn from the real snap
points in the shared London 2022 points (all crime types), with some awkward rows: crimes
without a location, blank IDs (anti-social behaviour), repeated Crime IDs and points
outside London. Times this project's pipeline against plain ``pandas.read_csv`` +
``geopandas.sjoin`` over every row, in the same run, and reports peak memory.

Run: ``.venv/bin/python benchmarks/bench_ingest.py [--rows 1000000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_sources.build.inputs import SourceAccount, drop_outside_london, load_geography, place
from data_sources.read.points_2022 import POINTS_FILE, TYPE_LABELS
from data_sources.read.police_uk_csv import discover_street_files, read_street_file
from data_sources.settings import get_settings
from data_sources.store.versions import write_table
from geo.assign import WardLocator

OUT = Path(__file__).resolve().parent / "out"


def generate(path: Path, rows: int, data_dir: Path, seed: int = 1) -> None:
    """Write a police.uk street CSV of ``rows`` rows from the real 2022 snap points."""
    rng = np.random.default_rng(seed)
    pts = pd.read_csv(data_dir / POINTS_FILE, usecols=["longitude", "latitude"]).drop_duplicates().to_numpy()
    idx = rng.integers(0, len(pts), rows)
    lon, lat = pts[idx, 0].copy(), pts[idx, 1].copy()
    types = np.array([*TYPE_LABELS.values(), "Anti-social behaviour"])
    ctype = types[rng.integers(0, len(types), rows)]
    ids = np.array([f"{h:016x}" * 4 for h in rng.integers(0, 2**63, rows)])
    ids[ctype == "Anti-social behaviour"] = ""
    repeat = rng.random(rows) < 0.01  # 1% repeat the previous row's Crime ID
    ids[1:][repeat[1:]] = ids[:-1][repeat[1:]]
    noloc = rng.random(rows) < 0.02  # 2% without a location
    outside = rng.random(rows) < 0.001  # 0.1% in Surrey
    lon[outside], lat[outside] = -0.45, 51.25
    frame = pd.DataFrame({
        "Crime ID": ids, "Month": "2022-06", "Reported by": "Metropolitan Police Service",
        "Falls within": "Metropolitan Police Service",
        "Longitude": np.where(noloc, "", np.char.mod("%.6f", lon)),
        "Latitude": np.where(noloc, "", np.char.mod("%.6f", lat)),
        "Location": np.where(noloc, "No location", "On or near High Street"),
        "LSOA code": np.where(noloc, "", np.where(outside, "E01030600", "E01000001")),
        "LSOA name": np.where(noloc, "", np.where(outside, "Elmbridge 001A", "City of London 001A")),
        "Crime type": ctype, "Last outcome category": "Under investigation", "Context": "",
    })
    frame.to_csv(path, index=False)


def run_pipeline(path: Path, geo, out: Path) -> int:
    """This project's path: pyarrow read + validation + repeat report + distinct-point join + Parquet.

    The ward index (``geo.locator``) is built once per build and shared by every file,
    like the ward polygons the baseline is given; its build time is reported separately.
    """
    (src,) = discover_street_files(path)
    frame, _report = read_street_file(src)
    kept = drop_outside_london(place(frame, geo), SourceAccount())
    write_table(out, kept)
    return len(kept)


def run_baseline(path: Path, geo, out: Path) -> int:
    """The plain way: pandas.read_csv and geopandas.sjoin over every row."""
    import geopandas as gpd

    frame = pd.read_csv(path)
    frame = frame.drop_duplicates()
    located = frame.dropna(subset=["Longitude", "Latitude"])
    points = gpd.GeoDataFrame(located, geometry=gpd.points_from_xy(located["Longitude"], located["Latitude"]),
                              crs="EPSG:4326").to_crs("EPSG:27700")
    joined = gpd.sjoin(points, geo.wards[["ward_code", "geometry"]], how="inner", predicate="within")
    pd.DataFrame(joined.drop(columns="geometry")).to_parquet(out, index=False)
    return len(joined)


def timed(fn, *args) -> tuple[float, int]:
    started = time.perf_counter()
    n = fn(*args)
    return time.perf_counter() - started, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--which", choices=["both", "pipeline", "baseline"], default="both")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    data_dir = get_settings().data_dir
    path = OUT / f"bench{args.rows}" / "2022-06-metropolitan-street.csv"
    path.parent.mkdir(exist_ok=True)
    if not path.exists():
        generate(path, args.rows, data_dir)
    geo = load_geography(data_dir)
    started = time.perf_counter()
    WardLocator.from_wards(geo.wards)
    index_s = time.perf_counter() - started
    if args.which != "both":  # a child process, so peak memory is this path's alone
        fn = run_pipeline if args.which == "pipeline" else run_baseline
        times = [timed(fn, path, geo, OUT / f"{args.which}.parquet") for _ in range(args.repeat)]
        base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"times": [t for t, _ in times], "rows_out": times[0][1], "peak_rss_mb": base_rss,
                          "index_s": index_s}))
        return
    results = {}
    for which in ("pipeline", "baseline"):
        run = subprocess.run([sys.executable, __file__, "--rows", str(args.rows), "--repeat", str(args.repeat),
                              "--which", which], capture_output=True, text=True, check=True)
        results[which] = json.loads(run.stdout.strip().splitlines()[-1])
    pipe, base = min(results["pipeline"]["times"]), min(results["baseline"]["times"])
    summary = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{platform.machine()}, {platform.processor() or ''} "
        f"{__import__('os').cpu_count()} cores, Python {platform.python_version()}",
        "rows": args.rows, "pipeline_s_best": round(pipe, 3), "baseline_s_best": round(base, 3),
        "speedup": round(base / pipe, 2), "ward_index_build_s": round(results["pipeline"]["index_s"], 3),
        "pipeline_peak_rss_mb": round(results["pipeline"]["peak_rss_mb"]),
        "baseline_peak_rss_mb": round(results["baseline"]["peak_rss_mb"]),
        "pipeline_rows_out": results["pipeline"]["rows_out"], "baseline_rows_out": results["baseline"]["rows_out"],
        "all_times": {k: [round(t, 3) for t in v["times"]] for k, v in results.items()},
    }
    (OUT / "bench_ingest.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
