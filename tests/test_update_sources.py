"""``update_store`` and ``check_updates`` against local stand-ins for police.uk and the London Datastore.

The store starts from a seed (a snapshot made from the real data, as the committed one is)
on a machine without a raw data folder; the stand-ins publish a new police.uk month, a Met
release shifted 14 months forward (its first month a stub, overlapping months revised) and
a PAS workbook one quarter past the data.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest

from core.errors import ApiError, CatalogueError, CrimeTrustError, InputFileError, OfflineError
from data_sources.fetch.update import SOURCES, UpdateError, check_updates, refresh_store, update_store
from data_sources.read import pas
from data_sources.store.snapshot import build_snapshot
from data_sources.store.versions import current_version_dir, open_snapshot, open_store
from tests.api_stub import StubApi
from tests.datastore_stub import MET_SLUG, MET_TITLE, PAS_SLUG, StubDatastore
from tests.update_fixtures import NEW_MONTH, london_month, publish_all, settings_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def snapshot(real_store: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot (with its seed tables) made from the real data, as ``build --snapshot`` makes the committed one."""
    out = tmp_path_factory.mktemp("seed") / "snapshot"
    build_snapshot(real_store[0], out)
    return out


@pytest.fixture(scope="module")
def month(shared_data: Path) -> list[dict]:
    return london_month(shared_data)


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()} if root.exists() else {}


@pytest.fixture(scope="module")
def first_update(snapshot: Path, shared_data: Path, month: list[dict], tmp_path_factory: pytest.TempPathFactory):
    """One update from the seed, then a second with nothing new: (settings, reports, facts, stand-in logs)."""
    root = tmp_path_factory.mktemp("update")
    with StubApi({NEW_MONTH: month}, months=["2025-01", "2025-02", NEW_MONTH]) as api, StubDatastore() as ds:
        facts = publish_all(ds, shared_data)
        settings = settings_for(root, snapshot, api, ds)
        progress: list[tuple[str, int, int]] = []
        first = update_store(settings, progress=lambda *a: progress.append(a))
        api_before, ds_before = len(api.log), len(ds.log)
        second = update_store(settings)
        yield {"settings": settings, "first": first, "second": second, "facts": facts, "progress": progress,
               "api_second": api.log[api_before:], "ds_second": ds.log[ds_before:]}


def test_update_from_the_seed_adds_new_months_and_keeps_the_old(first_update: dict, snapshot: Path) -> None:
    settings, report = first_update["settings"], first_update["first"]
    store, seed = open_store(settings.store_dir), open_snapshot(snapshot)
    results = {r.source: r for r in report.results}
    assert [r.source for r in report.results] == list(SOURCES)
    # police.uk: the new month, all types including anti-social behaviour; the held months unchanged
    pu = results["police_uk"]
    assert pu.months_added == (NEW_MONTH,) and pu.months_revised == () and pu.cells_changed == 0 and pu.gaps == ()
    counts, held = store.read("counts_police_uk"), seed.read("counts_police_uk")
    assert "Anti-social behaviour" in set(counts.loc[counts["month"] == NEW_MONTH, "crime_type"])
    old = counts[counts["month"] < NEW_MONTH].reset_index(drop=True)
    pd.testing.assert_frame_equal(old, held.reset_index(drop=True))
    # Met: months grow past the 24-month window, older months unchanged, overlapping ones revised and counted
    mw, facts = results["mps_ward"], first_update["facts"]["mps_ward"]
    months = sorted(store.read("counts_mps_ward")["month"].unique())
    assert months[0] == "2023-07" and months[-1] == "2026-08" and len(months) == 38
    assert mw.months_added == tuple(m for m in facts["months"] if m > "2025-06")
    assert mw.months_revised == tuple(m for m in facts["months"] if facts["stub"] < m <= "2025-06")
    assert mw.cells_changed == facts["revised_cells"]
    new_mw, old_mw = store.read("counts_mps_ward"), seed.read("counts_mps_ward")
    keep = old_mw["month"] <= facts["stub"]  # up to and including the stub month: the earlier release's figures
    pd.testing.assert_frame_equal(new_mw[new_mw["month"] <= facts["stub"]].reset_index(drop=True),
                                  old_mw[keep].reset_index(drop=True))
    assert mw.gaps == (facts["stub"],)
    stub_gap = report.manifest["currency"]["mps_ward"]["gaps"][0]
    assert stub_gap["month"] == facts["stub"] and not stub_gap["missing"] and "stub month" in stub_gap["reason"]
    # PAS: a quarter added, the workbook's revisions counted, the newer publications kept
    ps = results["pas"]
    assert ps.months_added == (first_update["facts"]["pas"]["quarter"],) == ("2026-06",)
    assert ps.cells_changed == first_update["facts"]["pas"]["revised"]
    trust = store.read("trust")
    assert set(trust["period_end"].dt.strftime("%Y-%m")) >= {"2024-03", "2026-03", "2026-06"}
    assert set(trust.loc[trust["period_end"] == "2026-06-30", "publication"]) == {pas.WORKBOOK}
    # one progress bar per source
    assert {p[0] for p in first_update["progress"]} == set(SOURCES)


