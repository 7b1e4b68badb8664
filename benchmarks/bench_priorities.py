"""Benchmark: recompute the full ward priority table after a threshold change and after a filter change.

680 wards × 24 months (Jul 2023 - Jun 2025) × all 31 Met offence subgroups (``mps_ward``). Each
figure is the median of 20 runs; the baseline, measured in the same run, is a naive pandas
version of the same table's core (filter the tidy counts, group by ward, join population and
trust, rate, terciles and the percentile flag). A threshold change re-flags a kept base
(``flag_areas``), as the dashboard does with its cached base; a filter change recomputes
everything (``priority_table``: nothing below the UI caches). Writes
``benchmarks/out/bench_priorities.json``.

Run: ``.venv/bin/python benchmarks/bench_priorities.py``
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd

from analysis.priorities import FlagSettings, flag_areas, priority_base, priority_table
from analysis.query import CrimeQuery
from analysis.tables import load_tables
from data_sources.settings import get_settings
from data_sources.store.versions import open_data

OUT = Path(__file__).resolve().parent / "out"
RUNS = 20
FULL = CrimeQuery(source="mps_ward", level="ward", start="2023-07", end="2025-06")


def _median_ms(run: Callable[[int], object]) -> float:
    times = []
    for i in range(RUNS):
        started = time.perf_counter()
        run(i)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 2)


def _naive(counts: pd.DataFrame, population: pd.DataFrame, ward_trust: pd.DataFrame, months: tuple[str, str],
           groups: list[str] | None, crime_pct: float) -> pd.DataFrame:
    """The same table's core the obvious pandas way, as a baseline."""
    rows = counts[counts["month"].between(*months)]
    if groups:
        rows = rows[rows["crime_group"].isin(groups)]
    by_ward = rows.groupby("area_code", as_index=False)["count"].sum()
    table = population.merge(by_ward, on="area_code", how="left").merge(ward_trust, on="area_code", how="left")
    table["count"] = table["count"].fillna(0)
    table["rate"] = table["count"] / table["population"] * 1000
    table["crime_class"] = pd.qcut(table["rate"], 3, labels=False, duplicates="drop")
    table["trust_class"] = pd.qcut(table["trust"], 3, labels=False, duplicates="drop")
    table["flagged"] = (table["rate"] >= table["rate"].quantile(crime_pct)) & \
        (table["trust"] <= table["trust"].quantile(1 / 3))
    return table.sort_values(["flagged", "rate"], ascending=False)


def main() -> None:
    handle, _ = open_data(get_settings())
    tables = load_tables(handle)
    groups = sorted(set(tables.counts_mps_ward["crime_group"].astype(str)))
    periods = [("2023-07", "2025-06"), ("2024-07", "2025-06")]
    filters = [CrimeQuery(source="mps_ward", start=s, end=e, crime_groups=(g,))
               for g in groups for s, e in periods][:RUNS]

    started = time.perf_counter()
    table = priority_table(tables, FULL, FlagSettings()).table
    first_ms = round((time.perf_counter() - started) * 1000, 2)
    base = priority_base(tables, FULL, FlagSettings())
    threshold_ms = _median_ms(lambda i: flag_areas(base, FlagSettings(crime_pct=0.55 + i / 100)))
    filter_ms = _median_ms(lambda i: priority_table(tables, filters[i], FlagSettings()))

    wards = tables.wards[["area_code", "population"]]
    trust = pd.DataFrame({"area_code": table["area_code"], "trust": table["trust"]})
    counts = tables.counts_mps_ward.astype({"area_code": object, "month": object, "crime_group": object})
    naive_threshold_ms = _median_ms(lambda i: _naive(counts, wards, trust, ("2023-07", "2025-06"), None,
                                                     0.55 + i / 100))
    naive_filter_ms = _median_ms(lambda i: _naive(counts, wards, trust, (filters[i].start, filters[i].end),
                                                  list(filters[i].crime_groups), 2 / 3))
    summary = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "data": handle.label, "runs": RUNS,
        "shape": {"wards": len(tables.wards), "months": len(tables.cubes["mps_ward"].months),
                  "crime_types": len(tables.cubes["mps_ward"].types)},
        "first_table_ms": first_ms,
        "threshold_change_ms": threshold_ms,
        "filter_change_ms": filter_ms,
        "baseline_naive_pandas_threshold_ms": naive_threshold_ms,
        "baseline_naive_pandas_filter_ms": naive_filter_ms,
        "flagged_wards_default": int(np.sum(table["flagged"])),
        "target_ms": 50,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_priorities.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
