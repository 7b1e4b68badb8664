"""The nine ways an unattended nightly ``update`` lost data or stopped resuming (issue 20), each against the stand-ins.

Every case starts from the committed snapshot as a seed (a fresh clone without raw data),
injects one fault into the local stand-ins for police.uk and the London Datastore, checks
what the run says and that the store is byte for byte as it was (or changed exactly as
intended), then runs again without the fault and checks that the run recovers with
nothing lost. The app's two cases (8, 9) are in ``tests/test_update_app.py``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from core.errors import ApiError, InputFileError
from data_sources.build.build import build_store
from data_sources.fetch.update import EXIT_SOME_FAILED, UpdateError, check_updates, update_store
from data_sources.settings import Settings, get_settings
from data_sources.store import versions as store_mod
from data_sources.store.lock import StoreBusyError, lease_version, lock_path, store_lock
from data_sources.store.seed import base_folder
from data_sources.store.versions import current_version_dir, open_snapshot, open_store
from tests.api_stub import StubApi
from tests.datastore_stub import MET_FILE, MET_SLUG, MET_TITLE, StubDatastore, shifted_met_release
from tests.update_fixtures import NEW_MONTH, london_month, publish_all, settings_for

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
SNAPSHOT = get_settings().snapshot_dir
MET_PATH = f"/download/{MET_SLUG}/d4e5f6/{MET_TITLE}"
SEED_MET_NEWEST = "2025-06"


def tree(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative path → digest)."""
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def validators(settings: Settings) -> list[dict]:
    return [json.loads(p.read_text()) for p in (settings.cache_dir / "datastore" / "validators").glob("*.json")]


@pytest.fixture(scope="module")
def month(shared_data: Path) -> list[dict]:
    return london_month(shared_data)


@pytest.fixture
def stands(shared_data: Path, month: list[dict]):
    """Both stand-ins publishing a new police.uk month, a new Met release and a new PAS workbook."""
    with StubApi({NEW_MONTH: month}, months=["2025-01", "2025-02", NEW_MONTH]) as api, StubDatastore() as ds:
        facts = publish_all(ds, shared_data)
        yield api, ds, facts


def _settings(tmp_path: Path, stands, **kw: object) -> Settings:
    api, ds, _ = stands
    return settings_for(tmp_path, SNAPSHOT, api, ds, **kw)


def _met_with(shared: Path, edit) -> bytes:
    """The stand-in's Met release with ``edit(header, rows)`` applied to its parsed CSV."""
    data, _ = shifted_met_release(shared / MET_FILE)
    rows = list(csv.reader(io.StringIO(data.decode())))
    edit(rows[0], rows[1:])
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _newest_met(settings: Settings) -> str:
    return str(open_store(settings.store_dir).read("counts_mps_ward")["month"].max())


# --------------------------------------------------------------------------- 1. a download cut at a line break


@pytest.mark.parametrize("stated", [True, False], ids=["publisher-checksum", "no-checksum-row-count"])
def test_1_a_release_cut_at_a_line_break_is_refused_and_the_next_run_recovers(stated: bool, stands,
                                                                              tmp_path: Path) -> None:
    _, ds, facts = stands
    if not stated:
        ds.datasets[MET_SLUG]["resources"]["d4e5f6"].pop("check_hash")
    ds.add_fault("truncate_line", path="Ward Level", fraction=0.57)
    settings = _settings(tmp_path, stands)
    before = tree(settings.store_dir)
    match = r"does not match the MD5 checksum the catalogue states" if stated else \
        r"fewer rows than the data held in every month both hold .*the download looks incomplete"
    with pytest.raises(InputFileError, match=match):
        update_store(settings, sources=["mps_ward"])
    assert tree(settings.store_dir) == before
    assert validators(settings) == []  # no ETag kept with a body that failed: the next run downloads again
    report = update_store(settings, sources=["mps_ward"])
    [result] = report.results
    assert result.months_added == tuple(m for m in facts["mps_ward"]["months"] if m > SEED_MET_NEWEST)
    assert _newest_met(settings) == "2026-08" and [r.status for r in ds.downloads()][-1] == 200
    assert len(validators(settings)) == 1