def test_manifest_records_where_and_when_each_piece_came_from(first_update: dict) -> None:
    manifest = first_update["first"].manifest
    assert manifest["base"]["kind"] == "seed"
    cur = manifest["currency"]
    assert cur["police_uk"]["newest"] == NEW_MONTH and cur["mps_ward"]["newest"] == "2026-08"
    assert cur["pas"]["newest"] == "2026-06" and cur["pas_london"]["newest"] == "2026-06"
    police = [f for f in cur["police_uk"]["fetched"] if f["what"].startswith(NEW_MONTH)]
    assert police and police[0]["from"].startswith("http://127.0.0.1") and len(police[0]["sha256"]) == 64
    for source, title in (("mps_ward", MET_TITLE), ("pas", "PAS_T&Cdashboard_to Q1 26-27.xlsx")):
        [piece] = cur[source]["fetched"]
        assert piece["what"] == title and piece["at"] and len(piece["sha256"]) == 64
        assert piece["from"].startswith("http://127.0.0.1") and "/download/" in piece["from"]
    files = manifest["sources"]["mps_ward"]["files"]
    assert files[0]["path"].startswith("embedded snapshot: crime/mps_ward_recorded_crime/")
    assert files[-1]["url"].endswith("MPS%20Ward%20Level%20Crime%20(most%20recent%2024%20months).csv")
    assert manifest["sources"]["mps_ward"]["revisions"]["cells_changed"] == first_update["facts"]["mps_ward"][
        "revised_cells"]
    by_pub = cur["pas"]["by_publication"]
    assert by_pub[pas.DASHBOARD]["newest"] == "2026-03" and by_pub[pas.WORKBOOK]["newest"] == "2026-06"


def test_second_update_downloads_nothing_and_keeps_the_store(first_update: dict) -> None:
    second = first_update["second"]
    assert second.manifest == first_update["first"].manifest  # no new version
    assert all(not r.months_added and not r.months_revised and r.rows == 0 for r in second.results)
    files = [r for r in first_update["ds_second"] if r.path.startswith("/download/")]
    assert all(r.status == 304 for r in files) and len(files) == 1  # Met asked conditionally; PAS not at all
    # the month lists only, once for crime and once for stop and search (which it also lists per force)
    assert [r.path for r in first_update["api_second"]] == ["crimes-street-dates", "crimes-street-dates"]


def test_check_reports_and_changes_nothing(snapshot: Path, shared_data: Path, month: list[dict],
                                           tmp_path: Path) -> None:
    with StubApi({NEW_MONTH: month}, months=["2025-01", "2025-02", NEW_MONTH]) as api, StubDatastore() as ds:
        publish_all(ds, shared_data)
        settings = settings_for(tmp_path, snapshot, api, ds)
        checks = {c.source: c for c in check_updates(settings)}
    assert not any(tmp_path.iterdir())  # no store, no cache: nothing on disk
    assert (checks["police_uk"].newest_held, checks["police_uk"].newest_published) == ("2025-02", NEW_MONTH)
    assert checks["police_uk"].to_fetch == (NEW_MONTH,) and checks["police_uk"].note == "1 new month: 2025-03"
    assert (checks["mps_ward"].newest_held, checks["mps_ward"].newest_published) == ("2025-06", "2026-08")
    assert checks["mps_ward"].to_fetch == (MET_TITLE,)
    assert checks["mps_ward"].note.startswith("14 new months: 2025-07 to 2026-08")
    assert (checks["pas"].newest_held, checks["pas"].newest_published) == ("2026-03", "2026-06")
    assert checks["pas"].to_fetch == ("PAS_T&Cdashboard_to Q1 26-27.xlsx",)


def _rename_met(ds: StubDatastore) -> None:
    data = ds.files[f"/download/{MET_SLUG}/d4e5f6/{MET_TITLE}"]
    ds.withdraw(MET_SLUG, "d4e5f6")
    ds.publish(MET_SLUG, "d4e5f6", "Ward crime, last two years.csv", data)


def _met_other_layout(ds: StubDatastore) -> None:
    path = f"/download/{MET_SLUG}/d4e5f6/{MET_TITLE}"  # republished: the catalogue states the new file's checksum
    ds.publish(MET_SLUG, "d4e5f6", MET_TITLE, ds.files[path].replace(b"WardCode", b"Ward_GSS", 1), order=1)


