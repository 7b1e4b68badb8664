"""``update --source stop_search`` against the local police.uk stand-in: new months, nothing new, faults, resume.

Every run starts from the committed snapshot as a seed (a fresh clone without raw data), which
holds the Met's searches to 2025-04 and the City of London's to 2025-02. The stand-in lists
stop-and-search months per force in ``crimes-street-dates`` and answers ``stops-force``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import ApiError
from data_sources.fetch.update import EXIT_SOME_FAILED, check_updates, update_store
from data_sources.settings import Settings, get_settings
from data_sources.store.kept_stops import kept_answers
from data_sources.store.versions import current_version_dir, open_snapshot, open_store
from tests.api_stub import StubApi
from tests.datastore_stub import StubDatastore
from tests.test_stop_search_readers import RECORD
from tests.test_update_faults import tree
from tests.update_fixtures import NEW_MONTH, london_month, publish_all, settings_for

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
SNAPSHOT = get_settings().snapshot_dir
#: Points in Westminster, Lambeth and Hackney.
POINTS = [("51.516275", "-0.126121"), ("51.462100", "-0.115000"), ("51.545000", "-0.055000")]


def month_of_searches(month: str, n: int = 300) -> list[dict]:
    """``n`` searches in ``month`` spread over its days (so not cut short) and three London points."""
    out = []
    for i in range(n):
        lat, lon = POINTS[i % len(POINTS)]
        out.append({**RECORD, "datetime": f"{month}-{1 + i % 28:02d}T12:00:00+00:00",
                    "location": {"latitude": lat, "longitude": lon, "street": {"id": i, "name": "On or near X"}}})
    return out


#: Held by the seed (listed, never pulled) and one new Met month.
HELD = {("metropolitan", "2025-04"): [], ("city-of-london", "2025-02"): []}
NEW = {("metropolitan", "2025-05"): month_of_searches("2025-05")}


def stops_stub(**kw: object) -> StubApi:
    return StubApi({}, months=["2025-02", "2025-04", "2025-05"], stops={**HELD, **NEW}, **kw)  # type: ignore[arg-type]


def _settings(root: Path, api: StubApi, ds: StubDatastore) -> Settings:
    return settings_for(root, SNAPSHOT, api, ds)


def _force_months(settings: Settings) -> dict[tuple[str, str], int]:
    m = open_store(settings.store_dir).read("stop_search_months")
    return {(str(f), str(mo)): int(n) for f, mo, n in zip(m["force"], m["month"], m["searches"], strict=True) if n}


def test_a_new_month_is_added_then_nothing_new_pulls_nothing(tmp_path: Path) -> None:
    with stops_stub() as api, StubDatastore() as ds:
        settings = _settings(tmp_path, api, ds)
        [check] = check_updates(settings, sources=["stop_search"])
        assert check.newest_held == "metropolitan 2025-04, city-of-london 2025-02"
        assert check.newest_published == "metropolitan 2025-05, city-of-london 2025-02"
        assert check.to_fetch == ("metropolitan 2025-05",) and check.note == "1 new force-month: metropolitan 2025-05"
        assert not api.requests_to("stops-force") and current_version_dir(settings.store_dir) is None
        report = update_store(settings, sources=["stop_search"])
        [result] = report.results
        assert report.built and report.exit_code == 0
        assert result.months_added == ("2025-05",) and result.rows == 300
        assert result.note.startswith("1 force-month added (metropolitan 2025-05)")
        assert "coverage gaps: metropolitan 2025-05" in result.note  # 300 searches: far below a Met month
        assert [(r.params["force"], r.params["date"]) for r in api.requests_to("stops-force")] == [
            ("metropolitan", "2025-05")]  # one request per force and month, only the new one
        held = _force_months(settings)
        seed = open_snapshot(SNAPSHOT).read("stop_search_months")
        assert held[("metropolitan", "2025-05")] == 300
        assert {k: v for k, v in held.items() if k[1] != "2025-05"} == {
            (str(f), str(mo)): int(n) for f, mo, n in zip(seed["force"], seed["month"], seed["searches"], strict=True)
            if n}  # every month held before, unchanged
        counts = open_store(settings.store_dir).read("stop_search_counts")
        may = counts[(counts["month"] == "2025-05") & (counts["dimension"] == "all")]
        assert int(may["count"].sum()) == 300 and may["ward_code"].notna().all()
        # nothing new: no stops-force request, no build, the store as it was
        before = tree(settings.store_dir)
        again = update_store(settings, sources=["stop_search"])
        assert not again.built and again.results[0].note.startswith("up to date (newest metropolitan 2025-05")
        assert len(api.requests_to("stops-force")) == 1 and tree(settings.store_dir) == before
        [check] = check_updates(settings, sources=["stop_search"])
        assert check.newest_held == "metropolitan 2025-05, city-of-london 2025-02"
        assert check.to_fetch == () and check.note == "up to date"


@pytest.mark.parametrize("fault", ["503", "429"])
def test_a_failing_stops_force_leaves_its_data_and_updates_the_others(fault: str, shared_data: Path,
                                                                      tmp_path: Path) -> None:
    crime = london_month(shared_data)
    city = [{**r, "location": {**r["location"], "latitude": "51.515500", "longitude": "-0.092200"}}  # Guildhall
            for r in month_of_searches(NEW_MONTH, 120)]
    with StubApi({NEW_MONTH: crime}, months=["2025-01", "2025-02", NEW_MONTH],
                 stops={("city-of-london", "2025-02"): [], ("city-of-london", NEW_MONTH): city}) as api, \
            StubDatastore() as ds:
        publish_all(ds, shared_data)
        api.add_fault(fault, path="stops-force", times=None, retry_after="0" if fault == "429" else None)
        settings = _settings(tmp_path, api, ds)
        with pytest.raises(ApiError, match=r"gave up after 2 attempts \(HTTP " + fault):  # alone: exit 2
            update_store(settings, sources=["stop_search"])
        assert not settings.store_dir.exists()
        report = update_store(settings)
        results = {r.source: r for r in report.results}
        assert report.exit_code == EXIT_SOME_FAILED == 3 and [r.source for r in report.failed] == ["stop_search"]
        assert results["stop_search"].note.startswith("FAILED") and "stop and search for city-of-london in 2025-03" \
            in results["stop_search"].error
        assert results["police_uk"].months_added == (NEW_MONTH,) and results["pas"].months_added == ("2026-06",)
        assert results["mps_ward"].months_added
        assert kept_answers(settings.store_dir) == []
        seed = open_snapshot(SNAPSHOT)
        for table in ("stop_search_months", "stop_search_counts"):  # the stop-and-search figures as they were
            assert open_store(settings.store_dir).read(table).equals(seed.read(table))
        api.faults.clear()
        report = update_store(settings)
        results = {r.source: r for r in report.results}
        assert report.exit_code == 0 and results["stop_search"].months_added == (NEW_MONTH,)
        assert "police.uk lists no stop and search month for metropolitan (nothing to pull for it)" in \
            results["stop_search"].note
        assert not results["police_uk"].months_added and not results["mps_ward"].months_added
        assert _force_months(settings)[("city-of-london", NEW_MONTH)] == 120


def test_killed_after_keeping_before_building_the_next_run_builds_it(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from data_sources.fetch import update as update_mod

    real_build = update_mod.build_store

    def killed(*args: object, **kw: object) -> None:
        raise KeyboardInterrupt  # as a kill between keeping the answers and publishing the version

    with stops_stub() as api, StubDatastore() as ds:
        settings = _settings(tmp_path, api, ds)
        monkeypatch.setattr(update_mod, "build_store", killed)
        with pytest.raises(KeyboardInterrupt):
            update_store(settings, sources=["stop_search"])
        assert current_version_dir(settings.store_dir) is None
        assert [(m, f) for _, m, f in kept_answers(settings.store_dir)] == [("2025-05", "metropolitan")]
        [check] = check_updates(settings, sources=["stop_search"])
        assert check.to_fetch == ("build metropolitan 2025-05 (stops-force answer kept)",)
        assert "fetched but not yet in the store" in check.note
        monkeypatch.setattr(update_mod, "build_store", real_build)
        notes: list[tuple[str, str]] = []
        report = update_store(settings, sources=["stop_search"], notice=lambda s, line: notes.append((s, line)))
        assert report.built and report.results[0].months_added == ("2025-05",)
        assert any(s == "store" and "stop_search metropolitan 2025-05" in line for s, line in notes)
        assert len(api.requests_to("stops-force")) == 1  # kept: not asked for again
        assert _force_months(settings)[("metropolitan", "2025-05")] == 300
        [check] = check_updates(settings, sources=["stop_search"])
        assert check.to_fetch == () and check.note == "up to date"
        assert not update_store(settings, sources=["stop_search"]).built


def test_the_command_line_check_names_held_and_published_and_changes_nothing(tmp_path: Path) -> None:
    with stops_stub() as api, StubDatastore() as ds:
        env = {**os.environ, "CRIME_TRUST_STORE": str(tmp_path / "store"), "CRIME_TRUST_SNAPSHOT": str(SNAPSHOT),
               "CRIME_TRUST_CACHE": str(tmp_path / "cache"), "CRIME_TRUST_DATA": str(tmp_path / "no-raw-data"),
               "POLICE_API_URL": api.url, "LONDON_DATASTORE_URL": ds.url}
        run = subprocess.run([sys.executable, "-m", "data_sources", "update", "--check", "--source", "stop_search"],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert ("stop_search: held to metropolitan 2025-04, city-of-london 2025-02, published to metropolitan 2025-05, "
            "city-of-london 2025-02; 1 new force-month: metropolitan 2025-05 [would fetch: metropolitan 2025-05]"
            ) in run.stdout
    assert not (tmp_path / "store").exists()
