"""The stop-and-search export: the rows and columns the issue asks for, the gaps in the metadata, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.__main__ import main
from analysis.stop_search import StopSearchQuery, measure_areas
from analysis.stop_search_export import export_table, stop_search_files
from tests.test_stop_search_measures import tiny_stop_search
from tests.tiny import B1, LONDON, tiny_tables

REQUIRED = ["area_code", "area_name", "searches", "residents", "searches_per_1000", "arrest_share", "nfa_share",
            "unlocated_share"]
GROUP_COLUMNS = [f"{k}_{g}" for g in ("white", "black", "asian", "other") for k in ("searches", "residents", "rate")]
RATIOS = [f"ratio_{g}_white{s}" for g in ("black", "asian", "other") for s in ("", "_lo", "_hi")]


def test_borough_export_has_every_column_and_a_london_row():
    tables = tiny_tables()
    result = measure_areas(tables, tiny_stop_search(), StopSearchQuery(start="2024-01", end="2024-03"))
    table = export_table(result)
    assert set(REQUIRED + GROUP_COLUMNS + RATIOS) <= set(table.columns)
    assert table["area_code"].iloc[-1] == LONDON and table["area_code"].is_unique
    b1 = table.set_index("area_code").loc[B1]
    assert (b1["searches"], b1["searches_black"], b1["ratio_black_white"]) == (36, 20, 8.0)
    files = stop_search_files(tables, result, "ss.csv")
    assert files["ss.csv"].startswith(b"area_code,area_name,searches,residents,")
    meta = json.loads(files["ss.csv-metadata.json"])
    settings = meta["notes"][0]["settings"]
    assert settings["coverage_gaps"] == "2024-02 (Metropolitan Police: cut short: covers 1-10 Feb only)"
    assert settings["gaps_counted"] == "no: left out of rates" and settings["forces_not_held"] == "none"
    assert "officer-defined" in settings["ethnicity"]
    described = {c["name"] for c in meta["tableSchema"]["columns"] if "dc:description" in c}
    assert set(REQUIRED + GROUP_COLUMNS + RATIOS) <= described


def test_ward_export_has_no_group_columns():
    result = measure_areas(tiny_tables(), tiny_stop_search(), StopSearchQuery(level="ward"))
    table = export_table(result)
    assert list(table.columns[:2]) == ["area_code", "area_name"] and "ratio_black_white" not in table
    assert LONDON not in set(table["area_code"])


@pytest.fixture
def snapshot_only(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CRIME_TRUST_STORE", str(tmp_path / "no-store"))
    return Path(__file__).resolve().parent.parent / "data" / "snapshot"


def test_cli_writes_csv_and_metadata_and_refuses_bad_periods(snapshot_only, tmp_path, capsys):
    out = tmp_path / "ss.csv"
    assert main(["export", "stop-search", "--level", "borough", "--from", "2022-06", "--to", "2023-01",
                 "--ethnicity", "self", "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "33 borough rows (coverage gaps, named in the metadata: 2022-12" in said
    header = out.read_text().splitlines()[0].split(",")
    assert "ratio_mixed_white" in header and "rate_mixed" in header
    assert json.loads((tmp_path / "ss.csv-metadata.json").read_text())["notes"][0]["settings"]["coverage_gaps"] \
        .startswith("2022-12 (Metropolitan Police: cut short")
    assert main(["export", "stop-search", "--level", "borough", "--from", "2021-06", "--to", "2022-06",
                 "--out", str(out)]) == 0
    settings = json.loads((tmp_path / "ss.csv-metadata.json").read_text())["notes"][0]["settings"]
    assert settings["coverage_gaps"] == "2022-01 (Metropolitan Police: no data held)"  # the City's absence is none
    assert settings["forces_not_held"] == ("City of London Police not held before Mar 2022 (2021-06 to 2022-02): "
                                           "London figures for those months are the Met's")
    assert settings["months_counted"].startswith("12 for London (2021-06, ")
    assert main(["export", "stop-search", "--level", "borough", "--from", "2019-01", "--to", "2019-02",
                 "--out", str(out)]) == 2
    assert "no stop-and-search data between 2019-01 and 2019-02" in capsys.readouterr().err
