"""Faults end to end: bad files through the CLI, builds killed part-way, damaged stores.

1. Bad input through ``python -m data_sources build``: exit code 2, one ``error:`` line
   naming the file and the problem, no traceback, and the store byte-for-byte unchanged.
2. A build killed (SIGKILL) at random points leaves the previous store live and readable,
   and the next build completes; an exception inside ``VersionWriter`` publishes nothing.
3. A store deleted or damaged under a reader: ``open_data`` falls back to the snapshot and
   says why; reading a damaged table raises ``StoreError`` saying to rebuild.

The builds use a small data folder: the real boundaries, population, trust and harm
folders (linked, never written) and two real months of Met street files. Skipped when
the shared data is absent.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from core.errors import StoreError
from data_sources.build import build as build_mod
from data_sources.settings import Settings
from data_sources.store import versions as store_mod
from tests.corpus import CASES_BY_ID, Case

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CRIME_TRUST_DATA", REPO.parent / "shared" / "data"))
STREET_SRC = SHARED / "crime" / "police_uk_met_street_burglary_only"
GOOD_MONTHS = ["2021-01", "2021-02"]
NEW_MONTH = "2021-03"

pytestmark = pytest.mark.skipif(not (STREET_SRC / f"{GOOD_MONTHS[0]}-metropolitan-street.csv.gz").is_file(),
                                reason=f"shared data not found at {SHARED}")

#: Corpus cases sent through the CLI: every kind of file fault, and one per other source.
E2E_CASES = [
    "street_truncated_gzip", "street_zip_corrupt_member", "street_semicolons", "street_missing_column",
    "street_month_mismatch", "street_500mb", "mps_unknown_ward", "pas_percentages",
]
LANES = 2
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
ENV.pop("CRIME_TRUST_MAX_INPUT_MB", None)


# --------------------------------------------------------------------------- helpers


def make_data_dir(root: Path) -> Path:
    """A small raw-data folder: real reference folders linked, a few real street files copied."""
    data = root / "data"
    data.mkdir(parents=True)
    for sub in ("boundaries", "population", "harm"):
        (data / sub).symlink_to(SHARED / sub, target_is_directory=True)
    (data / "trust").mkdir()  # file by file, so a test can swap one file without touching the original
    for f in (SHARED / "trust").iterdir():
        (data / "trust" / f.name).symlink_to(f, target_is_directory=f.is_dir())
    (data / "crime" / "met").mkdir(parents=True)
    for month in GOOD_MONTHS:
        shutil.copy2(STREET_SRC / f"{month}-metropolitan-street.csv.gz", data / "crime" / "met")
    return data


def build_cmd(data: Path, store: Path) -> list[str]:
    return [sys.executable, "-m", "data_sources", "build", "--data-dir", str(data), "--store", str(store)]


def run_build(data: Path, store: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(build_cmd(data, store), cwd=REPO, env=ENV, capture_output=True, text=True,
                          timeout=timeout)


def tree_hashes(root: Path, *, skip_building: bool = False) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative path → digest)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if skip_building and "/.building-" in f"/{rel}":
            continue
        if p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def error_lines(stderr: str) -> list[str]:
    """Every 'error: …' message in stderr, each up to its line end.

    The progress bar redraws with carriage returns, so the error may share a physical
    line with the bar's last frame (see ``test_cli_error_starts_its_own_line``).
    """
    return [m.group(0) for m in re.finditer(r"error: [^\r\n]*", stderr)]


@dataclass
class Lane:
    """A data folder and a store built once from it; fault cases run in it one at a time."""

    root: Path
    data: Path
    store: Path
    build_seconds: float


@dataclass
class CaseRun:
    case: Case
    bad_path: Path
    result: subprocess.CompletedProcess[str]
    before: dict[str, str]
    after: dict[str, str]


def _put_bad_file(case: Case, lane: Lane) -> tuple[Path, Path | None]:
    """Write the case's file into the lane's data folder; return it and any link it displaced."""
    scratch = lane.root / "scratch" / case.id
    made = case.make(scratch)
    assert case.e2e is not None
    dest = lane.data / case.e2e / made.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    displaced = None
    if dest.is_symlink():  # never write through a link into the shared data
        displaced = Path(os.readlink(dest))
        dest.unlink()
    os.replace(made, dest)
    return dest, displaced


def _take_bad_file_back(case: Case, lane: Lane, dest: Path, displaced: Path | None) -> None:
    dest.unlink()
    if displaced is not None:
        dest.symlink_to(displaced)
    shutil.rmtree(lane.root / "scratch" / case.id, ignore_errors=True)
    if case.e2e and case.e2e.startswith("crime/") and not any((lane.data / case.e2e).iterdir()):
        (lane.data / case.e2e).rmdir()


def _run_lane(lane: Lane, cases: list[Case]) -> list[CaseRun]:
    runs = []
    for case in cases:
        dest, displaced = _put_bad_file(case, lane)
        try:
            before = tree_hashes(lane.store)
            result = run_build(lane.data, lane.store)
            runs.append(CaseRun(case, dest, result, before, tree_hashes(lane.store)))
        finally:
            _take_bad_file_back(case, lane, dest, displaced)
    return runs


def _new_lane(root: Path) -> Lane:
    data = make_data_dir(root)
    store = root / "store"
    started = time.perf_counter()
    result = run_build(data, store)
    assert result.returncode == 0, result.stderr[-2000:]
    return Lane(root, data, store, time.perf_counter() - started)


@pytest.fixture(scope="module")
def lanes(tmp_path_factory: pytest.TempPathFactory) -> list[Lane]:
    roots = [tmp_path_factory.mktemp(f"lane{i}") for i in range(LANES)]
    with ThreadPoolExecutor(LANES) as pool:
        return list(pool.map(_new_lane, roots))


@pytest.fixture(scope="module")
def case_runs(lanes: list[Lane]) -> dict[str, CaseRun]:
    """Run every E2E case through the CLI, the lanes in parallel, each lane's cases in turn."""
    cases = [CASES_BY_ID[i] for i in E2E_CASES]
    with ThreadPoolExecutor(len(lanes)) as pool:
        per_lane = pool.map(_run_lane, lanes, [cases[i::len(lanes)] for i in range(len(lanes))])
        return {r.case.id: r for runs in per_lane for r in runs}


