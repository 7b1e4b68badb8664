"""PAS from every publication: the official workbook (xlsx), the dashboard extracts, the London series, the merge."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from core.errors import InputFileError
from data_sources.build import trust_merge
from data_sources.read import lookup, pas, pas_extra, population
from data_sources.schemas import TRUST
from geo.london import LONDON_CODE
from tests.datastore_stub import pas_workbook


@pytest.fixture(scope="module")
def codes(shared_data: Path) -> dict[str, str]:
    return lookup.borough_codes_by_name(lookup.read_lsoa_lookup(shared_data / lookup.LOOKUP_FILE))


def _key(frame: pd.DataFrame) -> pd.Series:
    return frame.set_index(["area_code", "period_end", "measure_id"])["proportion"].sort_index()


def test_workbook_reads_as_the_csv_sheets(shared_data: Path, codes: dict[str, str], tmp_path: Path) -> None:
    data, _ = pas_workbook(shared_data, extra_quarter=None, revise=0)
    path = tmp_path / "PAS_T&Cdashboard_to Q3 23-24.xlsx"
    path.write_bytes(data)
    book = pas.read_pas_workbook(path, codes)
    csv = pd.concat([pas.read_pas(shared_data / pas.PAS_BOROUGH_FILE, codes),
                     pas.read_pas(shared_data / pas.PAS_LONDON_FILE, codes)])
    pd.testing.assert_series_equal(_key(book), _key(csv))
    assert set(book["publication"]) == {pas.WORKBOOK}
    assert set(book["measure_label"]) == set(pas.MEASURES)


def test_workbook_without_mps_sheet_takes_london_from_the_mps_column(shared_data: Path, codes: dict[str, str],
                                                                     tmp_path: Path) -> None:
    data, _ = pas_workbook(shared_data, extra_quarter=None, revise=0, sheets=("Borough",))
    path = tmp_path / "book.xlsx"
    path.write_bytes(data)
    london = pas.read_pas_workbook(path, codes).query("area_level == 'london'")
    official = pas.read_pas(shared_data / pas.PAS_LONDON_FILE, codes)
    pd.testing.assert_series_equal(_key(london), _key(official))


def _book(sheets: dict[str, list[list[object]]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


HEAD = ["Date", "Survey", "Borough", "Measure", "Proportion", "MPS"]
ROW = ["31/12/2023", "PAS", "Camden", "Trust MPS", 0.71, 0.73]


@pytest.mark.parametrize(("name", "data", "match"), [
    ("no_borough_sheet", _book({"MPS": [HEAD[:5], ROW[:5]]}), r"has no sheet 'Borough'; sheets found: \['MPS'\]"),
    ("other_layout", _book({"Borough": [["Quarter", "Area", "Value"], ["Q3", "Camden", 0.7]]}),
     r"xlsx!Borough, line 1: missing column\(s\) \['Date', 'Borough', 'Measure', 'Proportion'\]"),
    ("truncated", _book({"Borough": [HEAD, ROW]})[:900], "is not a complete Excel workbook"),
    ("html", b"<!DOCTYPE html><html><body>error</body></html>", r"is an HTML page \(an error page, not data\)"),
    ("plain_zip", b"", "is a ZIP archive, not an Excel workbook"),
    ("percent", _book({"Borough": [HEAD, [*ROW[:4], 71, 73]]}), r"line 2: Proportion 71(\.0)? is outside 0..1"),
    ("bad_date", _book({"Borough": [HEAD, ["2023-12-31", *ROW[1:]]]}), "is not dd/mm/yyyy"),
])
def test_bad_workbooks_give_one_clear_message(name: str, data: bytes, match: str, codes: dict[str, str],
                                              tmp_path: Path) -> None:
    if name == "plain_zip":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("readme.txt", "x")
        data = buf.getvalue()
    path = tmp_path / f"{name}.xlsx"
    path.write_bytes(data)
    with pytest.raises(InputFileError, match=match) as info:
        pas.read_pas_workbook(path, codes)
    assert path.name in str(info.value) and "\n" not in str(info.value)


def test_dashboard_extract_maps_dates_and_measures(shared_data: Path, codes: dict[str, str]) -> None:
    path = shared_data / pas_extra.DASHBOARD_DIR / "MOPAC_FULL_LONG_Public_Perception.csv"
    rows, dropped = pas_extra.read_dashboard_extract(path, codes)
    assert dropped == {"duplicate_row": 12}  # Bexley's Trust MPS, twice a quarter from Q1_2324
    assert rows["period_end"].min() == pd.Timestamp("2014-12-31")  # 10/1/2014 is the Oct-Dec quarter
    assert rows["period_end"].max() == pd.Timestamp("2026-03-31")
    assert set(rows["measure_id"]) == {"good_job_local", "trust_mps", "treat_fairly"}
    book = pas.read_pas(shared_data / pas.PAS_BOROUGH_FILE, codes)
    both = pd.concat([_key(rows).rename("dash"), _key(book).rename("book")], axis=1, join="inner")
    same = np.isclose(both["dash"], both["book"])
    good_job_and_trust = both.index.get_level_values("measure_id").isin(["good_job_local", "trust_mps"])
    assert good_job_and_trust.sum() >= 2_136 and same[good_job_and_trust].all()  # as PROVENANCE.md says
    long_rows, long_dropped = pas_extra.read_dashboard_extract(
        shared_data / pas_extra.DASHBOARD_DIR / "perception_long.csv", codes)
    assert long_dropped == {"measure_not_in_workbook": 98}  # "S&S used fairly"
    assert (long_rows["area_code"] == LONDON_CODE).any()


def test_london_series_maps_wording_dates_and_percent(shared_data: Path, codes: dict[str, str]) -> None:
    series = pas_extra.read_london_series(shared_data / pas_extra.LONDON_SERIES_FILE)
    assert series["period_end"].max() == pd.Timestamp("2025-09-30") and series["measure_id"].notna().all()
    official = pas.read_pas(shared_data / pas.PAS_LONDON_FILE, codes)
    both = pd.concat([_key(series).rename("s"), _key(official).rename("o")], axis=1, join="inner")
    assert len(both) == 245
    assert (both["s"] == (both["o"] * 100).round() / 100).all()


def _t(area: str, level: str, end: str, value: float, pub: str) -> dict[str, object]:
    return {"area_code": area, "area_level": level, "period_end": pd.Timestamp(end), "measure_id": "trust_mps",
            "measure_label": "Trust MPS", "proportion": value, "sample_size": pd.NA, "source_file": "t",
            "publication": pub}


def test_merge_precedence_official_first_newest_release_wins() -> None:
    b = "E09000007"
    old_book = TRUST.conform(pd.DataFrame([_t(b, "borough", "2023-12-31", 0.70, pas.WORKBOOK)]))
    new_book = TRUST.conform(pd.DataFrame([_t(b, "borough", "2023-12-31", 0.71, pas.WORKBOOK)]))
    dash = TRUST.conform(pd.DataFrame([_t(b, "borough", "2023-12-31", 0.69, pas.DASHBOARD),
                                       _t(b, "borough", "2024-03-31", 0.68, pas.DASHBOARD)]))
    upload = TRUST.conform(pd.DataFrame([_t(b, "borough", "2024-03-31", 0.5, pas.UPLOAD),
                                         _t("E05013676", "ward", "2024-03-31", 0.6, pas.UPLOAD)]))
    merged, report = trust_merge.merge_trust([dash, upload, old_book, new_book],
                                             ["", "", "2023-12|", "2023-12|2026-01-01T00:00:00"])
    got = {(r.area_code, f"{r.period_end:%Y-%m}"): (r.proportion, r.publication) for r in merged.itertuples()}
    assert got == {(b, "2023-12"): (0.71, pas.WORKBOOK), (b, "2024-03"): (0.68, pas.DASHBOARD),
                   ("E05013676", "2024-03"): (0.6, pas.UPLOAD)}
    assert report.overlapping == {pas.WORKBOOK: 1, pas.DASHBOARD: 1, pas.UPLOAD: 1}
    assert report.differing == {pas.WORKBOOK: 1, pas.DASHBOARD: 1, pas.UPLOAD: 1}


def test_derived_london_is_close_to_the_official_figure(shared_data: Path, codes: dict[str, str]) -> None:
    """The method checked where MOPAC publishes London: within 1 point always, equal (2 dp) in most quarters."""
    lk = lookup.read_lsoa_lookup(shared_data / lookup.LOOKUP_FILE)
    pop = population.read_population(shared_data / population.POPULATION_LSOA_FILE,
                                     shared_data / population.POPULATION_LTLA_FILE, lk)
    boroughs = pas.read_pas(shared_data / pas.PAS_BOROUGH_FILE, codes)
    derived = trust_merge.derive_london(boroughs, pop)
    official = pas.read_pas(shared_data / pas.PAS_LONDON_FILE, codes)
    both = pd.concat([_key(derived).rename("d"), _key(official).rename("o")], axis=1, join="inner")
    diff = (both["d"] - both["o"]).abs()
    assert len(both) == len(official) and diff.max() <= 0.01 + 1e-9 and (diff < 5e-3).mean() > 0.85
    assert set(derived["publication"]) == {pas.DERIVED}
    with_official = pd.concat([boroughs, official])
    assert trust_merge.derive_london(with_official, pop).empty  # never where London is published
