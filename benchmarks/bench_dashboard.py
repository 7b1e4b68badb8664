"""Benchmark: the dashboard's server side, measured with Streamlit's AppTest (no browser).

1. First render of the Map page from the built store, in a cold process (≤ 2 s), with the
   snapshot's figure and a warm second render (new session, shared caches) as baselines.
2. A filter change (≤ 300 ms): median of 20 reruns changing the measure and offence group by
   widget key; the first change of each value (cache miss) is reported beside it.
3. The map's JSON as sent to the browser (≤ 1.5 MB): the area map component's data in the
   AppTest tree, for the ward 3×3 map (the session's first, with the shapes), then the ward
   choropleth and the borough map (reruns: styles only).
4. Memory for one session (≤ 600 MB, flat): RSS after each of 50 reruns in one long-lived
   process; first, last, peak and the least-squares slope.

Each part runs in its own fresh process (``--part``). The store is built at
``/tmp/bench-store`` when absent (``python -m data_sources build --store /tmp/bench-store``).
Writes ``benchmarks/out/bench_dashboard.json``.

Run: ``.venv/bin/python benchmarks/bench_dashboard.py [--store DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out"
MAP = str(ROOT / "pages" / "1_Map.py")
BUDGET = {"first_render_s": 2.0, "filter_change_ms": 300.0, "map_json_mb": 1.5, "session_rss_mb": 600.0}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _apptest():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(MAP, default_timeout=120)


def part_first_render() -> dict:
    started = time.perf_counter()
    import streamlit.testing.v1  # noqa: F401  (import cost reported separately)

    import_s = time.perf_counter() - started
    rss_before = _rss_mb()
    started = time.perf_counter()
    at = _apptest().run()
    cold = time.perf_counter() - started
    assert not at.exception, at.exception
    started = time.perf_counter()
    at2 = _apptest().run()
    warm = time.perf_counter() - started
    assert not at2.exception
    banner = next((c.value for c in at.caption if c.value.startswith("Data:")), "")
    return {"import_s": round(import_s, 3), "cold_first_render_s": round(cold, 3),
            "warm_new_session_render_s": round(warm, 3), "rss_mb_before": round(rss_before, 1),
            "rss_mb_after": round(_rss_mb(), 1), "banner": banner[:80]}


def _deck_bytes(at) -> int:
    return len(at.get("bidi_component")[0].proto.json.encode())


def part_filter_and_json() -> dict:
    at = _apptest().run()
    sizes = {"ward_bivariate": _deck_bytes(at)}
    at.radio(key="colour").set_value("measure").run()
    sizes["ward_choropleth"] = _deck_bytes(at)
    at.radio(key="level").set_value("borough").run()
    sizes["borough_choropleth"] = _deck_bytes(at)
    at.radio(key="level").set_value("ward").run()
    at.radio(key="colour").set_value("bivariate").run()
    # 20 filter changes, cycling measure × offence group; the first pass over each value misses the cache.
    values = [("measure", "count"), ("measure", "rate"), ("measure", "harm"), ("measure", "rate"),
              ("groups", ["BURGLARY"]), ("groups", []), ("groups", ["ROBBERY"]), ("groups", [])]
    times, first = [], []
    seen: set[str] = set()
    for i in range(20):
        key, value = values[i % len(values)]
        widget = at.selectbox(key=key) if key == "measure" else at.multiselect(key=key)
        widget.set_value(value)
        started = time.perf_counter()
        at.run()
        took = (time.perf_counter() - started) * 1000
        assert not at.exception, at.exception
        times.append(took)
        label = f"{key}={value}"
        if label not in seen:
            seen.add(label)
            first.append(took)
    return {"map_json_bytes": sizes, "filter_change_ms_median": round(statistics.median(times), 1),
            "filter_change_ms_all": [round(t, 1) for t in times],
            "filter_change_ms_first_of_each_value_median": round(statistics.median(first), 1)}


def part_memory() -> dict:
    at = _apptest().run()
    settings = [("measure", "count"), ("measure", "rate"), ("colour", "measure"), ("colour", "bivariate"),
                ("level", "borough"), ("level", "ward"), ("groups", ["THEFT"]), ("groups", [])]
    rss = []
    for i in range(50):
        key, value = settings[i % len(settings)]
        if key in ("colour", "level"):
            at.radio(key=key).set_value(value)
        elif key == "measure":
            at.selectbox(key=key).set_value(value)
        else:
            at.multiselect(key=key).set_value(value)
        at.run()
        assert not at.exception, at.exception
        rss.append(_rss_mb())
    n = len(rss)
    mean_x, mean_y = (n - 1) / 2, sum(rss) / n
    slope = sum((i - mean_x) * (y - mean_y) for i, y in enumerate(rss)) / sum((i - mean_x) ** 2 for i in range(n))
    second_half = rss[n // 2:]
    slope2 = (second_half[-1] - second_half[0]) / (len(second_half) - 1)
    return {"rss_mb_first": round(rss[0], 1), "rss_mb_last": round(rss[-1], 1), "rss_mb_peak": round(max(rss), 1),
            "slope_mb_per_rerun": round(slope, 3), "slope_second_half_mb_per_rerun": round(slope2, 3),
            "rss_mb_all": [round(r, 1) for r in rss]}


PARTS = {"first_render": part_first_render, "filter_and_json": part_filter_and_json, "memory": part_memory}


def _run_part(part: str, store: Path) -> dict:
    env = {**os.environ, "CRIME_TRUST_STORE": str(store)}
    done = subprocess.run([sys.executable, __file__, "--part", part], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"part {part} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=PARTS)
    parser.add_argument("--store", type=Path, default=Path("/tmp/bench-store"))
    args = parser.parse_args()
    if args.part:
        sys.path.insert(0, str(ROOT))
        os.chdir(ROOT)
        print(json.dumps(PARTS[args.part]()))
        return
    if not (args.store / "CURRENT").is_file():
        subprocess.run([sys.executable, "-m", "data_sources", "build", "--store", str(args.store)], cwd=ROOT,
                       check=True)
    load = Path("/proc/loadavg").read_text().split()[:3]
    with tempfile.TemporaryDirectory() as empty:
        snapshot = Path(empty) / "no-store"
        result = {
            "store": {p: _run_part(p, args.store) for p in PARTS},
            "snapshot": {"first_render": _run_part("first_render", snapshot)},
            "loadavg_before": load, "loadavg_after": Path("/proc/loadavg").read_text().split()[:3],
            "cpus": os.cpu_count(), "budget": BUDGET,
        }
    s = result["store"]
    rows = [
        ("first render, Map page, store (cold process)", f"{s['first_render']['cold_first_render_s']:.2f} s",
         "≤ 2 s", f"warm new session {s['first_render']['warm_new_session_render_s']:.2f} s; snapshot cold "
         f"{result['snapshot']['first_render']['cold_first_render_s']:.2f} s"),
        ("filter change (median of 20)", f"{s['filter_and_json']['filter_change_ms_median']:.0f} ms", "≤ 300 ms",
         f"first of each value {s['filter_and_json']['filter_change_ms_first_of_each_value_median']:.0f} ms"),
        ("map JSON, ward 3×3", f"{s['filter_and_json']['map_json_bytes']['ward_bivariate'] / 1e6:.2f} MB",
         "≤ 1.5 MB", f"ward choropleth {s['filter_and_json']['map_json_bytes']['ward_choropleth'] / 1e6:.2f} MB; "
         f"boroughs {s['filter_and_json']['map_json_bytes']['borough_choropleth'] / 1e6:.2f} MB"),
        ("session RSS over 50 reruns", f"{s['memory']['rss_mb_peak']:.0f} MB peak", "≤ 600 MB, flat",
         f"first {s['memory']['rss_mb_first']:.0f}, last {s['memory']['rss_mb_last']:.0f} MB; slope "
         f"{s['memory']['slope_mb_per_rerun']:+.2f} MB/rerun "
         f"(2nd half {s['memory']['slope_second_half_mb_per_rerun']:+.2f})"),
    ]
    print(f"{'measure':48} {'result':>12}  {'budget':16} notes")
    for name, value, budget, note in rows:
        print(f"{name:48} {value:>12}  {budget:16} {note}")
    print(f"load average before/after: {' '.join(load)} / {' '.join(result['loadavg_after'])}; cpus {os.cpu_count()}")
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_dashboard.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