_GEOGRAPHY: dict[Path, object] = {}
_load_geography = build_mod.load_geography


def _cached_geography(data_dir: Path) -> object:
    """The in-process builds below read the same geography; read it once (saves ~1.5 s)."""
    if data_dir not in _GEOGRAPHY:
        _GEOGRAPHY[data_dir] = _load_geography(data_dir)
    return _GEOGRAPHY[data_dir]


# --------------------------------------------------------------------------- 1. bad input via the CLI


@pytest.mark.slow  # end to end on the real data
@pytest.mark.parametrize("case_id", E2E_CASES)
def test_cli_refuses_bad_file_and_leaves_store_unchanged(case_id: str, case_runs: dict[str, CaseRun]) -> None:
    run = case_runs[case_id]
    res, case = run.result, run.case
    assert res.returncode == 2, f"exit {res.returncode}\n{res.stderr[-3000:]}"
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    errors = error_lines(res.stderr)
    assert len(errors) == 1, errors
    msg = errors[0]
    assert run.bad_path.name in msg, msg
    for fragment in case.problem:
        assert fragment.lower() in msg.lower(), (fragment, msg)
    if case.line is not None:
        assert f", line {case.line}:" in msg, msg
    assert case.hint.lower() in msg.lower(), msg
    assert run.after == run.before, "the failed build changed the store"


@pytest.mark.slow  # end to end on the real data
def test_cli_error_starts_its_own_line(case_runs: dict[str, CaseRun]) -> None:
    """The error line must not be glued to the progress bar's last frame."""
    res = case_runs["street_semicolons"].result
    lines = res.stderr.split("\n")
    assert sum(line.startswith("error:") for line in lines) == 1, res.stderr


# --------------------------------------------------------------------------- 2. killed and failing builds


def _assert_store_serves(store: Path, version: str) -> None:
    handle = store_mod.open_store(store)
    assert handle.root.name == version
    for name in store_mod.CORE_TABLES:
        assert len(handle.read(name)) > 0 or name == "counts_mps_ward", name
    assert set(GOOD_MONTHS) <= set(handle.street_months())


