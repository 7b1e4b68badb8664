"""Tests for analysis.export and the CLI: byte-for-byte CSV and metadata, injection, GeoJSON, zip, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.__main__ import main
from analysis.export import (
    Document,
    csv_bytes,
    document_files,
    metadata_bytes,
    neutralise,
    priorities_document,
    priorities_files,
    with_geometry,
    zip_bytes,
)
from analysis.priorities import FlagSettings, priority_table
from analysis.query import CrimeQuery
from analysis.tables import load_tables
from core.errors import AnalysisInputError
from data_sources.store.versions import open_snapshot
from tests.tiny import BURGLARY, SNAPSHOT, tiny_tables

EXPECTED_CSV = (
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
    data = csv_bytes(table)
    assert data == EXPECTED_CSV.encode("utf-8")
    assert b"\r\n" not in data
    assert csv_bytes(table) == data


EXPECTED_METADATA = """{
 "@context": "http://www.w3.org/ns/csvw",
 "url": "demo.csv",
 "dc:title": "demo",
 "dc:license": {
  "@id": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
 },
 "dc:rights": "OGL v3.0",
 "notes": [
  {
   "settings": {
    "months": "2024-01 to 2024-04"
   }
  }
 ],
 "dialect": {
  "header": true,
  "delimiter": ",",
  "lineTerminators": [
   "\\n"
  ],
  "encoding": "utf-8"
 },
 "tableSchema": {
  "columns": [
   {
    "name": "area_code",
    "titles": "area_code",
    "datatype": "string",
    "dc:description": "ward code"
   },
   {
    "name": "rate",
    "titles": "rate",
    "datatype": "number"
   },
   {
    "name": "flagged",
    "titles": "flagged",
    "datatype": "boolean"
   }
  ]
 }
}
"""


def test_csv_comes_with_its_metadata_sidecar_byte_for_byte() -> None:
    doc = Document(pd.DataFrame({"area_code": ["E05000001"], "rate": [1.5], "flagged": [True]}),
                   {"title": "demo", "months": "2024-01 to 2024-04", "licence": "OGL v3.0"},
                   {"area_code": "ward code"})
    files = document_files(doc, "csv", "demo.csv")
    assert list(files) == ["demo.csv", "demo.csv-metadata.json"]
    assert files["demo.csv"] == b"area_code,rate,flagged\nE05000001,1.5,true\n"  # the header is the first line
    assert files["demo.csv-metadata.json"].decode() == EXPECTED_METADATA
    assert metadata_bytes(doc, "demo.csv") == files["demo.csv-metadata.json"]


def test_zip_holds_both_files_and_is_deterministic() -> None:
    import io
    import zipfile

    files = {"a.csv": b"x\n1\n", "a.csv-metadata.json": b"{}\n"}
    data = zip_bytes(files)
    assert data == zip_bytes(dict(files))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert {n: archive.read(n) for n in archive.namelist()} == files


@pytest.mark.parametrize(("cell", "expected"), [
    ("=1+1", "'=1+1"), ("+44", "'+44"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("Ward & Co", "Ward & Co"), ("", ""),
])
def test_neutralise(cell: str, expected: str) -> None:
    assert neutralise(cell) == expected


def test_negative_numbers_stay_numbers() -> None:
    data = csv_bytes(pd.DataFrame({"change": [-0.5, -2.0]}))
    assert data == b"change\n-0.5\n-2\n"


def test_priority_export_of_tiny_tables_has_header_settings_and_all_rows() -> None:
    tables = tiny_tables()
    result = priority_table(tables, CrimeQuery(crime_types=(BURGLARY,), start="2024-01", end="2024-04"),
                            FlagSettings())
    files = priorities_files(tables, result, "csv", "p.csv")
    lines = files["p.csv"].decode("utf-8").split("\n")
    assert lines[0].split(",")[:3] == ["area_code", "area_name", "borough_code"]
    assert len(lines) == 1 + len(result.table) + 1  # header, rows, trailing newline
    assert lines[1].startswith("E05000001,Ward One,")
    meta = json.loads(files["p.csv-metadata.json"])
    settings = meta["notes"][0]["settings"]
    assert settings["months"] == "2024-01 to 2024-04 (4 months)"
    assert settings["flag"].startswith("method percentile; crime_pct 0.6667; trust_pct 0.3333")
    assert settings["generated_from"] == "tiny test tables"
    assert "Open Government Licence" in meta["dc:rights"]
    described = {c["name"]: c.get("dc:description") for c in meta["tableSchema"]["columns"]}
    assert list(described) == list(result.table.columns)
    assert all(described.values()), [c for c, d in described.items() if not d]  # every column explained


def test_bad_format_and_geojson_without_geometry() -> None:
    doc = Document(pd.DataFrame({"a": [1]}), {})
    with pytest.raises(AnalysisInputError, match="unknown export format 'xlsx'"):
        document_files(doc, "xlsx", "a.xlsx")
    with pytest.raises(AnalysisInputError, match="needs a geometry column"):
        document_files(doc, "geojson", "a.geojson")


@pytest.fixture(scope="module")
def snapshot_dir() -> Path:
    if not (SNAPSHOT / "manifest.json").is_file():
        pytest.skip("no committed snapshot")
    return SNAPSHOT


def test_geojson_has_geometry_properties_and_metadata(snapshot_dir: Path) -> None:
    tables = load_tables(open_snapshot(snapshot_dir))
    result = priority_table(tables, CrimeQuery(level="borough"), FlagSettings())
    table = with_geometry(tables, result.table).drop(columns="geometry")
    doc = json.loads(priorities_files(tables, result, "geojson", "b.geojson")["b.geojson"])
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 33
    assert doc["metadata"]["method_version"] == "1.0"
    assert doc["metadata"] == priorities_document(tables, result).meta  # the same settings as the CSV's sidecar
    first = doc["features"][0]
    assert first["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert set(table.columns) == set(first["properties"])
    city = next(f for f in doc["features"] if f["properties"]["area_code"] == "E09000001")
    assert city["properties"]["trust"] is None


def test_cli_export_on_snapshot_matches_the_files(snapshot_dir: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "wards.csv"
    args = ["export", "priorities", "--level", "ward", "--source", "mps_ward", "--crime-group", "BURGLARY",
            "--from", "2024-07", "--to", "2025-06", "--store", str(snapshot_dir), "--out", str(out)]
    assert main(args) == 0
    assert "wrote 680 rows" in capsys.readouterr().out
    tables = load_tables(open_snapshot(snapshot_dir))
    table = priority_table(tables, CrimeQuery(crime_groups=("BURGLARY",), start="2024-07", end="2025-06"),
                           FlagSettings())
    files = priorities_files(tables, table, "csv", "wards.csv")
    assert out.read_bytes() == files["wards.csv"]
    assert (tmp_path / "wards.csv-metadata.json").read_bytes() == files["wards.csv-metadata.json"]


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
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "x.csv-metadata.json").exists()



def test_cli_export_progress_writes_the_table_summary_and_metadata(snapshot_dir: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from analysis.export import progress_files
    from analysis.progress import ProgressSettings, plan_progress

    out, summary = tmp_path / "progress.csv", tmp_path / "summary.csv"
    args = ["export", "progress", "--level", "borough", "--source", "police_uk", "--crime-type", "Burglary",
            "--baseline-from", "2022-01", "--baseline-to", "2022-12", "--trust-baseline", "2022-12-31",
            "--store", str(snapshot_dir), "--out", str(out), "--summary", str(summary)]
    assert main(args) == 0
    assert "wrote 32 rows (" in capsys.readouterr().out
    tables = load_tables(open_snapshot(snapshot_dir))
    progress = plan_progress(tables, CrimeQuery("police_uk", "borough", ("Burglary",)), FlagSettings(),
                             ProgressSettings("2022-01", "2022-12", trust_baseline="2022-12-31"))
    files = progress_files(tables, progress, "csv", "progress.csv", "summary.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)
    assert all((tmp_path / name).read_bytes() == data for name, data in files.items())
    header = out.read_text().splitlines()[0].split(",")
    assert header[:4] == ["area_code", "area_name", "borough_name", "group"] and "flagged_now" in header
    rows = summary.read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == [
        "cohort", "all_other", "same_crime_other_trust", "lower_crime", "london", "cohort_vs_all_other",
        "cohort_vs_same_crime_other_trust", "cohort_vs_lower_crime", "same_crime_other_trust_vs_lower_crime",
        "selection_alone", "placebo"]
    assert rows[0].startswith("group,label,areas,clusters,baseline_count,baseline_value,latest_count,latest_value,"
                              "change,change_lo,change_hi,")
    assert rows[0].endswith("pretrend_per_year,pretrend_lo,pretrend_hi,pretrend_p,pretrend_drift_lo,"
                            "pretrend_drift_hi")


def test_cli_export_progress_windows_survey_years_and_design_effect(snapshot_dir: Path, tmp_path: Path) -> None:
    """--from/--to, --trust-baseline/--trust-latest and --design-effect reach the figures and the metadata."""
    from analysis.export import progress_files
    from analysis.progress import ProgressSettings, plan_progress

    out = tmp_path / "p.csv"
    args = ["export", "progress", "--level", "borough", "--source", "police_uk", "--crime-type", "Burglary",
            "--to", "2024-12", "--trust-latest", "2024-12-31", "--design-effect", "2", "--store", str(snapshot_dir),
            "--out", str(out), "--summary", str(tmp_path / "s.csv")]
    assert main(args) == 0
    tables = load_tables(open_snapshot(snapshot_dir))
    settings = ProgressSettings(latest_end="2024-12", trust_latest="2024-12-31", design_effect=2.0)
    progress = plan_progress(tables, CrimeQuery("police_uk", "borough", ("Burglary",)), FlagSettings(), settings)
    assert progress.latest == ("2024-01", "2024-12")
    files = progress_files(tables, progress, "csv", "p.csv", "s.csv")
    assert all((tmp_path / name).read_bytes() == data for name, data in files.items())
    meta = json.loads((tmp_path / "p.csv-metadata.json").read_text())["notes"][0]["settings"]
    assert meta["windows"] == "crime: 2024 against 2022; trust: year to Dec 2024 against year to Dec 2022"
    assert meta["design_effect"].startswith("2: survey intervals assume 400 interviews per borough a year")
    assert "cluster-robust by borough" in meta["intervals"] and "t quantiles" in meta["intervals"]
    # the same run without the design effect: the trust figures stay, their intervals narrow by √2
    plain = plan_progress(tables, CrimeQuery("police_uk", "borough", ("Burglary",)), FlagSettings(),
                          ProgressSettings(latest_end="2024-12", trust_latest="2024-12-31"), effects=False)
    a, b = (p.summary.set_index("group").loc["cohort"] for p in (progress, plain))
    assert a["trust_change"] == pytest.approx(b["trust_change"])
    assert (a["trust_change_hi"] - a["trust_change"]) == pytest.approx(
        2 ** 0.5 * (b["trust_change_hi"] - b["trust_change"]), rel=1e-6)


@pytest.mark.parametrize(("extra", "message"), [
    ([], "error: the baseline 2022-01 to 2022-12 is not in the data for source 'mps_ward'"),
    (["--source", "police_uk", "--crime-type", "Burglary", "--trust-baseline", "2022-11-30"],
     "error: no survey year ends on '2022-11-30' for this trust measure"),
    (["--source", "police_uk", "--crime-type", "Burglary", "--from", "2024-01", "--to", "2024-06"],
     "error: the latest window 2024-01 to 2024-06 has 6 months but the baseline has 12"),
    (["--source", "police_uk", "--crime-type", "Burglary", "--design-effect", "0"],
     "error: the design effect 0.0 must lie between 1"),
    (["--source", "police_uk", "--crime-type", "Burglary", "--summary", "/elsewhere/s.csv"],
     "error: --summary /elsewhere/s.csv must be in the same folder as --out"),
])
def test_cli_export_progress_refuses_with_one_line(snapshot_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str], extra: list[str],
                                                   message: str) -> None:
    args = ["export", "progress", "--level", "ward", "--store", str(snapshot_dir), "--out", str(tmp_path / "p.csv"),
            *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
    assert not list(tmp_path.iterdir())