def test_1_a_release_shrinking_a_held_month_keeps_the_earlier_figures_and_names_a_gap(shared_data: Path, stands,
                                                                                    tmp_path: Path) -> None:
    _, ds, _ = stands

    def halve_2025_01(header: list[str], rows: list[list[str]]) -> None:
        col = header.index("202501")
        for r in rows:
            r[col] = str(int(r[col]) // 2)

    ds.publish(MET_SLUG, "d4e5f6", MET_TITLE, _met_with(shared_data, halve_2025_01), order=1)
    settings = _settings(tmp_path, stands)
    report = update_store(settings, sources=["mps_ward"])
    seed = open_snapshot(SNAPSHOT).read("counts_mps_ward")
    held = open_store(settings.store_dir).read("counts_mps_ward")
    jan = [frame[frame["month"] == "2025-01"]["count"].sum() for frame in (seed, held)]
    assert jan[0] == jan[1] > 0  # the earlier release's figures, unchanged
    gap = next(g for g in report.manifest["currency"]["mps_ward"]["gaps"] if g["month"] == "2025-01")
    assert "fewer crimes than the one before" in gap["reason"] and "10%" in gap["reason"]
    assert "2025-01" in report.results[0].gaps and "gaps: " in report.results[0].note


# --------------------------------------------------------------------------- 2. a garbled month column


@pytest.mark.parametrize(("column", "garbled"), [("202608", "2026O8"), ("202501", "2025-01")],
                         ids=["newest", "middle"])
def test_2_a_header_that_does_not_parse_is_an_error_naming_the_column(column: str, garbled: str, shared_data: Path,
                                                                     stands, tmp_path: Path) -> None:
    _, ds, facts = stands
    good = ds.files[MET_PATH]
    ds.publish(MET_SLUG, "d4e5f6", MET_TITLE,
               _met_with(shared_data, lambda header, rows: header.__setitem__(header.index(column), garbled)), order=1)
    settings = _settings(tmp_path, stands)
    before = tree(settings.store_dir)
    with pytest.raises(InputFileError, match=rf"column \d+ of the header, '{garbled}', is neither an id column "
                                             r"nor a month YYYYMM"):
        update_store(settings, sources=["mps_ward"])
    assert tree(settings.store_dir) == before and validators(settings) == []
    ds.publish(MET_SLUG, "d4e5f6", MET_TITLE, good, order=1)  # the publisher fixes it
    [result] = update_store(settings, sources=["mps_ward"]).results
    assert result.months_added == tuple(m for m in facts["mps_ward"]["months"] if m > SEED_MET_NEWEST)


# --------------------------------------------------------------------------- 3. a build killed after the fetch


@pytest.mark.parametrize("source", ["mps_ward", "pas"])
def test_3_a_build_killed_after_the_fetch_is_finished_by_the_next_run(source: str, stands, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from data_sources.fetch import update as update_mod

    settings = _settings(tmp_path, stands)
    real_build = update_mod.build_store

    def killed(*args: object, **kw: object) -> None:
        raise KeyboardInterrupt  # as a kill between keeping the release and publishing the version

    monkeypatch.setattr(update_mod, "build_store", killed)
    with pytest.raises(KeyboardInterrupt):
        update_store(settings, sources=[source])
    assert current_version_dir(settings.store_dir) is None
    assert (settings.store_dir / "inputs" / "releases" / source).is_dir()  # kept, not built
    [check] = check_updates(settings, sources=[source])
    assert "fetched but not yet in the store" in check.note and check.to_fetch
    monkeypatch.setattr(update_mod, "build_store", real_build)
    notes: list[tuple[str, str]] = []
    report = update_store(settings, sources=[source], notice=lambda s, line: notes.append((s, line)))
    assert report.built and report.results[0].months_added
    assert any(s == "store" and "an earlier run fetched but did not build" in line for s, line in notes)
    if source == "mps_ward":
        assert _newest_met(settings) == "2026-08"
    else:
        trust = open_store(settings.store_dir).read("trust")
        assert f"{trust['period_end'].max():%Y-%m}" == "2026-06"
    [check] = check_updates(settings, sources=[source])
    assert not check.to_fetch and "up to date" in check.note
    again = update_store(settings, sources=[source])
    assert not again.built


# --------------------------------------------------------------------------- 4. --check by content


def test_4_check_sees_a_new_release_at_the_same_address(shared_data: Path, stands, tmp_path: Path) -> None:
    _, ds, _ = stands
    settings = _settings(tmp_path, stands)
    update_store(settings, sources=["mps_ward"])
    [check] = check_updates(settings, sources=["mps_ward"])
    assert not check.to_fetch and check.note.startswith("up to date")
    newer, _ = shifted_met_release(shared_data / MET_FILE, first="202410", last="202609")
    ds.publish(MET_SLUG, "d4e5f6", MET_TITLE, newer, order=1)  # the same address, new content
    before = tree(settings.store_dir)
    [check] = check_updates(settings, sources=["mps_ward"])
    assert check.to_fetch == (MET_TITLE,) and check.note.startswith("1 new month: 2026-09")
    assert tree(settings.store_dir) == before
    [result] = update_store(settings, sources=["mps_ward"]).results
    assert result.months_added == ("2026-09",) and _newest_met(settings) == "2026-09"


# --------------------------------------------------------------------------- 5. two runs at once


def test_5_a_second_run_waits_then_says_another_update_is_running(stands, tmp_path: Path) -> None:
    settings = _settings(tmp_path, stands)
    held, release = threading.Event(), threading.Event()

    def first_run() -> None:
        with store_lock(settings.store_dir):
            held.set()
            release.wait(30)

    t = threading.Thread(target=first_run)
    t.start()
    try:
        held.wait(10)
        before = tree(settings.store_dir)
        started = time.monotonic()
        with pytest.raises(StoreBusyError, match=rf"another update is running on the store .*process {os.getpid()} "
                                                 r".*waited 0\.5 s\. This update changed nothing"):
            update_store(settings, lock_wait_s=0.5)
        assert 0.5 <= time.monotonic() - started < 3
        assert tree(settings.store_dir) == before
        env = {**os.environ, "CRIME_TRUST_STORE": str(settings.store_dir), "CRIME_TRUST_SNAPSHOT": str(SNAPSHOT),
               "CRIME_TRUST_CACHE": str(settings.cache_dir), "CRIME_TRUST_LOCK_WAIT_S": "0",
               "POLICE_API_URL": settings.api_url, "LONDON_DATASTORE_URL": settings.datastore_url}
        run = subprocess.run([sys.executable, "-m", "data_sources", "update"], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=120, check=False)
        assert run.returncode == 4, run.stderr[-2000:]
        assert "error: another update is running" in run.stderr and "Traceback" not in run.stderr
    finally:
        release.set()
        t.join()
    report = update_store(settings)  # the lock is free again: the run goes ahead
    assert report.built and report.exit_code == 0


def test_5_a_stale_lock_from_a_killed_run_is_named_and_does_not_block(stands, tmp_path: Path) -> None:
    settings = _settings(tmp_path, stands)
    lock_path(settings.store_dir).write_text("999999 nightly-box 2026-12-01 04:30:00\n")  # its flock died with it
    notes: list[tuple[str, str]] = []
    report = update_store(settings, sources=["mps_ward"], notice=lambda s, line: notes.append((s, line)))
    assert report.built
    assert ("store", "a previous update (process 999999 on nightly-box, started 2026-12-01 04:30:00) was cut off; "
                     "finishing what it left") in notes
    assert lock_path(settings.store_dir).read_text() == ""


def test_5_a_run_killed_holding_the_lock_does_not_block_the_next(stands, tmp_path: Path) -> None:
    settings = _settings(tmp_path, stands)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from data_sources.store.lock import store_lock\n"
        "with store_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(600)"),
        str(settings.store_dir)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreBusyError, match=rf"process {holder.pid} on "):
            update_store(settings, lock_wait_s=0)
        holder.kill()  # SIGKILL: no clean-up runs; the kernel drops its flock
        holder.wait(30)
    finally:
        holder.kill()
    notes: list[tuple[str, str]] = []
    report = update_store(settings, sources=["mps_ward"], lock_wait_s=0, notice=lambda s, line: notes.append((s, line)))
    assert report.built and any(f"a previous update (process {holder.pid} on" in line for _, line in notes)


