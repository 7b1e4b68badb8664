"""A fresh clone with no raw data folder: ``update`` then ``counts`` as a new user runs them, and a killed update.

The repository's tracked files are copied to a temporary folder (as ``git clone`` would
leave them), ``$CRIME_TRUST_DATA`` points nowhere, and the two publishers are local
stand-ins. The commands run as subprocesses, exactly as the README gives them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.api_stub import StubApi
from tests.datastore_stub import StubDatastore
from tests.update_fixtures import NEW_MONTH, london_month, publish_all

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """The tracked files of this checkout, copied as a fresh clone has them (no store, no cache)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    dest = tmp_path / "clone"
    for name in filter(None, files.decode().split("\0")):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def env_for(api: StubApi, ds: StubDatastore, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRIME_TRUST_")}
    env.update({"CRIME_TRUST_DATA": str(tmp_path / "there-is-no-raw-data"), "POLICE_API_URL": api.url,
                "LONDON_DATASTORE_URL": ds.url, "PYTHONUNBUFFERED": "1", "POLICE_API_TIMEOUT": "20"})
    return env


def run(clone: Path, env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "data_sources", *args], cwd=clone, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def test_update_then_counts_on_a_fresh_clone(clone: Path, shared_data: Path, tmp_path: Path) -> None:
    snapshot_counts = pd.read_parquet(clone / "data/snapshot/counts_mps_ward.parquet")
    with StubApi({NEW_MONTH: london_month(shared_data)}, months=["2025-02", NEW_MONTH]) as api, \
            StubDatastore() as ds:
        facts = publish_all(ds, shared_data)
        env = env_for(api, ds, tmp_path)
        check = run(clone, env, "update", "--check")
        assert check.returncode == 0, check.stderr[-3000:]
        assert not (clone / "store").exists() and not (clone / "cache").exists()
        assert "police_uk: held to 2025-02, published to 2025-03; 1 new month: 2025-03" in check.stdout
        done = run(clone, env, "update")
        assert done.returncode == 0, done.stderr[-3000:]
        assert "Traceback" not in done.stderr
    assert "police_uk: 1 month added (2025-03)" in done.stdout
    assert "mps_ward: 14 months added (2025-07 to 2026-08)" in done.stdout
    assert "pas: 1 month added (2026-06)" in done.stdout
    assert "store: new version built" in done.stdout
    for source in ("police_uk", "mps_ward"):
        out = tmp_path / f"{source}.csv"
        counts = run(clone, env, "counts", "--source", source, "--out", str(out))
        assert counts.returncode == 0 and "(from store)" in counts.stdout, counts.stderr
    pu = pd.read_csv(tmp_path / "police_uk.csv", dtype={"month": str})
    mw = pd.read_csv(tmp_path / "mps_ward.csv", dtype={"month": str})
    assert pu["month"].max() == NEW_MONTH and pu["month"].min() == "2021-01"
    assert mw["month"].nunique() == 38 and mw["month"].max() == "2026-08"
    old = snapshot_counts[snapshot_counts["month"] <= facts["mps_ward"]["stub"]]
    kept = mw[mw["month"] <= facts["mps_ward"]["stub"]]
    assert kept["count"].sum() == old["count"].sum() and len(kept) == len(old)


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_killed_update_leaves_the_store_and_the_rerun_resumes(clone: Path, shared_data: Path,
                                                              tmp_path: Path) -> None:
    """Whole-update atomicity: killed while the last source downloads, nothing is kept; the re-run resumes."""
    with StubApi({NEW_MONTH: london_month(shared_data)}, months=["2025-02", NEW_MONTH]) as api, \
            StubDatastore() as ds:
        publish_all(ds, shared_data)
        env = env_for(api, ds, tmp_path)
        # A store exists already (police.uk only), so "unchanged" is checked byte for byte.
        first = run(clone, env, "update", "--source", "police_uk")
        assert first.returncode == 0, first.stderr[-3000:]
        before = tree(clone / "store")
        ds.add_fault("slow", path="Q1 26-27", delay=60)  # the PAS workbook: the last source
        proc = subprocess.Popen([sys.executable, "-m", "data_sources", "update"], cwd=clone, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any("Q1 26-27" in r.path for r in ds.log):
            time.sleep(0.05)
        assert proc.poll() is None, "the update finished before it could be killed"
        met_downloads = sum(1 for r in ds.downloads() if "Ward Level" in r.path)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert tree(clone / "store") == before  # nothing kept: not the police month, not the Met release
        ds.faults.clear()
        api.log.clear()
        again = run(clone, env, "update")
        assert again.returncode == 0, again.stderr[-3000:]
    assert "mps_ward: 14 months added" in again.stdout and "pas: 1 month added (2026-06)" in again.stdout
    assert met_downloads == 1 and sum(1 for r in ds.downloads() if "Ward Level" in r.path) == 1  # re-run got a 304
    assert not any(r.path == "crimes-street/all-crime" for r in api.log)


def test_offline_update_says_so_in_one_line(clone: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRIME_TRUST_")}
    env.update({"CRIME_TRUST_DATA": str(tmp_path / "none"), "POLICE_API_URL": "http://127.0.0.1:9/api",
                "LONDON_DATASTORE_URL": "http://127.0.0.1:9"})
    done = run(clone, env, "update", timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [errors[0]] and errors[0].startswith("error: cannot reach police.uk API at http://127.0.0.1:9")
    assert not (clone / "store").exists()
