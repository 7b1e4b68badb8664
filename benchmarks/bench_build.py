"""Benchmark: the full build from ../shared/data, cold (empty store) and warm (cached inputs).

Run: ``.venv/bin/python benchmarks/bench_build.py``
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data_sources.build.build import build_store
from data_sources.settings import get_settings

OUT = Path(__file__).resolve().parent / "out"


def main() -> None:
    data_dir = get_settings().data_dir
    store = Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        timings = {}
        for label in ("cold", "warm"):
            started = time.perf_counter()
            build_store(data_dir, store)
            timings[f"{label}_s"] = round(time.perf_counter() - started, 2)
    finally:
        shutil.rmtree(store, ignore_errors=True)
    summary = {"date": time.strftime("%Y-%m-%d %H:%M"), **timings}
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_build.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