def _pas_without_borough_sheet(ds: StubDatastore) -> None:
    import io

    import openpyxl
    path = next(p for p in ds.files if "Q1 26-27" in p)
    book = openpyxl.load_workbook(io.BytesIO(ds.files[path]))
    del book["Borough"]
    buf = io.BytesIO()
    book.save(buf)
    ds.publish(PAS_SLUG, "1a2b3c", path.rsplit("/", 1)[-1], buf.getvalue(), order=4)


FAULTS = [
    ("renamed_title", _rename_met, None, CatalogueError,
     r"dataset 'recorded_crime_summary' has no ward-level file .*titles found: .*'Ward crime, last two years\.csv'"),
    ("no_resources", lambda ds: ds.datasets[PAS_SLUG].pop("resources"), None, CatalogueError,
     r"dataset 'mopac-surveys': expected a JSON object with 'resources'"),
    ("met_html", lambda ds: ds.add_fault("html200", path="Ward Level"), None, InputFileError,
     r"recorded_crime_summary: 'MPS Ward Level Crime \(most recent 24 months\)\.csv': is an HTML page"),
    ("met_truncated", lambda ds: ds.add_fault("truncate", path="Ward Level", fraction=0.6), None, InputFileError,
     r"'MPS Ward Level Crime \(most recent 24 months\)\.csv': ends part-way through a row .*truncated"),
    ("met_other_layout", _met_other_layout, None, InputFileError,
     r"'MPS Ward Level Crime \(most recent 24 months\)\.csv', line 1: missing column\(s\) \['WardCode'\]"),
    ("pas_html", lambda ds: ds.add_fault("html200", path="Q1 26-27"), None, InputFileError,
     r"mopac-surveys: 'PAS_T&Cdashboard_to Q1 26-27\.xlsx': is an HTML page .*not an Excel workbook"),
    ("pas_truncated", lambda ds: ds.add_fault("truncate", path="Q1 26-27", fraction=0.5), None, InputFileError,
     r"'PAS_T&Cdashboard_to Q1 26-27\.xlsx': does not match the MD5 checksum the catalogue states"),
    ("pas_truncated_no_checksum", lambda ds: (ds.add_fault("truncate", path="Q1 26-27", fraction=0.5),
                                              ds.datasets[PAS_SLUG]["resources"]["1a2b3c"].pop("check_hash")),
     None, InputFileError, r"'PAS_T&Cdashboard_to Q1 26-27\.xlsx': is not a complete Excel workbook"),
    ("pas_no_borough_sheet", _pas_without_borough_sheet, None, InputFileError,
     r"'PAS_T&Cdashboard_to Q1 26-27\.xlsx': has no sheet 'Borough'; sheets found: \['MPS'\]"),
    ("police_month_404", None, {"months": ["2025-01", "2025-02", NEW_MONTH], "crimes": {}, "404": True}, ApiError,
     r"police\.uk lists 2025-03 among its published months but answered 404"),
    ("police_month_empty", None, {"months": ["2025-01", "2025-02", NEW_MONTH], "crimes": {NEW_MONTH: []}}, ApiError,
     r"police\.uk lists 2025-03 as published but answered every polygon of London with no crimes"),
    ("datastore_offline", None, None, OfflineError, r"^cannot reach the London Datastore at http://127\.0\.0\.1:9; "),
]


