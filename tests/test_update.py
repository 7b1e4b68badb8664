"""Refreshing the store from the API (served by the local stub) and from an archive zip."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from data_sources.build.build import build_store
from data_sources.fetch.police_api import PoliceApi
from data_sources.fetch.rate_limit import LeakyBucket
from data_sources.fetch.update import ingest_archive, refresh_store
from data_sources.settings import get_settings
from data_sources.store.versions import current_version_dir, open_store
from tests.api_stub import StubApi, synth_records

BURGLARY = "crime/police_uk_met_street_burglary_only"
MONTH = "2024-02"


@pytest.fixture
def built(small_data: Path, shared_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A store built from one real month: (store dir, the month's file)."""
    src = shared_data / BURGLARY / "2024-01-metropolitan-street.csv.gz"
    shutil.copy(src, small_data / "crime")
    store = tmp_path / "store"
    build_store(small_data, store)
    return store, src


@pytest.fixture
def stub(built: tuple[Path, Path]) -> StubApi:
    """A stub serving 2,500 crimes at real London snap points for MONTH, with a 600-crime cap."""
    rows = pd.read_csv(built[1], usecols=["Longitude", "Latitude"]).dropna().head(2500)
    records = synth_records(rows["Longitude"].to_numpy(), rows["Latitude"].to_numpy(), MONTH, seed=3)
    with StubApi({MONTH: records}, cap=600) as server:
        yield server


def client(stub: StubApi, cache: Path) -> PoliceApi:
    settings = replace(get_settings(), api_url=stub.url, cache_dir=cache, api_timeout_s=5, api_max_retries=2)
    return PoliceApi(settings=settings, limiter=LeakyBucket(1e6, 10_000), sleep=lambda s: None)


def finished(stub: StubApi) -> set[tuple]:
    return {(r.path, tuple(sorted(r.params.items()))) for r in stub.log
            if r.status in (200, 503) and r.path not in ("crime-last-updated", "crimes-street-dates")}


def test_refresh_adds_the_month_to_the_store(built: tuple[Path, Path], stub: StubApi, tmp_path: Path) -> None:
    store, _ = built
    settings = replace(get_settings(), store_dir=store)
    manifest = refresh_store([MONTH], "london", settings=settings, client=client(stub, tmp_path / "cache"))
    fetched = manifest["sources"]["police_uk_fetched"]
    assert fetched["months"] == [MONTH]
    rows = open_store(store).read_street([MONTH])
    assert set(rows["dataset"]) == {"api"}
    assert set(rows.loc[rows["longitude"].notna(), "api_id"]) <= {r["id"] for r in stub._months[MONTH].records}
    assert len(rows) >= 2400  # a few snap points sit just outside the London wards
    assert fetched["files"][0]["fetched_at"]
    assert len(stub.requests_to("crimes-street")) > 4  # 2,500 crimes under a 600 cap: several polygons


@pytest.mark.slow  # a long kill-and-resume simulation
def test_killed_refresh_resumes_and_ends_with_the_same_store(built: tuple[Path, Path], stub: StubApi,
                                                             tmp_path: Path, small_data: Path) -> None:
    store, _ = built
    reference_store = tmp_path / "reference"
    build_store(small_data, reference_store)
    refresh_store([MONTH], "london", settings=replace(get_settings(), store_dir=reference_store),
                  client=client(stub, tmp_path / "ref-cache"))
    reference = open_store(reference_store).read("counts_police_uk")

    before = current_version_dir(store)
    stub.log.clear()

    def killer(done: int, total: int) -> None:
        if done >= 3:
            raise KeyboardInterrupt

    settings = replace(get_settings(), store_dir=store)
    with pytest.raises(KeyboardInterrupt):
        refresh_store([MONTH], "london", settings=settings, client=client(stub, tmp_path / "cache"), progress=killer)
    assert current_version_dir(store) == before  # the store did not change
    first = finished(stub)
    stub.log.clear()
    refresh_store([MONTH], "london", settings=settings, client=client(stub, tmp_path / "cache"))
    assert first and not (first & finished(stub))  # no finished request was sent again
    pd.testing.assert_frame_equal(open_store(store).read("counts_police_uk"), reference)


def test_archive_ingest_reads_only_london_forces(built: tuple[Path, Path], shared_data: Path, tmp_path: Path) -> None:
    store, _ = built
    feb = gzip.decompress((shared_data / BURGLARY / f"{MONTH}-metropolitan-street.csv.gz").read_bytes())
    archive = tmp_path / "2024-02.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{MONTH}/{MONTH}-metropolitan-street.csv", feb)
        zf.writestr(f"{MONTH}/{MONTH}-kent-street.csv", feb.replace(b"Metropolitan Police Service", b"Kent Police"))
        zf.writestr(f"{MONTH}/{MONTH}-metropolitan-outcomes.csv", b"ignored")
    manifest = ingest_archive(str(archive), settings=replace(get_settings(), store_dir=store))
    fetched = manifest["sources"]["police_uk_fetched"]
    assert [f["scope"] for f in fetched["files"]] == ["Metropolitan Police Service"]
    assert fetched["rows_read"] == feb.count(b"\n") - 1
    assert set(open_store(store).read_street([MONTH])["reported_by"]) == {"Metropolitan Police Service"}


def test_cli_refresh_offline_says_so(built: tuple[Path, Path], tmp_path: Path) -> None:
    store, _ = built
    env = {"POLICE_API_URL": "http://127.0.0.1:9/api", "CRIME_TRUST_CACHE": str(tmp_path / "cache"),
           "PATH": "/usr/bin:/bin"}
    run = subprocess.run([sys.executable, "-m", "data_sources", "refresh", "--months", MONTH, "--store", str(store)],
                         capture_output=True, text=True, env=env, timeout=120, check=False)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "error: cannot reach police.uk API" in run.stderr
