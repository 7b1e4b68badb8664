"""Coverage gaps: the one rule on hand-made series, and a header-only street file in a real build."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pandas as pd
import pytest

from data_sources.build.build import build_store, summary_lines
from data_sources.build.currency import gap_months
from data_sources.coverage import GAP_SHARE, find_gaps

BURGLARY = "crime/police_uk_met_street_burglary_only"


def series(values: dict[str, dict[str, int]]) -> pd.DataFrame:
    return pd.DataFrame([(m, t, n) for m, types in values.items() for t, n in types.items()],
                        columns=["month", "crime_type", "count"])


B = "Burglary"
ALL = {B: 4800, "Robbery": 2400, "Drugs": 3300}

CASES = [
    ("steady", {f"2024-0{i}": {B: 4800 + 50 * i} for i in range(1, 8)}, []),
    ("empty_month_inside", {"2024-01": {B: 4800}, "2024-02": {B: 4700}, "2024-04": {B: 4900}, "2024-05": {B: 5000}},
     [("2024-03", "no rows")]),
    ("a_fraction", {"2024-01": {B: 4800}, "2024-02": {B: 4700}, "2024-03": {B: 480}, "2024-04": {B: 4900}},
     [("2024-03", "10% of its neighbours")]),
    ("just_above_the_share", {"2024-01": {B: 4800}, "2024-02": {B: 4700}, "2024-03": {B: int(4800 * GAP_SHARE) + 10},
                              "2024-04": {B: 4900}}, []),
    ("coverage_change_is_not_a_gap", {"2021-11": {B: 4800}, "2021-12": {B: 4700}, "2022-01": ALL, "2022-02": ALL,
                                      "2022-03": ALL}, []),
    ("two_empty_months_in_a_row", {"2024-01": {B: 4800}, "2024-02": {B: 4700}, "2024-05": {B: 4900},
                                   "2024-06": {B: 5000}}, [("2024-03", "no rows"), ("2024-04", "no rows")]),
    ("one_type_missing", {"2022-01": ALL, "2022-02": ALL, "2022-03": {B: 4800}, "2022-04": ALL},
     [("2022-03", "46% of its neighbours")]),
    ("too_small_to_judge", {"2024-01": {B: 20}, "2024-02": {B: 1}, "2024-03": {B: 22}}, []),
]


@pytest.mark.parametrize(("values", "expected"), [(v, e) for _, v, e in CASES], ids=[c[0] for c in CASES])
def test_gap_rule(values: dict[str, dict[str, int]], expected: list[tuple[str, str]]) -> None:
    assert [(g.month, g.reason) for g in find_gaps(series(values))] == expected


def test_the_edge_month_is_judged_when_the_inputs_name_it() -> None:
    c = series({"2024-01": {B: 4800}, "2024-02": {B: 4700}})
    assert find_gaps(c) == []
    assert [g.month for g in find_gaps(c, ["2024-01", "2024-02", "2024-03"])] == ["2024-03"]


def test_header_only_street_file_is_a_named_gap_not_a_missing_month(small_data: Path, shared_data: Path,
                                                                    tmp_path: Path) -> None:
    for month in ("2024-01", "2024-02", "2024-04"):
        shutil.copy(shared_data / BURGLARY / f"{month}-metropolitan-street.csv.gz", small_data / "crime")
    header = gzip.decompress((shared_data / BURGLARY / "2024-03-metropolitan-street.csv.gz").read_bytes())
    (small_data / "crime" / "2024-03-metropolitan-street.csv").write_bytes(header.splitlines(keepends=True)[0])
    manifest = build_store(small_data, tmp_path / "store")
    gaps = manifest["currency"]["police_uk"]["gaps"]
    assert [(g["month"], g["count"], g["missing"]) for g in gaps] == [("2024-03", 0, True)]
    assert gaps[0]["reason"] == "header-only street file 2024-03-metropolitan-street.csv"
    assert 4000 < gaps[0]["expected"] < 6000
    assert gap_months(manifest, "police_uk") == {"2024-03"}
    lines = summary_lines(manifest)
    assert "police_uk: coverage gaps: 2024-03 (header-only street file 2024-03-metropolitan-street.csv)" in lines
    assert manifest["currency"]["police_uk"]["first"] == "2024-01"
    assert manifest["currency"]["mps_ward"]["gaps"] == []


@pytest.mark.slow  # end to end on the real data
def test_real_data_has_no_gaps(real_store: tuple[Path, dict]) -> None:
    _, manifest = real_store
    for source in ("police_uk", "mps_ward", "pas", "pas_london"):
        assert manifest["currency"][source]["gaps"] == [], source


def test_currency_line_names_missing_months_and_reads_older_manifests() -> None:
    from data_sources.build.currency import currency_line, currency_rows

    manifest = {"currency": {
        "police_uk": {"newest": "2026-03", "gaps": [{"month": "2025-11", "reason": "header-only file", "missing": True},
                                                   {"month": "2025-07", "reason": "stub", "missing": False}]},
        "mps_ward": {"newest": "2026-02", "gaps": []}, "pas": {"newest": "2025-09", "gaps": []}}}
    assert currency_line(manifest) == ("Crime to March 2026 (police.uk) and February 2026 (Met); trust to September "
                                       "2025 (MOPAC survey); months missing or short: 2025-11 (police.uk).")
    rows = {r["source"]: r for r in currency_rows(manifest)}
    assert rows["police_uk"]["missing or short months"] == "2025-11: header-only file; 2025-07: stub"
    older = {"sources": {"police_uk_street": {"months": ["2021-01", "2025-02"]}, "mps_ward": {"months": ["2025-06"]},
                         "pas": {"months": ["2023-12"]}}}
    assert currency_line(older) == ("Crime to February 2025 (police.uk) and June 2025 (Met); trust to December 2023 "
                                    "(MOPAC survey).")