@pytest.mark.parametrize(("change", "api_kw", "error", "match"), [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_faults_give_one_clear_message_and_change_nothing(change, api_kw, error, match, snapshot: Path,
                                                          shared_data: Path, month: list[dict],
                                                          tmp_path: Path) -> None:
    api_kw = api_kw or {"months": ["2025-01", "2025-02", NEW_MONTH], "crimes": {NEW_MONTH: month}}
    crimes = api_kw["crimes"]
    with StubApi(crimes, months=api_kw["months"]) as api, StubDatastore() as ds:
        if api_kw.get("404"):
            api._months = {}
            api.published = api_kw["months"]
            api.add_fault("404", path="crimes-street/all-crime", times=None)
        publish_all(ds, shared_data)
        if change is not None:
            change(ds)
        settings = settings_for(tmp_path, snapshot, api, ds)
        if error is OfflineError:
            from dataclasses import replace
            settings = replace(settings, datastore_url="http://127.0.0.1:9")
        with pytest.raises(error, match=match) as info:
            update_store(settings, all_or_nothing=True)  # the default updates the other sources (test_update_faults)
    assert isinstance(info.value, CrimeTrustError) and "\n" not in str(info.value)
    assert current_version_dir(settings.store_dir) is None
    assert not (settings.store_dir / "inputs" / "ingested").exists()
    assert not (settings.store_dir / "inputs" / "releases").exists()


def test_a_listed_empty_month_is_asked_again_once_published(snapshot: Path, shared_data: Path, month: list[dict],
                                                            tmp_path: Path) -> None:
    with StubApi({NEW_MONTH: []}, months=["2025-02", NEW_MONTH]) as api, StubDatastore() as ds:
        publish_all(ds, shared_data)
        settings = settings_for(tmp_path, snapshot, api, ds)
        with pytest.raises(ApiError, match="no crimes"):
            update_store(settings, sources=["police_uk"])
        from tests.api_stub import _Month
        api._months[NEW_MONTH] = _Month(month)
        api.log.clear()
        report = update_store(settings, sources=["police_uk"])
        assert report.results[0].months_added == (NEW_MONTH,)
        assert any(r.path == "crimes-street/all-crime" for r in api.log)  # not replayed from the cache


def test_existing_store_is_unchanged_by_a_failed_update(first_update: dict, shared_data: Path,
                                                        month: list[dict], tmp_path: Path) -> None:
    settings = first_update["settings"]
    store = tmp_path / "store"
    shutil.copytree(settings.store_dir, store)
    before = tree(store)
    april = london_month(shared_data, "2025-04")
    with StubApi({"2025-04": april}, months=[NEW_MONTH, "2025-04"]) as api, StubDatastore() as ds:
        publish_all(ds, shared_data)
        ds.add_fault("html200", path=f"/api/dataset/{PAS_SLUG}")  # after police.uk and the Met were fetched
        from dataclasses import replace
        s = replace(settings_for(tmp_path, settings.snapshot_dir, api, ds), store_dir=store)
        with pytest.raises(ApiError, match=r"dataset 'mopac-surveys': the catalogue at .* is an HTML page"):
            update_store(s, all_or_nothing=True)
        assert any(r.path == "crimes-street/all-crime" for r in api.log)
    assert tree(store) == before


def test_refetch_replaces_a_held_month_and_must_be_published(snapshot: Path, shared_data: Path,
                                                             month: list[dict], tmp_path: Path) -> None:
    feb = london_month(shared_data, "2025-02", seed=9)
    with StubApi({"2025-02": feb}, months=["2025-01", "2025-02"]) as api, StubDatastore() as ds:
        publish_all(ds, shared_data)
        settings = settings_for(tmp_path, snapshot, api, ds)
        with pytest.raises(UpdateError, match=r"--refetch 2024-12: police\.uk does not list it"):
            update_store(settings, sources=["police_uk"], refetch=["2024-12"])
        report = update_store(settings, sources=["police_uk"], refetch=["2025-02"])
    [result] = report.results
    assert result.months_added == () and result.months_revised == ("2025-02",) and result.cells_changed == 0
    feb_counts = open_store(settings.store_dir).read("counts_police_uk").query("month == '2025-02'")
    assert "Anti-social behaviour" in set(feb_counts["crime_type"])


def test_refresh_on_a_fresh_clone_seeds_the_store(snapshot: Path, shared_data: Path, month: list[dict],
                                                  tmp_path: Path) -> None:
    with StubApi({NEW_MONTH: month}) as api, StubDatastore() as ds:
        settings = settings_for(tmp_path, snapshot, api, ds)
        manifest = refresh_store([NEW_MONTH], "london", settings=settings)
    assert manifest["base"]["kind"] == "seed"
    assert manifest["sources"]["police_uk_fetched"]["months"] == [NEW_MONTH]
    assert manifest["currency"]["mps_ward"]["newest"] == "2025-06"  # the seed's, unchanged


def test_a_month_with_a_fraction_of_the_usual_crimes_is_kept_and_named_as_a_gap(snapshot: Path, shared_data: Path,
                                                                                  tmp_path: Path) -> None:
    thin = [r for r in london_month(shared_data, others_per_burglary=0) if r["id"] % 10 == 0]  # ~10% of burglary
    with StubApi({NEW_MONTH: thin}, months=["2025-02", NEW_MONTH]) as api, StubDatastore() as ds:
        settings = settings_for(tmp_path, snapshot, api, ds)
        report = update_store(settings, sources=["police_uk"])
    [result] = report.results
    assert result.months_added == (NEW_MONTH,) and result.gaps == (NEW_MONTH,)
    assert f"gaps: {NEW_MONTH}" in result.note
    [gap] = report.manifest["currency"]["police_uk"]["gaps"]
    assert gap["month"] == NEW_MONTH and gap["missing"] and gap["reason"].endswith("of its neighbours")
    assert gap["count"] < 0.2 * gap["expected"]
