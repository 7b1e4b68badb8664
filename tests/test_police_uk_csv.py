"""The street reader's repeat accounting on tiny hand-written files."""

from __future__ import annotations

from pathlib import Path

import pytest

from data_sources.read.police_uk_csv import discover_street_files, read_street_file

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
          "Crime type,Last outcome category,Context\n")
A, B, C = "a" * 64, "0" * 64, "b" * 63 + "c"
SAME_PREFIX = "a" * 8 + "f" * 56  # shares the first 8 characters with A, but is a different ID


def row(cid: str, outcome: str = "Under investigation", crime: str = "Burglary") -> str:
    return f"{cid},2024-01,Met,Met,-0.1,51.5,On or near X,E01000001,City 001A,{crime},{outcome},\n"


@pytest.mark.parametrize(("rows", "repeated", "identical", "blank"), [
    ([row(A), row(B), row(C)], 0, 0, 0),
    ([row(A), row(A, "Court result unavailable"), row(C)], 1, 0, 0),  # same ID, another outcome
    ([row(A), row(A), row(A)], 2, 2, 0),  # byte-identical copies
    ([row(A), row(SAME_PREFIX), row(B)], 0, 0, 0),  # a shared prefix is not a repeat
    ([row("", crime="Anti-social behaviour")] * 3 + [row(B)], 0, 0, 3),  # blank IDs never repeat
    ([row("short"), row("short"), row(A)], 1, 1, 0),  # IDs of other lengths still counted exactly
])
def test_repeats_are_counted_exactly(tmp_path: Path, rows: list[str], repeated: int, identical: int,
                                     blank: int) -> None:
    path = tmp_path / "2024-01-metropolitan-street.csv"
    path.write_text(HEADER + "".join(rows))
    frame, report = read_street_file(discover_street_files(path)[0])
    assert len(frame) == report.rows == len(rows)  # every row is kept
    assert (report.repeated_ids, report.identical_rows, report.blank_ids) == (repeated, identical, blank)
