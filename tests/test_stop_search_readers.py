"""Stop-and-search readers: the bulk CSV and the API JSON give the same tidy rows; bad rows are counted and named."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from core.errors import InputFileError
from data_sources.build.stop_search_coverage import judge_months
from data_sources.read import census_ethnicity, stop_search_api, stop_search_csv

HEADER = ("Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,Gender,Age range,"
          "Self-defined ethnicity,Officer-defined ethnicity,Legislation,Object of search,Outcome,"
          "Outcome linked to object of search,Removal of more than just outer clothing")
# Real rows of the Met's April 2023 file (the first is 00:01 BST on 1 April, stamped 31 March UTC).
ROW_BST = ("Person search,2023-03-31T23:01:00+00:00,False,,51.516275,-0.126121,Male,18-24,"
           "Black/African/Caribbean/Black British - African,Black,Misuse of Drugs Act 1971 (section 23),"
           "Controlled drugs,A no further action disposal,,")
ROW_NO_COORDS = ("Person search,2023-04-02T10:00:00+00:00,False,,,,Female,over 34,"
                 "Other ethnic group - Not stated,White,Police and Criminal Evidence Act 1984 (section 1),"
                 "Stolen goods,Arrest,,")


def write(tmp_path: Path, name: str, rows: list[str], *, gz: bool = False) -> stop_search_csv.StopSearchFile:
    path = tmp_path / (name + (".gz" if gz else ""))
    text = "\n".join([HEADER, *rows]) + "\n"
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return stop_search_csv.discover(path)[0]


def test_bulk_file_rows_month_by_london_date(tmp_path):
    src = write(tmp_path, "2023-04-metropolitan-stop-and-search.csv", [ROW_BST, ROW_NO_COORDS, ROW_BST], gz=True)
    assert (src.month, src.force) == ("2023-04", "metropolitan")
    frame, report = stop_search_csv.read_bulk_file(src)
    assert frame["month"].tolist() == ["2023-04"] * 3  # 23:01 UTC on 31 March is 00:01 BST on 1 April
    assert str(frame["datetime"].iloc[0]) == "2023-03-31 23:01:00+00:00"
    assert (report.rows, report.kept, report.no_location, report.identical_rows, report.moved_month) == (3, 3, 1, 1, 0)
    assert frame["outcome_linked"].isna().all()  # blank before 2024: not reported, not False
    assert frame["officer_defined_ethnicity"].tolist() == ["Black", "White", "Black"]


@pytest.mark.parametrize(("stamp", "month"), [
    ("2023-03-31T23:30:00+00:00", "2023-04"),   # BST began on 26 March 2023: 00:30 on 1 April
    ("2023-01-31T23:30:00+00:00", "2023-01"),   # GMT: still 31 January
    ("2023-10-31T23:30:00+00:00", "2023-10"),   # GMT again from 29 October
    ("2023-06-30T23:30:00+00:00", "2023-07"),   # BST
])
def test_month_is_the_london_local_month(tmp_path, stamp, month):
    row = ROW_BST.replace("2023-03-31T23:01:00+00:00", stamp)
    src = write(tmp_path, f"{month}-metropolitan-stop-and-search.csv", [row])
    frame, report = stop_search_csv.read_bulk_file(src)
    assert frame["month"].tolist() == [month]
    assert report.moved_month == 0


def test_bad_rows_are_left_out_counted_and_named(tmp_path):
    rows = [ROW_BST] * 60 + [ROW_BST.replace("2023-03-31T23:01:00+00:00", "yesterday"),
                             ROW_BST.replace("51.516275,-0.126121", "51.5x,-0.12"),
                             ROW_BST.replace("51.516275,-0.126121", "51.5,")]
    src = write(tmp_path, "2023-04-metropolitan-stop-and-search.csv", rows)
    frame, report = stop_search_csv.read_bulk_file(src)
    assert len(frame) == 60 and report.rows == 63
    assert {k: (b.count, b.first) for k, b in report.bad.items()} == {
        "unreadable_date": (1, 62), "coordinates_not_numbers": (1, 63), "one_coordinate_only": (1, 64)}
    assert "line 62: 'yesterday'" in report.notes()[0]


def test_a_file_mostly_bad_is_refused_whole(tmp_path):
    rows = [ROW_BST] * 3 + [ROW_BST.replace("2023-03-31T23:01:00+00:00", "2021-01-05T10:00:00+00:00")] * 2
    src = write(tmp_path, "2023-04-metropolitan-stop-and-search.csv", rows)
    with pytest.raises(InputFileError, match=r"2 of 5 rows are unreadable.*date far from file month"):
        stop_search_csv.read_bulk_file(src)


def test_missing_column_and_bad_name_are_refused(tmp_path):
    path = tmp_path / "2023-04-metropolitan-stop-and-search.csv"
    path.write_text("Type,Latitude\nPerson search,51.5\n")
    with pytest.raises(InputFileError, match="missing column"):
        stop_search_csv.read_bulk_file(stop_search_csv.discover(path)[0])
    other = tmp_path / "searches.csv"
    other.write_text(HEADER + "\n")
    with pytest.raises(InputFileError, match="not named like"):
        stop_search_csv.discover(other)


RECORD = {"age_range": "18-24", "outcome": "A no further action disposal", "involved_person": True,
          "self_defined_ethnicity": "Black/African/Caribbean/Black British - African", "gender": "Male",
          "legislation": "Misuse of Drugs Act 1971 (section 23)", "outcome_linked_to_object_of_search": None,
          "datetime": "2023-03-31T23:01:00+00:00", "removal_of_more_than_outer_clothing": None,
          "outcome_object": {"id": "bu-no-further-action", "name": "A no further action disposal"},
          "location": {"latitude": "51.516275", "street": {"id": 1, "name": "On or near X"},
                       "longitude": "-0.126121"},
          "operation": False, "officer_defined_ethnicity": "Black", "type": "Person search", "operation_name": None,
          "object_of_search": "Controlled drugs"}


def test_api_record_gives_the_same_row_as_the_bulk_file(tmp_path):
    path = tmp_path / "2023-04.json.gz"
    path.write_bytes(gzip.compress(json.dumps([RECORD, {**RECORD, "location": None}]).encode()))
    ((found, month, force),) = stop_search_api.discover(tmp_path, "metropolitan")
    api, report = stop_search_api.read_stops_force(stop_search_api.load_records(found), name="api", force=force,
                                                  month=month)
    bulk, _ = stop_search_csv.read_bulk_file(write(tmp_path, "2023-04-metropolitan-stop-and-search.csv", [ROW_BST]))
    cols = [c for c in api.columns if c not in ("dataset", "source_file")]
    pd.testing.assert_frame_equal(api[cols].iloc[:1], bulk[cols])
    assert report.no_location == 1 and api["dataset"].iloc[0] == "api"


@pytest.mark.parametrize(("content", "problem"), [(b"", "is empty"), (b"{\"a\": 1}", "not an array"),
                                                  (b"[1, 2]", "record 1 is int"), (b"[{", "not valid JSON")])
def test_bad_api_answers_are_refused_by_name(tmp_path, content, problem):
    path = tmp_path / "2023-04.json"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=problem):
        records = stop_search_api.load_records(path)
        stop_search_api.read_stops_force(records, name=str(path), force="metropolitan", month="2023-04")


def test_census_groups_both_sexes_and_the_merged_city(tmp_path):
    cols = ["Asian, Asian British or Asian Welsh: Indian", "Black, Black British, Black Welsh, Caribbean or African: "
            "African", "White: Irish", "Mixed or Multiple ethnic groups: White and Asian", "Other ethnic group: Arab"]
    header = "\ufeffGeography Code,Geography Name,Sex," + ",".join(f'"{c}"' for c in cols)
    lines = [header, "E09000001,City of London and Westminster,Female,10,20,30,,5",
             "E09000001,City of London and Westminster,Male,10,20,30,5,5",
             "E09000002,Barking and Dagenham,Female,1,2,3,4,5", "E09000002,Barking and Dagenham,Male,1,2,3,4,5",
             "E12000007,London,Female,11,22,33,4,10", "E12000007,London,Male,11,22,33,9,10",
             "E06000001,Hartlepool,Male,1,1,1,1,1"]
    path = tmp_path / "census.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table, notes = census_ethnicity.read_census_ethnicity(path, {"E09000001", "E09000002", "E09000033"})
    by = table.groupby(["area_code", "ethnic_group"])["residents"].sum()
    assert by["E09000001", "black"] == 40 and by["E09000001", "mixed"] == 5 and by["E12000007", "asian"] == 22
    assert set(table.loc[table["area_code"] == "E09000001", "covers"]) == {"E09000001 E09000033"}
    assert "E06000001" not in set(table["area_code"])
    assert any("pooled" in n for n in notes)
    with pytest.raises(InputFileError, match="no rows for borough"):
        census_ethnicity.read_census_ethnicity(path, {"E09000002", "E09000099"})


def test_gap_rule_finds_missing_cut_short_and_a_partial_run():
    months = [f"2024-{m:02d}" for m in range(1, 13)]
    searches = [10000, 9800, 10100, 9900, 0, 10050, 3400, 3300, 3500, 3350, 3600, 3450]
    held = pd.DataFrame({"month": months, "searches": searches, "first_day": 1, "last_day": 28,
                         "dataset": ["bulk_csv"] * 6 + ["api"] * 6})
    held = held[held["searches"] > 0]
    held.loc[held["month"] == "2024-03", "last_day"] = 17
    judged = judge_months(held).set_index("month")
    assert judged.loc["2024-05", "gap_reason"] == "no data held"
    assert judged.loc["2024-03", "gap_reason"] == "cut short: covers 1-17 Mar only"
    assert judged.loc["2024-12", "gap_reason"].endswith("of the months before it (partial API feed)")
    assert judged["gap"].tolist() == [False, False, True, False, True, False] + [True] * 6
