"""Benchmark: do the plan-progress intervals cover 95%? A full-size simulation and a borough bootstrap.

1. ``analysis.coverage.simulate_coverage`` with 4,000 replicates: 32 boroughs × 20 synthetic
   wards, borough and ward shocks in each year and no real change; the share of intervals
   that contain "no change", for the page's borough-clustered t intervals and for the old
   independent-ward (quasi-Poisson, normal) intervals, for the cohort's change and for the
   cohort against all other wards. Simulation error at 95%: ±0.7 points.
2. On the data held (police.uk burglary, 2022 against the newest 12 months), the clustered
   interval of the cohort and of every cohort comparison beside the old independent-area
   interval and a borough cluster bootstrap (4,000 resamples), at ward and borough level.

Run: ``.venv/bin/python benchmarks/bench_progress_coverage.py``; writes
``benchmarks/out/bench_progress_coverage.json``.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.change import dispersion, group_ratio, ratio_of_ratios
from analysis.coverage import borough_bootstrap, simulate_coverage
from analysis.priorities import FlagSettings
from analysis.progress import plan_progress
from analysis.progress_groups import clusters_of
from analysis.query import CrimeQuery
from analysis.tables import load_tables
from data_sources.settings import get_settings
from data_sources.store.versions import open_data

OUT = Path(__file__).resolve().parent / "out"
REPS = 4000


def bootstrap_rows(tables, level: str) -> list[dict]:
    """Each comparison of the cohort: clustered interval and bootstrap interval, and their widths' ratio."""
    progress = plan_progress(tables, CrimeQuery("police_uk", level, ("Burglary",)), FlagSettings(), effects=False)
    areas, summary = progress.areas, progress.summary.set_index("group")
    index = tables.area_index(level).set_index("area_code").loc[areas["area_code"]]
    cluster = clusters_of(index, level)
    after, before = areas["latest_count"].to_numpy(float), areas["baseline_count"].to_numpy(float)
    cohort = (areas["group"] == "cohort").to_numpy()
    old = {name: group_ratio(after[m].sum(), before[m].sum(), dispersion(after[m], before[m]))
           for name, m in (("cohort", cohort), ("all_other", ~cohort),
                           *((g, (areas["group"] == g).to_numpy()) for g in ("same_crime_other_trust", "lower_crime")))}
    rows = [{"level": level, "comparison": "cohort", "ratio": round(summary.loc["cohort", "change"], 4),
             "clustered": [round(summary.loc["cohort", "change_lo"], 4), round(summary.loc["cohort", "change_hi"], 4)],
             "independent": [round(old["cohort"].lo, 4), round(old["cohort"].hi, 4)],
             "clustered_vs_independent_width": round(math.log(summary.loc["cohort", "change_hi"]
                                                              / summary.loc["cohort", "change_lo"])
                                                     / math.log(old["cohort"].hi / old["cohort"].lo), 3)}]
    for second in ("all_other", "same_crime_other_trust", "lower_crime"):
        other = ~cohort if second == "all_other" else (areas["group"] == second).to_numpy()
        boot = borough_bootstrap(after, before, cohort, other, cluster, reps=REPS)["first_vs_second"]
        row = summary.loc[f"cohort_vs_{second}"]
        independent = ratio_of_ratios(old["cohort"], old[second])
        rows.append({"level": level, "comparison": f"cohort_vs_{second}", "ratio": round(row["change"], 4),
                     "clustered": [round(row["change_lo"], 4), round(row["change_hi"], 4)],
                     "bootstrap": [round(boot[0], 4), round(boot[1], 4)],
                     "independent": [round(independent.lo, 4), round(independent.hi, 4)],
                     "clustered_vs_independent_width": round(math.log(row["change_hi"] / row["change_lo"])
                                                             / math.log(independent.hi / independent.lo), 3),
                     "clustered_vs_bootstrap_width": round(math.log(row["change_hi"] / row["change_lo"])
                                          / math.log(boot[1] / boot[0]), 3)})
    return rows


def main() -> None:
    started = time.perf_counter()
    coverage = simulate_coverage(REPS)
    seconds = round(time.perf_counter() - started, 1)
    tables = load_tables(open_data(get_settings())[0])
    summary = {"date": time.strftime("%Y-%m-%d %H:%M"), "replicates": REPS, "simulation_seconds": seconds,
               "coverage_clustered_t": coverage.clustered, "coverage_independent_z": coverage.independent,
               "bootstrap": bootstrap_rows(tables, "ward") + bootstrap_rows(tables, "borough")}
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_progress_coverage.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
