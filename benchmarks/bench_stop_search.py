"""Benchmark: the Stop and search page's server side, with Streamlit's AppTest (no browser).

1. First render from the built store in a cold process (≤ 2 s), and a second session's
   render on the warm process.
2. A filter change (≤ 300 ms): the median of reruns changing the period, the ethnicity and
   the compared group by widget key, cycling so that both cache misses and hits occur; the
   first (cold) change of each value is reported beside it.

Each part runs in its own fresh process. Writes ``benchmarks/out/bench_stop_search.json``.

Run: ``.venv/bin/python benchmarks/bench_stop_search.py --store /tmp/bench-store``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out"
PAGE = str(ROOT / "pages" / "7_Stop_and_search.py")
BUDGET = {"first_render_s": 2.0, "filter_change_ms": 300.0}


def _apptest():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=120)
    at.query_params["level"] = "borough"
    return at


def part_first_render() -> dict:
    import streamlit.testing.v1  # noqa: F401  (import cost kept out of the figure)

    started = time.perf_counter()
    at = _apptest().run()
    cold = time.perf_counter() - started
    assert not at.exception, at.exception
    started = time.perf_counter()
    assert not _apptest().run().exception
    warm = time.perf_counter() - started
    return {"cold_first_render_s": round(cold, 3), "warm_new_session_render_s": round(warm, 3)}


def part_filter_change() -> dict:
    at = _apptest().run()
    changes = [("ssfrom", "selectbox", "2023-01"), ("eth", "radio", "self"), ("grp", "radio", "asian"),
               ("ssfrom", "selectbox", "2023-09"), ("eth", "radio", "officer"), ("grp", "radio", "black")]
    first, later = [], []
    for round_ in range(4):
        for key, kind, value in changes:
            started = time.perf_counter()
            getattr(at, kind)(key=key).set_value(value).run()
            took = (time.perf_counter() - started) * 1000
            assert not at.exception, at.exception
            (first if round_ == 0 else later).append(took)
    return {"first_change_ms": [round(x) for x in first], "median_change_ms": round(statistics.median(later), 1),
            "max_change_ms": round(max(later))}


PARTS = {"first_render": part_first_render, "filter_change": part_filter_change}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", default="/tmp/bench-store")
    parser.add_argument("--part", choices=PARTS)
    args = parser.parse_args()
    if args.part:
        print(json.dumps(PARTS[args.part]()))
        return
    env = {**os.environ, "CRIME_TRUST_STORE": args.store, "PYTHONPATH": str(ROOT)}
    results = {}
    for part in PARTS:
        out = subprocess.run([sys.executable, __file__, "--part", part, "--store", args.store], env=env,
                             capture_output=True, text=True, check=True)
        results[part] = json.loads(out.stdout.strip().splitlines()[-1])
    results["budget"] = BUDGET
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_stop_search.json").write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
