"""Tests for analysis.export and the CLI: byte-for-byte CSV, injection, GeoJSON, errors, the snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.__main__ import main
from analysis.errors import AnalysisInputError
from analysis.export import export_bytes, export_meta, neutralise, priorities_file, with_geometry
from analysis.priorities import FlagSettings, priority_table
from analysis.query import CrimeQuery
from analysis.tables import load_tables
from data_sources.store import open_snapshot
from tests.tiny import BURGLARY, SNAPSHOT, tiny_tables

EXPECTED_CSV = (
    "# title: demo\n"
    "# months: 2024-01 to 2024-04\n"
    "area_code,area_name,count,rate,change_prev,flagged,trust_period_end,reason\n"
    "E05000001,\"'=HYPERLINK(\"\"http://x\"\")\",8,8,-0.25,true,2023-12-31,\"Burglary 3.1×, 'Trust MPS' 58%\"\n"
    "E05000002,'+Ward,,0.3333,0,false,,'-minus\n"
    "E05000003,Plain ward,12,2.6667,1.5,false,2023-12-31,'@at\n"
)


def test_csv_bytes_are_exact() -> None:
    table = pd.DataFrame({
        "area_code": ["E05000001", "E05000002", "E05000003"],
        "area_name": ['=HYPERLINK("http://x")', "+Ward", "Plain ward"],
        "count": [8.0, float("nan"), 12.0],
        "rate": [8.0, 1 / 3, 8 / 3],
        "change_prev": [-0.25, 0.0, 1.5],
        "flagged": [True, False, False],
        "trust_period_end": pd.to_datetime(["2023-12-31", None, "2023-12-31"]),
        "reason": ["Burglary 3.1×, 'Trust MPS' 58%", "-minus", "@at"],
    })
    data = export_bytes(table, {"title": "demo", "months": "2024-01 to 2024-04"})
    assert data == EXPECTED_CSV.encode("utf-8")
    assert b"\r\n" not in data
    assert export_bytes(table, {"title": "demo", "months": "2024-01 to 2024-04"}) == data


@pytest.mark.parametrize(("cell", "expected"), [
    ("=1+1", "'=1+1"), ("+44", "'+44"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("Ward & Co", "Ward & Co"), ("", ""),
])
def test_neutralise(cell: str, expected: str) -> None:
    assert neutralise(cell) == expected


def test_negative_numbers_stay_numbers() -> None:
    data = export_bytes(pd.DataFrame({"change": [-0.5, -2.0]}), {})
    assert data == b"change\n-0.5\n-2\n"


def test_priority_export_of_tiny_tables_has_header_and_all_rows() -> None:
    tables = tiny_tables()
    result = priority_table(tables, CrimeQuery(crime_types=(BURGLARY,), start="2024-01", end="2024-04"),
                            FlagSettings())
    table = result.table
    text = priorities_file(tables, result).decode("utf-8")
    lines = text.split("\n")
    header = [line for line in lines if line.startswith("# ")]
    assert "# months: 2024-01 to 2024-04 (4 months)" in header
    assert any(line.startswith("# flag: method percentile; crime_pct 0.6667; trust_pct 0.3333") for line in header)
    assert any("Open Government Licence" in line for line in header)
    assert "# generated_from: tiny test tables" in header
    assert lines[len(header)].split(",")[:3] == ["area_code", "area_name", "borough_code"]
    assert len(lines) == len(header) + 1 + len(table) + 1  # trailing newline
    assert lines[len(header) + 1].startswith("E05000001,Ward One,")


def test_bad_format_and_geojson_without_geometry() -> None:
    with pytest.raises(AnalysisInputError, match="unknown export format 'xlsx'"):
        export_bytes(pd.DataFrame({"a": [1]}), {}, "xlsx")
    with pytest.raises(AnalysisInputError, match="needs a geometry column"):
        export_bytes(pd.DataFrame({"a": [1]}), {}, "geojson")


@pytest.fixture(scope="module")
def snapshot_dir() -> Path:
    if not (SNAPSHOT / "manifest.json").is_file():
        pytest.skip("no committed snapshot")
    return SNAPSHOT


def test_geojson_has_geometry_properties_and_metadata(snapshot_dir: Path) -> None:
    tables = load_tables(open_snapshot(snapshot_dir))
    result = priority_table(tables, CrimeQuery(level="borough"), FlagSettings())
    table = with_geometry(tables, result.table).drop(columns="geometry")
    doc = json.loads(priorities_file(tables, result, "geojson"))
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 33
    assert doc["metadata"]["method_version"] == "1.0"
    first = doc["features"][0]
    assert first["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert set(table.columns) == set(first["properties"])
    city = next(f for f in doc["features"] if f["properties"]["area_code"] == "E09000001")
    assert city["properties"]["trust"] is None


def test_cli_export_on_snapshot_matches_export_bytes(snapshot_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "wards.csv"
    args = ["export", "priorities", "--level", "ward", "--source", "mps_ward", "--crime-group", "BURGLARY",
            "--from", "2024-07", "--to", "2025-06", "--store", str(snapshot_dir), "--out", str(out)]
    assert main(args) == 0
    assert "wrote 680 rows" in capsys.readouterr().out
    tables = load_tables(open_snapshot(snapshot_dir))
    table = priority_table(tables, CrimeQuery(crime_groups=("BURGLARY",), start="2024-07", end="2025-06"),
                           FlagSettings())
    assert out.read_bytes() == export_bytes(table.table, export_meta(tables, table))


@pytest.mark.parametrize(("extra", "message"), [
    (["--crime-type", "Nope"], "error: unknown crime type 'Nope'"),
    (["--from", "2019-01", "--to", "2019-03"], "error: month 2019-01 is outside the data"),
    (["--measure", "loudness"], "error: unknown measure 'loudness'"),
    (["--method", "vote"], "error: unknown flag method 'vote'"),
    (["--trust-measure", "happiness"], "error: unknown trust measure 'happiness'"),
])
def test_cli_bad_arguments_exit_2_with_one_line(snapshot_dir: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str], extra: list[str],
                                                message: str) -> None:
    args = ["export", "priorities", "--level", "ward", "--store", str(snapshot_dir),
            "--out", str(tmp_path / "x.csv"), *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "x.csv").exists()