@pytest.mark.slow  # end to end on the real data
def test_killed_builds_leave_previous_store_and_next_build_completes(lanes: list[Lane],
                                                                    case_runs: dict[str, CaseRun]) -> None:
    lane = lanes[0]
    store = lane.store
    version = (store / "CURRENT").read_text()
    published = tree_hashes(store / "versions" / version)
    # A new month, so the killed builds also have input-cache writes in flight.
    shutil.copy2(STREET_SRC / f"{NEW_MONTH}-metropolitan-street.csv.gz", lane.data / "crime" / "met")
    rng = random.Random(20240508)
    delays: list[float | str] = [round(rng.uniform(0.3, 2.5), 2) for _ in range(2)]
    delays.append("while writing the new version")
    outcomes = []
    for delay in delays:
        proc = subprocess.Popen(build_cmd(lane.data, store), cwd=REPO, env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if isinstance(delay, float):
            time.sleep(delay)
        else:  # the riskiest moment: tables half-written into versions/.building-*
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and proc.poll() is None:
                building = list((store / "versions").glob(".building-*/*.parquet"))
                if len(building) >= 2:
                    break
                time.sleep(0.005)
        finished = proc.poll() is not None
        if not finished:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        outcomes.append((delay, "finished first" if finished else "killed"))
        if finished:
            # Too late to interrupt: the new version is complete and live; carry on from it.
            version = (store / "CURRENT").read_text()
            published = tree_hashes(store / "versions" / version)
            continue
        assert (store / "CURRENT").read_text() == version, outcomes
        assert tree_hashes(store / "versions" / version) == published, outcomes
        _assert_store_serves(store, version)
        for part in (store / "inputs").glob("*.parquet"):  # atomic cache writes: no torn files
            store_mod.pd.read_parquet(part)
    assert sum(1 for _, o in outcomes if o == "killed") >= 2, outcomes
    res = run_build(lane.data, store)
    assert res.returncode == 0, res.stderr[-2000:]
    new = (store / "CURRENT").read_text()
    assert new != version
    _assert_store_serves(store, new)
    assert NEW_MONTH in store_mod.open_store(store).street_months()
    (lane.data / "crime" / "met" / f"{NEW_MONTH}-metropolitan-street.csv.gz").unlink()


@pytest.mark.slow  # end to end on the real data
@pytest.mark.parametrize("where", ["write", "commit"])
def test_exception_in_version_writer_publishes_nothing(where: str, lanes: list[Lane],
                                                       case_runs: dict[str, CaseRun],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    lane = lanes[1]
    store = lane.store
    version = (store / "CURRENT").read_text()
    before = tree_hashes(store / "versions", skip_building=True)
    if where == "write":  # fail part-way through writing the tables
        real_write = store_mod.VersionWriter.write
        calls = {"n": 0}

        def failing_write(self: store_mod.VersionWriter, name: str, frame: object) -> Path:
            calls["n"] += 1
            if calls["n"] == 4:
                raise OSError(28, "No space left on device (simulated)")
            return real_write(self, name, frame)  # type: ignore[arg-type]

        monkeypatch.setattr(store_mod.VersionWriter, "write", failing_write)
    else:  # fail after the folder is in place but before CURRENT is switched
        real_atomic = store_mod.write_atomic_bytes

        def failing_atomic(path: Path, data: bytes) -> None:
            if path.name == store_mod.CURRENT:
                raise OSError(5, "I/O error (simulated)")
            real_atomic(path, data)

        monkeypatch.setattr(store_mod, "write_atomic_bytes", failing_atomic)
    monkeypatch.setattr(build_mod, "load_geography", _cached_geography)
    with pytest.raises(OSError, match="simulated"):
        build_mod.build_store(lane.data, store)
    assert (store / "CURRENT").read_text() == version
    assert not list((store / "versions").glob(".building-*")), "unfinished version folder left behind"
    after = tree_hashes(store / "versions", skip_building=True)
    assert {k: v for k, v in after.items() if k.startswith(version + "/")} == \
        {k: v for k, v in before.items() if k.startswith(version + "/")}
    _assert_store_serves(store, version)
    if where == "commit":
        # The complete-but-unpublished folder may remain; it is never current.
        orphans = {k.split("/")[0] for k in after} - {k.split("/")[0] for k in before}
        assert version not in orphans
        for orphan in orphans:
            shutil.rmtree(store / "versions" / orphan)


# --------------------------------------------------------------------------- 3. damaged stores


@pytest.fixture
def damaged(lanes: list[Lane], case_runs: dict[str, CaseRun], tmp_path: Path) -> tuple[Settings, Path]:
    """A private copy of a good store, and a snapshot made from its core tables."""
    src = lanes[0].store
    version = (src / "CURRENT").read_text()
    store = tmp_path / "store"
    (store / "versions").mkdir(parents=True)
    shutil.copytree(src / "versions" / version, store / "versions" / version)
    (store / "CURRENT").write_text(version)
    snap = tmp_path / "snapshot"
    snap.mkdir()
    for name in store_mod.CORE_TABLES:
        shutil.copy2(store / "versions" / version / f"{name}.parquet", snap)
    manifest = json.loads((store / "versions" / version / store_mod.MANIFEST).read_text())
    (snap / store_mod.MANIFEST).write_text(json.dumps({**manifest, "kind": "snapshot"}))
    return Settings(store_dir=store, snapshot_dir=snap), store / "versions" / version


def test_intact_store_is_used(damaged: tuple[Settings, Path]) -> None:
    settings, _ = damaged
    handle, problem = store_mod.open_data(settings)
    assert handle.kind == "store" and problem is None


@pytest.mark.parametrize("damage", ["version_folder_deleted", "manifest_garbage", "table_deleted",
                                    "current_points_nowhere"])
def test_damaged_store_falls_back_to_snapshot_with_a_message(damage: str, damaged: tuple[Settings, Path]) -> None:
    settings, version_dir = damaged
    if damage == "version_folder_deleted":
        shutil.rmtree(version_dir)
    elif damage == "manifest_garbage":
        (version_dir / store_mod.MANIFEST).write_bytes(b"{\x00not json")
    elif damage == "table_deleted":
        (version_dir / "trust.parquet").unlink()
    else:
        (settings.store_dir / store_mod.CURRENT).write_text("no-such-version")
    handle, problem = store_mod.open_data(settings)
    assert handle.kind == "snapshot"
    assert problem and "snapshot" in problem, problem
    if damage != "version_folder_deleted" and damage != "current_points_nowhere":
        assert "manifest" in problem or "lacks tables" in problem, problem
    assert len(handle.read("wards_display")) > 0
    assert "snapshot" in handle.label


def test_store_deleted_entirely_serves_the_snapshot(damaged: tuple[Settings, Path]) -> None:
    settings, _ = damaged
    shutil.rmtree(settings.store_dir)
    handle, _problem = store_mod.open_data(settings)
    assert handle.kind == "snapshot" and len(handle.read("areas")) > 0


@pytest.mark.parametrize("table", ["counts_police_uk", "wards_display"])
@pytest.mark.parametrize("damage", ["truncated", "garbage", "deleted_after_open"])
def test_reading_a_damaged_table_says_to_rebuild(table: str, damage: str, damaged: tuple[Settings, Path]) -> None:
    settings, version_dir = damaged
    handle = store_mod.open_store(settings.store_dir)
    path = version_dir / f"{table}.parquet"
    if damage == "truncated":
        with open(path, "r+b") as fh:
            fh.truncate(path.stat().st_size // 2)
    elif damage == "garbage":
        path.write_bytes(b"this is not parquet" * 100)
    else:
        shutil.rmtree(version_dir)
    with pytest.raises(StoreError) as info:
        handle.read(table)
    msg = str(info.value)
    assert table in msg and "rebuild" in msg and "python -m data_sources build" in msg, msg


def test_reading_damaged_street_rows_says_to_rebuild(damaged: tuple[Settings, Path]) -> None:
    settings, version_dir = damaged
    handle = store_mod.open_store(settings.store_dir)
    part = version_dir / "street" / f"{GOOD_MONTHS[0]}.parquet"
    part.write_bytes(part.read_bytes()[:100])
    with pytest.raises(StoreError, match="rebuild"):
        handle.read_street([GOOD_MONTHS[0]])


def test_settings_replace_is_how_callers_point_at_a_store(damaged: tuple[Settings, Path]) -> None:
    """open_data honours a replaced store_dir (the CLI's `counts --store` relies on it)."""
    settings, _ = damaged
    moved = settings.store_dir.with_name("moved")
    settings.store_dir.rename(moved)
    handle, problem = store_mod.open_data(replace(settings, store_dir=moved))
    assert handle.kind == "store" and problem is None


@pytest.mark.slow  # end to end on the real data
def test_failed_build_leaves_input_cache_untouched(lanes: list[Lane], case_runs: dict[str, CaseRun],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A new good month plus a bad PAS file: the build fails, and nothing under the store may change.

    (The published version is safe either way; this checks the input cache beside it.)
    """
    lane = lanes[1]
    case = CASES_BY_ID["pas_percentages"]
    new_file = lane.data / "crime" / "met" / f"{NEW_MONTH}-metropolitan-street.csv.gz"
    shutil.copy2(STREET_SRC / new_file.name, new_file)
    dest, displaced = _put_bad_file(case, lane)
    monkeypatch.setattr(build_mod, "load_geography", _cached_geography)
    before = tree_hashes(lane.store)
    try:
        with pytest.raises(build_mod.InputFileError, match=r"outside 0\.\.1"):
            build_mod.build_store(lane.data, lane.store)
        after = tree_hashes(lane.store)
    finally:
        _take_bad_file_back(case, lane, dest, displaced)
        new_file.unlink()
    assert after == before, "the failed build changed the store or its input cache"
