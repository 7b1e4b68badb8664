"""Benchmark: recompute the plan-progress table after a filter change (680 wards).

``plan_progress(..., effects=False)`` (launch cohort, both windows with their aligned survey
years, per-area and borough-clustered group estimates, quarterly and trust series, the
pre-baseline trend tests for the four comparisons) for 20 different filter settings on
police.uk burglary (the source that covers the launch): measures, flag rules, thresholds
and trust measures. Each setting is new to the call, as a filter change is (nothing below
the UI caches). Median of the 20. Target: ≤ 100 ms. Then the full call with the selection
effects (the selection-alone simulation, 1,000 simulated years, and the placebo), which the
page waits for once per setting: target ≤ 1 s. In the same run, as a reference,
``priority_table`` for the same settings over the latest 12 months. Writes
``benchmarks/out/bench_progress.json``.

Run: ``.venv/bin/python benchmarks/bench_progress.py``
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.priorities import FlagSettings, priority_table
from analysis.progress import plan_progress
from analysis.query import CrimeQuery
from analysis.tables import load_tables
from data_sources.settings import get_settings
from data_sources.store.versions import open_data

OUT = Path(__file__).resolve().parent / "out"
Q = CrimeQuery(source="police_uk", level="ward", crime_types=("Burglary",))


def settings() -> list[tuple[CrimeQuery, FlagSettings]]:
    """20 filter settings: measure × rule × thresholds × trust measure."""
    out = []
    for measure in ("rate", "count", "harm", "density", "harm_rate"):
        for crime_pct, trust_pct in ((2 / 3, 1 / 3), (0.75, 0.25), (0.8, 0.4), (0.9, 0.2)):
            out.append((replace(Q, measure=measure), FlagSettings(crime_pct=crime_pct, trust_pct=trust_pct)))
    out[1] = (out[1][0], replace(out[1][1], method="interval"))
    out[5] = (out[5][0], replace(out[5][1], trust_measure="good_job_local"))
    return out


def median_ms(run, cases) -> tuple[float, list[float]]:
    times = []
    for q, flags in cases:
        started = time.perf_counter()
        run(q, flags)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1), [round(t, 1) for t in times]


def main() -> None:
    handle, _ = open_data(get_settings())
    tables = load_tables(handle)
    cases = settings()
    started = time.perf_counter()
    first = plan_progress(tables, Q, FlagSettings())  # imports statsmodels and warms numpy/scipy once
    first_ms = round((time.perf_counter() - started) * 1000, 1)
    latest = first.latest
    progress_ms, progress_all = median_ms(lambda q, f: plan_progress(tables, q, f, effects=False), cases)
    full_ms, full_all = median_ms(lambda q, f: plan_progress(tables, q, f), cases)
    table_ms, _ = median_ms(lambda q, f: priority_table(tables, replace(q, start=latest[0], end=latest[1]), f), cases)
    summary = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "data": handle.label, "settings": len(cases),
        "wards": len(first.areas), "first_call_ms": first_ms, "progress_filter_change_median_ms": progress_ms,
        "progress_filter_change_max_ms": max(progress_all), "with_selection_effects_median_ms": full_ms,
        "with_selection_effects_max_ms": max(full_all), "priority_table_same_settings_median_ms": table_ms,
        "loadavg": Path("/proc/loadavg").read_text().split()[:3], "target_ms": 100, "effects_target_ms": 1000,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_progress.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
