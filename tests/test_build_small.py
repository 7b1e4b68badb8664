"""The build on a small data folder: overlapping archives, incremental months, summary.

The data folder links the real boundaries, population, trust and harm folders (read in
place, never copied into the repo) and holds its own small crime folder.
"""

from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path

import pytest

from data_sources.build import inputs as build_inputs
from data_sources.build.build import build_store, summary_lines
from data_sources.store.versions import open_store

BURGLARY = "crime/police_uk_met_street_burglary_only"


def plain_month(shared_data: Path, month: str) -> bytes:
    return gzip.decompress((shared_data / BURGLARY / f"{month}-metropolitan-street.csv.gz").read_bytes())


def write_archive(path: Path, months: dict[str, bytes]) -> None:
    """A data.police.uk-style archive: YYYY-MM/YYYY-MM-metropolitan-street.csv members."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for month, data in months.items():
            zf.writestr(f"{month}/{month}-metropolitan-street.csv", data)
            zf.writestr(f"{month}/{month}-metropolitan-outcomes.csv", b"ignored")


def test_overlapping_archives_newest_wins(small_data: Path, shared_data: Path, tmp_path: Path) -> None:
    jan, feb, mar = (plain_month(shared_data, m) for m in ("2024-01", "2024-02", "2024-03"))
    header, *rows = feb.splitlines(keepends=True)
    old_feb = header + b"".join(rows[:100])  # an older archive's (shorter) February
    write_archive(small_data / "crime" / "2024-02.zip", {"2024-01": jan, "2024-02": old_feb})
    write_archive(small_data / "crime" / "2024-03.zip", {"2024-02": feb, "2024-03": mar})
    manifest = build_store(small_data, tmp_path / "store")
    street = manifest["sources"]["police_uk_street"]
    assert street["months"] == ["2024-01", "2024-02", "2024-03"]
    assert street["dropped"]["superseded_month"] == 100
    placed = open_store(tmp_path / "store").read_street(["2024-02"])
    assert len(rows) - 10 <= len(placed) <= len(rows)  # a few February rows fall outside London
    assert placed["source_file"].str.endswith("2024-03.zip!2024-02/2024-02-metropolitan-street.csv").all()
    assert street["rows_kept"] + sum(street["dropped"].values()) == street["rows_read"]


def test_adding_a_month_reads_only_the_new_file(small_data: Path, shared_data: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for month in ("2024-01", "2024-02"):
        shutil.copy(shared_data / BURGLARY / f"{month}-metropolitan-street.csv.gz", small_data / "crime")
    build_store(small_data, tmp_path / "store")
    read = []
    original = build_inputs.read_street_file
    monkeypatch.setattr(build_inputs, "read_street_file", lambda src: read.append(src.month) or original(src))
    shutil.copy(shared_data / BURGLARY / "2024-03-metropolitan-street.csv.gz", small_data / "crime")
    manifest = build_store(small_data, tmp_path / "store")
    assert read == ["2024-03"]
    assert manifest["sources"]["police_uk_street"]["months"] == ["2024-01", "2024-02", "2024-03"]


def test_summary_accounts_for_rows(small_data: Path, shared_data: Path, tmp_path: Path) -> None:
    shutil.copy(shared_data / BURGLARY / "2024-01-metropolitan-street.csv.gz", small_data / "crime")
    manifest = build_store(small_data, tmp_path / "store")
    lines = summary_lines(manifest)
    assert any(line.startswith("police_uk_street: read 5,082, kept 5,081") for line in lines)
    assert not any("MISMATCH" in line for line in lines)
    assert any(line.endswith("not found: no 2022 all-type baseline") for line in lines)


def test_fetched_month_replaces_rows_in_its_wards_only(small_data: Path, shared_data: Path, tmp_path: Path) -> None:
    from data_sources.schemas import STREET_CRIMES
    from data_sources.store.ingested import list_ingested, register

    shutil.copy(shared_data / BURGLARY / "2024-01-metropolitan-street.csv.gz", small_data / "crime")
    store = tmp_path / "store"
    build_store(small_data, store)
    before = open_store(store).read_street(["2024-01"])
    ward = before["ward_code"].value_counts().index[0]
    in_ward = before[before["ward_code"] == ward]
    fetched = STREET_CRIMES.conform(in_ward.head(3).assign(api_id=[11, 12, 13]))
    register(store, fetched, kind="api", month="2024-01", scope=ward, source="test", wards=(ward,))
    assert [e.scope for e in list_ingested(store)] == [ward]

    manifest = build_store(small_data, store)
    after = open_store(store).read_street(["2024-01"])
    assert (after["ward_code"] == ward).sum() == 3
    assert set(after.loc[after["ward_code"] == ward, "dataset"]) == {"api"}
    assert len(after) == len(before) - len(in_ward) + 3
    street, got = manifest["sources"]["police_uk_street"], manifest["sources"]["police_uk_fetched"]
    assert street["dropped"]["superseded_by_refresh"] == len(in_ward)
    assert got["rows_read"] == got["rows_kept"] == 3
    assert got["files"][0]["fetched_at"] and got["files"][0]["source"] == "test"


def test_confirmed_trust_upload_is_read_by_every_build(small_data: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    uploads = store / "inputs" / "uploads"
    uploads.mkdir(parents=True)
    (uploads / "ward_trust.csv").write_text(
        "area_code,period_end,measure_id,proportion,sample_size\n"
        "E05013570,2023-12-31,trust_mps,0.61,120\n"
        "E05013571,2023-12-31,trust_mps,0.72,95\n")
    manifest = build_store(small_data, store)
    trust = open_store(store).read("trust")
    wards = trust[trust["area_level"] == "ward"].sort_values("area_code")
    assert wards["proportion"].tolist() == [0.61, 0.72]
    assert wards["sample_size"].tolist() == [120, 95]
    assert any("ward_trust.csv: 2 rows (ward level)" in n for n in manifest["sources"]["pas"]["notes"])


def test_a_european_excel_upload_saved_under_its_name_reaches_the_store_and_manifest(small_data: Path,
                                                                                     tmp_path: Path) -> None:
    """Semicolons, decimal commas, BOM, CRLF, day-first dates: kept under the user's name, read by the build."""
    from data_sources.store.uploads import save_upload, upload_name

    store = tmp_path / "store"
    name = upload_name("C:\\fakepath\\Lambeth wards (Excel).csv")
    save_upload(store, name, ("\ufeffarea_code;period_end;measure_id;proportion;sample_size\r\n"
                              "E05013570;31.12.2023;trust_mps;0,61;120\r\n"
                              "E05013571;31.12.2023;trust_mps;0,72;1.095\r\n").encode())
    manifest = build_store(small_data, store)
    trust = open_store(store).read("trust")
    wards = trust[trust["area_level"] == "ward"].sort_values("area_code")
    assert wards["proportion"].tolist() == [0.61, 0.72]
    assert wards["sample_size"].tolist() == [120, 1095]
    listed = [f["path"] for f in manifest["sources"]["pas"]["files"]]
    assert "inputs/uploads/Lambeth wards (Excel).csv" in listed
