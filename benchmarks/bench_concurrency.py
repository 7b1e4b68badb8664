"""Benchmark: 20 browser sessions at once, paced like people and in a burst (a load test).

The scenario of ``tests/test_concurrency.py`` (one server on 127.0.0.1, one headless
Chromium, a single user as the same-run baseline, then 20 paced sessions) plus its second
phase, 20 fresh sessions acting at one instant. The default test run keeps the paced phase
with its error and memory checks; the burst, which adds minutes, runs here, with the
test's former checks on it (``burst_problems``: cancelled downloads are the only error
allowed; the script exits 1 on any other). Writes
``test-artifacts/concurrency-bench.json`` and ``benchmarks/out/bench_concurrency.json``
(the figures without the per-action lists and the server log).

Run: ``.venv/bin/python benchmarks/bench_concurrency.py`` (needs Chromium at /usr/bin/chromium).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_concurrency import burst_problems, run  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def _brief(phase: dict) -> dict:
    return {k: v for k, v in phase.items() if k != "times"}


def main() -> None:
    result = run("concurrency-bench.json", with_burst=True)
    summary = {
        "single_user": _brief(result["single_user"]), "paced": _brief(result["paced"]),
        "burst": _brief(result["burst"]), "paced_ratio": result["paced_ratio"], "burst_ratio": result["burst_ratio"],
        "paced_ratio_per_action": result["paced_ratio_per_action"],
        "burst_cancelled_downloads": result["burst_cancelled_downloads"], "rss_mb": result["rss_mb"],
        "server_tracebacks": result["server_tracebacks"], "outside_requests": len(result["outside_requests"]),
        "burst_problems": burst_problems(result),
        "loadavg_before": result["loadavg_before"], "loadavg_after": result["loadavg_after"],
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_concurrency.json").write_text(json.dumps(summary, indent=2, default=str))
    print(json.dumps(summary, indent=2, default=str))
    if summary["burst_problems"]:
        sys.exit(f"burst: {'; '.join(summary['burst_problems'])}")


if __name__ == "__main__":
    main()