def test_5_two_real_runs_at_once_both_end_cleanly(stands, tmp_path: Path) -> None:
    """Two ``update`` processes started together: one updates, the other waits and finds it done, or says it is busy."""
    settings = _settings(tmp_path, stands)
    env = {**os.environ, "CRIME_TRUST_STORE": str(settings.store_dir), "CRIME_TRUST_SNAPSHOT": str(SNAPSHOT),
           "CRIME_TRUST_CACHE": str(settings.cache_dir), "CRIME_TRUST_DATA": str(settings.data_dir),
           "CRIME_TRUST_LOCK_WAIT_S": "120", "POLICE_API_URL": settings.api_url,
           "LONDON_DATASTORE_URL": settings.datastore_url}
    cmd = [sys.executable, "-m", "data_sources", "update", "--source", "mps_ward", "--source", "pas"]
    runs = [subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outs = [r.communicate(timeout=300) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], [o[1][-1500:] for o in outs]
    assert not any("cannot be read" in err or "Traceback" in err for _, err in outs)
    built = [out for out, _ in outs if "store: new version built" in out]
    assert len(built) == 1, outs  # the second found the work done: "up to date", store unchanged
    assert _newest_met(settings) == "2026-08"


def _rebuild(settings: Settings) -> None:
    with store_lock(settings.store_dir):
        build_store(base_folder(settings.store_dir, settings.snapshot_dir), settings.store_dir)


def test_5_a_version_a_reader_holds_is_not_deleted_under_it(stands, tmp_path: Path) -> None:
    settings = _settings(tmp_path, stands)
    update_store(settings, sources=["mps_ward"])
    first = current_version_dir(settings.store_dir)
    assert first is not None
    lease = lease_version(first)
    assert lease is not None
    try:
        for _ in range(store_mod.KEEP_VERSIONS):  # enough builds to prune it, were it not held
            _rebuild(settings)
        assert open_store(settings.store_dir).root != first
        assert len(store_mod.DataHandle(first, "store", {}).read("counts_mps_ward")) > 0  # its reader still reads
    finally:
        lease.close()
    _rebuild(settings)
    assert not first.exists()  # released: pruned by the next build


# --------------------------------------------------------------------------- 6. a bad police.uk month list


@pytest.mark.parametrize("bad", ["empty_list", "month_answers_nothing"])
def test_6_a_bad_month_list_does_not_block_the_other_sources(bad: str, shared_data: Path, month: list[dict],
                                                             tmp_path: Path) -> None:
    listed = [] if bad == "empty_list" else ["2025-01", "2025-02", NEW_MONTH]
    with StubApi({NEW_MONTH: []}, months=listed) as api, StubDatastore() as ds:
        facts = publish_all(ds, shared_data)
        settings = settings_for(tmp_path, SNAPSHOT, api, ds)
        problem = r"lists no published months at all" if bad == "empty_list" else \
            r"lists 2025-03 as published but answered every polygon of London with no crimes"
        with pytest.raises(ApiError, match=problem):
            update_store(settings, sources=["police_uk"])
        with pytest.raises(ApiError, match=problem + r".*all or nothing: no source was kept; to update the others "
                                                     r"meanwhile: python -m data_sources update --source mps_ward "
                                                     r"--source pas --source stop_search\]"):
            update_store(settings, all_or_nothing=True)
        assert current_version_dir(settings.store_dir) is None
        report = update_store(settings)
        assert report.exit_code == EXIT_SOME_FAILED == 3
        results = {r.source: r for r in report.results}
        # an empty list fails stop and search too (it reads the same list); a month that answers nothing does not
        failed = ["police_uk", "stop_search"] if bad == "empty_list" else ["police_uk"]
        assert [r.source for r in report.failed] == failed and results["police_uk"].note.startswith("FAILED")
        assert results["mps_ward"].months_added and results["pas"].months_added == ("2026-06",)
        assert _newest_met(settings) == max(facts["mps_ward"]["months"])
        held_met = open_store(settings.store_dir).read("counts_mps_ward")
        # police.uk publishes the month properly: the next run adds it and loses nothing
        from tests.api_stub import _Month
        api.published = ["2025-01", "2025-02", NEW_MONTH]
        api._months[NEW_MONTH] = _Month(month)
        report = update_store(settings)
        assert report.exit_code == 0 and report.results[0].months_added == (NEW_MONTH,)
        assert open_store(settings.store_dir).read("counts_mps_ward").equals(held_met)


def test_6_the_command_line_names_the_failed_source_and_exits_3(shared_data: Path, tmp_path: Path) -> None:
    with StubApi({NEW_MONTH: []}, months=[]) as api, StubDatastore() as ds:
        publish_all(ds, shared_data)
        env = {**os.environ, "CRIME_TRUST_STORE": str(tmp_path / "store"), "CRIME_TRUST_SNAPSHOT": str(SNAPSHOT),
               "CRIME_TRUST_CACHE": str(tmp_path / "cache"), "CRIME_TRUST_DATA": str(tmp_path / "no-raw-data"),
               "POLICE_API_URL": api.url, "LONDON_DATASTORE_URL": ds.url}
        run = subprocess.run([sys.executable, "-m", "data_sources", "update"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 3, run.stderr[-2000:]
    assert "police_uk: FAILED: police.uk lists no published months at all" in run.stdout
    assert "stop_search: FAILED: police.uk lists no published months at all" in run.stdout
    assert "error: police_uk, stop_search failed (see above); mps_ward, pas were updated" in run.stderr
    assert "python -m data_sources update --source police_uk" in run.stderr and "Traceback" not in run.stderr
    assert "store: new version built" in run.stdout


def test_6_a_datastore_fault_does_not_block_police_uk_either(stands, tmp_path: Path) -> None:
    _, ds, _ = stands
    ds.add_fault("html200", path="Ward Level", times=None)
    settings = _settings(tmp_path, stands)
    report = update_store(settings)
    results = {r.source: r for r in report.results}
    assert report.exit_code == 3 and [r.source for r in report.failed] == ["mps_ward"]
    assert "is an HTML page" in results["mps_ward"].error
    assert results["police_uk"].months_added == (NEW_MONTH,) and results["pas"].months_added == ("2026-06",)
    assert _newest_met(settings) == SEED_MET_NEWEST  # the Met's figures as they were
    ds.faults.clear()
    report = update_store(settings)
    results = {r.source: r for r in report.results}
    assert report.exit_code == 0 and results["mps_ward"].months_added and not results["police_uk"].months_added
    assert _newest_met(settings) == "2026-08"


# --------------------------------------------------------------------------- 7. a publisher that never answers


def test_7_a_publisher_that_never_answers_is_given_up_within_the_bound(stands, tmp_path: Path) -> None:
    _, ds, _ = stands
    ds.add_fault("slow", path="/api/dataset/", delay=30, times=None)
    settings = replace(_settings(tmp_path, stands), api_timeout_s=1.0, api_max_retries=5, publisher_wait_s=3.0)
    lines: list[tuple[str, str]] = []
    started = time.monotonic()
    with pytest.raises(ApiError, match=r"gave up after \d attempts \(no answer within 1 s; no answer for 3 s, "
                                       r"the limit is 3 s\)"):
        update_store(settings, sources=["mps_ward"], notice=lambda s, line: lines.append((s, line)))
    took = time.monotonic() - started
    assert took < 3.0 + 1.0 + 1.5, took  # the bound, one request's timeout, and slack for a busy machine
    assert lines and all(s == "mps_ward" and "retrying in" in line and "without an answer" in line
                         for s, line in lines)
    assert current_version_dir(settings.store_dir) is None
    ds.faults.clear()
    assert update_store(settings, sources=["mps_ward"]).results[0].months_added


def test_unknown_source_is_still_an_error(tmp_path: Path, stands) -> None:
    with pytest.raises(UpdateError, match="unknown source"):
        update_store(_settings(tmp_path, stands), sources=["nope"])
