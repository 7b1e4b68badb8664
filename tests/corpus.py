"""A corpus of malformed (and awkward-but-valid) input files, one small dataclass per case.

Each ``Case`` knows which reader it feeds (``reader``), how to write its file(s) into a
folder (``make``, returning the path handed to the reader), and what the one error
message must say: the file name, the line when one line is at fault, fragments of the
problem and of the hint. Cases with ``accepted=True`` must parse, and ``check`` asserts
the result is right.

The same cases drive ``tests/test_bad_input.py`` (reader by reader) and, for those with
an ``e2e`` target, ``tests/test_faults.py`` (through ``python -m data_sources build``).
Nothing here needs the shared raw data: every file is synthesised.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data_sources.read import mps_ward, pas, population
from data_sources.read.police_uk_csv import discover_street_files, read_street_file

MB = 1024**2
#: The month every synthetic street file holds (kept apart from the real files the
#: end-to-end tests copy, which are 2021-01 and 2021-02).
MONTH = "2021-06"
STREET_NAME = f"{MONTH}-metropolitan-street.csv"
STREET_HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                 "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"]


# --------------------------------------------------------------------------- builders


def street_rows(n: int = 3, month: str = MONTH) -> list[dict[str, str]]:
    """``n`` plausible Met burglary rows (coordinates in Westminster and Camden)."""
    base = [("-0.134", "51.512", "E01004734", "Westminster 018A"),
            ("-0.141", "51.538", "E01000907", "Camden 012B"),
            ("-0.127", "51.517", "E01004763", "Westminster 013C")]
    rows = []
    for i in range(n):
        lon, lat, lsoa, lsoa_name = base[i % len(base)]
        rows.append({"Crime ID": f"{i:064x}", "Month": month, "Reported by": "Metropolitan Police Service",
                     "Falls within": "Metropolitan Police Service", "Longitude": lon, "Latitude": lat,
                     "Location": f"On or near Street {i}", "LSOA code": lsoa, "LSOA name": lsoa_name,
                     "Crime type": "Burglary", "Last outcome category": "Under investigation", "Context": ""})
    return rows


def street_text(rows: list[dict[str, str]] | None = None, *, header: list[str] | None = None, sep: str = ",",
                eol: str = "\n") -> str:
    """Render rows as a police.uk street CSV (fields quoted only when they must be)."""
    header = header or STREET_HEADER
    rows = street_rows() if rows is None else rows

    def cell(v: str) -> str:
        return f'"{v}"' if (sep in v or '"' in v) else v

    lines = [sep.join(cell(h) for h in header)]
    lines += [sep.join(cell(r.get(h, "")) for h in header) for r in rows]
    return eol.join(lines) + eol


def _write(name: str, data: bytes | str, encoding: str = "utf-8") -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
        return path
    return make


def _street(mutate: Callable[[list[dict[str, str]]], None] | None = None, **kw: Any) -> Callable[[Path], Path]:
    rows = street_rows()
    if mutate:
        mutate(rows)
    return _write(STREET_NAME, street_text(rows, **kw))


def _set(line: int, **values: str) -> Callable[[list[dict[str, str]]], None]:
    """Set fields on the row at file line ``line`` (line 1 is the header)."""
    def mutate(rows: list[dict[str, str]]) -> None:
        rows[line - 2].update({k.replace("_", " "): v for k, v in values.items()})
    return mutate


def _gz_bytes() -> bytes:
    return gzip.compress(street_text().encode(), mtime=0)


def _zip_bytes(member_text: str | None = None, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        zf.writestr(f"{MONTH}/{STREET_NAME}", member_text if member_text is not None else street_text() * 1)
        zf.writestr(f"{MONTH}/{MONTH}-metropolitan-outcomes.csv", "Crime ID,Month\n")
    return buf.getvalue()


def _corrupt_zip_member() -> bytes:
    """A zip whose directory is intact but whose street member's deflate data is damaged."""
    data = bytearray(_zip_bytes(street_text(street_rows(40))))
    start = data.index(STREET_NAME.encode()) + len(STREET_NAME) + 10   # inside the first member's data
    for i in range(start, start + 40):
        data[i] ^= 0x5A
    return bytes(data)


def _corrupt_gzip() -> bytes:
    data = bytearray(gzip.compress(street_text(street_rows(40)).encode(), mtime=0))
    mid = len(data) // 2
    for i in range(mid, mid + 24):
        data[i] ^= 0xA5
    return bytes(data)


def _sparse(name: str, size: int = 600 * MB) -> Callable[[Path], Path]:
    """A file of ``size`` bytes that takes no disk space (a hole), to test the size guard."""
    def make(folder: Path) -> Path:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            fh.truncate(size)
        return path
    return make


def _same_file_twice(folder: Path) -> Path:
    text = street_text()
    for sub in ("archive-2021-07", "archive-2021-08"):
        (folder / "twice" / sub).mkdir(parents=True, exist_ok=True)
        (folder / "twice" / sub / STREET_NAME).write_text(text)
    return folder / "twice"


# Met ward table ------------------------------------------------------------------------

MPS_MONTHS = ["202307", "202308", "202309", "202310"]
MPS_WARDS = {"E05013806": ("Abbey Road", "Westminster"), "E05013676": ("Belsize", "Camden")}
MPS_FILE = "MPS Ward Level Crime (most recent 24 months).csv"


def mps_text(*, cell: tuple[int, str, str] | None = None, drop: str | None = None, ward: tuple[int, str] | None = None,
             months: list[str] | None = None) -> str:
    """A small Met ward table; ``cell=(line, month, value)`` overrides one count."""
    months = MPS_MONTHS if months is None else months
    cols = [c for c in mps_ward.ID_COLUMNS if c != drop] + months
    rows = []
    for code, (name, borough) in MPS_WARDS.items():
        for major, minor in (("BURGLARY", "BURGLARY - RESIDENTIAL"), ("THEFT", "THEFT FROM A MOTOR VEHICLE")):
            rec = {"MajorText": major, "MinorText": minor, "WardName": name, "WardCode": code,
                   "LookUp_BoroughName": borough}
            rec.update({m: str(5 + i) for i, m in enumerate(months)})
            rows.append(rec)
    if cell:
        rows[cell[0] - 2][cell[1]] = cell[2]
    if ward:
        rows[ward[0] - 2]["WardCode"] = ward[1]
    return "\n".join([",".join(cols)] + [",".join(r[c] for c in cols) for r in rows]) + "\n"


# PAS ------------------------------------------------------------------------------------

BOROUGH_CODES = {"barnet": "E09000003", "camden": "E09000007", "westminster": "E09000033"}
PAS_FILE = "PAS_buroughs.csv"
PAS_HEADER = ["Date", "Survey", "Borough", "Measure", "Proportion", "MPS"]


def pas_text(*, line: int | None = None, sep: str = ";", decimal: str = ",", **values: str) -> str:
    rows = [["31/12/2014", "PAS", b, '"""Good Job"" local"', f"0{decimal}{p}", f"0{decimal}67"]
            for b, p in (("Barnet", "67"), ("Camden", "61"), ("City of Westminster", "58"))]
    if line:
        for k, v in values.items():
            rows[line - 2][PAS_HEADER.index(k)] = v
    return "\n".join([sep.join(PAS_HEADER)] + [sep.join(r) for r in rows]) + "\n"


# User trust table -------------------------------------------------------------------------

KNOWN_AREAS = {"E05013806": "ward", "E05013676": "ward", "E09000033": "borough", "E12000007": "london"}
TRUST_FILE = "my_trust.csv"


def trust_text(*, line: int | None = None, sep: str = ",", decimal: str = ".", eol: str = "\n", bom: bool = False,
               **values: str) -> str:
    """A user's trust table; ``sep``, ``decimal``, ``eol`` and ``bom`` write it as another spreadsheet would."""
    header = ["area_code", "period_end", "measure_id", "proportion", "sample_size"]
    rows = [["E05013806", "2024-03-31", "trust_mps", "0.71", "120"],
            ["E09000033", "2024-03-31", "trust_mps", "0.74", "1450"],
            ["E12000007", "2024-03-31", "trust_mps", "0.73", ""]]
    for row in rows:
        row[3] = row[3].replace(".", decimal)
    if line:
        for k, v in values.items():
            rows[line - 2][header.index(k)] = v
    return ("\ufeff" if bom else "") + eol.join([sep.join(header)] + [sep.join(r) for r in rows]) + eol


def _check_trust(result: Any) -> None:
    assert list(result["area_code"]) == ["E05013806", "E09000033", "E12000007"]
    assert np.allclose(result["proportion"], [0.71, 0.74, 0.73])
    assert list(result["sample_size"].astype("Float64").fillna(-1)) == [120, 1450, -1]
    assert (result["period_end"] == pd.Timestamp("2024-03-31")).all()


#: A European Excel's "CSV": semicolons, decimal commas, a BOM, CRLF, dates re-saved day first
#: and a sample size with a thousands point.
EUROPEAN_EXCEL = trust_text(sep=";", decimal=",", eol="\r\n", bom=True, line=3, period_end="31.03.2024",
                            sample_size="1.450")


# Population ---------------------------------------------------------------------------------

LSOA_FILE = Path(population.POPULATION_LSOA_FILE).name
LTLA_FILE = Path(population.POPULATION_LTLA_FILE).name
POP_LOOKUP = pd.DataFrame({
    "lsoa_code": ["E01004734", "E01004763", "E01000907"],
    "ward_code": ["E05013806", "E05013806", "E05013676"],
    "borough_code": ["E09000033", "E09000033", "E09000007"],
}, dtype="string")


def _population(lsoa_rows: list[tuple[str, str]] | None = None) -> Callable[[Path], Path]:
    lsoa_rows = lsoa_rows if lsoa_rows is not None else [("E01004734", "1500"), ("E01004763", "1600"),
                                                         ("E01000907", "1700")]

    def make(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        head = "date,geography,geography code,Age: Total,Age: Aged 4 years and under\n"
        lsoa = head + "".join(f"2021,{c} name,{c},{n},100\n" for c, n in lsoa_rows)
        ltla = head + "2021,Westminster,E09000033,204236,9000\n2021,Camden,E09000007,210136,9900\n"
        (folder / LTLA_FILE).write_text(ltla)
        (folder / LSOA_FILE).write_text(lsoa)
        return folder / LSOA_FILE
    return make


# --------------------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class Case:
    """One input and what reading it must do.

    Attributes
    ----------
    id
        Short, unique, used as the pytest id.
    reader
        Which entry point reads it: ``street`` (discover + read every street file),
        ``street_build`` (the build's street step, with its overlap accounting),
        ``mps_ward``, ``pas``, ``trust`` (``pas.read_trust_table``) or ``population``.
    make
        Writes the input into a folder and returns the path to hand to the reader.
    problem
        Fragments the message must contain (case-insensitive), saying what is wrong.
    hint
        A fragment of the advice on what to do.
    line
        The 1-based line the message must name, when one line is at fault.
    accepted
        The input is valid (if awkward) and must parse; ``check`` asserts the result.
    e2e
        Where the file goes in a data folder for the end-to-end build test
        (relative path of its parent folder), or ``None`` when the case is reader-only.
    """

    id: str
    reader: str
    make: Callable[[Path], Path]
    problem: tuple[str, ...] = ()
    hint: str = ""
    line: int | None = None
    accepted: bool = False
    check: Callable[[Any], None] | None = None
    e2e: str | None = None


def _check_street(n: int, **first: object) -> Callable[[Any], None]:
    def check(result: Any) -> None:
        frame = result
        assert len(frame) == n, f"expected {n} rows, got {len(frame)}"
        assert (frame["month"] == MONTH).all()
        if n:
            assert frame["crime_type"].eq("Burglary").all()
            assert np.allclose(frame["longitude"].iloc[:3], [-0.134, -0.141, -0.127][:n])
            assert np.allclose(frame["latitude"].iloc[:3], [51.512, 51.538, 51.517][:n])
            assert frame["crime_id"].iloc[0] == f"{0:064x}"
            assert frame["last_outcome"].iloc[0] == "Under investigation"
            assert frame["lsoa_code"].iloc[0] == "E01004734"
        for col, value in first.items():
            assert frame[col].iloc[0] == value, (col, frame[col].iloc[0])
    return check


def _check_duplicate(result: Any) -> None:
    rows, account = result
    assert account.rows_read == 6, account.as_dict()
    assert len(rows) == 3 and account.rows_kept in (0, 3)
    dropped = account.dropped.get("duplicate_file", 0) + account.dropped.get("superseded_month", 0)
    assert dropped == 3, account.dropped
    assert rows["crime_id"].nunique() == 3


def _check_pas(result: Any) -> None:
    assert list(result["area_code"]) == ["E09000003", "E09000007", "E09000033"]
    assert np.allclose(result["proportion"], [0.67, 0.61, 0.58])
    assert (result["measure_id"] == "good_job_local").all()
    assert str(result["period_end"].iloc[0].date()) == "2014-12-31"


_UPPER_WARD = ("E05013806", "E05013676")
CRIME = "crime/bad"          # the e2e folder for a bad street file (under the data dir)
TRUST = "trust"              # the e2e folder for a bad PAS file (replaces PAS_buroughs.csv)
MPS = mps_ward.MPS_WARD_DIR  # the e2e folder for a bad Met ward extract

CASES: list[Case] = [
    # ---- police.uk street files: compression and archives
    Case("street_truncated_gzip", "street", _write(STREET_NAME + ".gz", _gz_bytes()[:-40]),
         ("truncated or corrupt",), "download the file again", e2e=CRIME),
    Case("street_corrupt_gzip", "street", _write(STREET_NAME + ".gz", _corrupt_gzip()),
         ("truncated or corrupt",), "download the file again", e2e=CRIME),
    Case("street_gz_not_gzip", "street", _write(STREET_NAME + ".gz", street_text()),
         ("cannot be decompressed",), "download the file again", e2e=CRIME),
    Case("street_corrupt_zip", "street", _write("met-2021-06.zip", b"PK\x03\x04 this is not really a zip" * 20),
         ("not a readable zip archive",), "re-download the archive", e2e=CRIME),
    Case("street_truncated_zip", "street", _write("met-2021-06.zip", _zip_bytes()[:60]),
         ("not a readable zip archive",), "re-download the archive", e2e=CRIME),
    Case("street_zip_corrupt_member", "street", _write("met-2021-06.zip", _corrupt_zip_member()),
         ("truncated or corrupt",), "download the file again", e2e=CRIME),
    # ---- police.uk street files: shape of the text
    Case("street_semicolons", "street", _street(sep=";"),
         ("separated by ';'",), "comma-separated", line=1, e2e=CRIME),
    Case("street_tabs", "street", _street(sep="\t"),
         ("separated by 'tab'",), "comma-separated", line=1, e2e=CRIME),
    Case("street_zip_member_semicolons", "street",
         _write("met-2021-06.zip", _zip_bytes(street_text(sep=";"))),
         (f"{MONTH}/{STREET_NAME}", "separated by ';'"), "comma-separated", line=1),
    Case("street_missing_column", "street", _street(header=[h for h in STREET_HEADER if h != "Latitude"]),
         ("missing column", "Latitude"), "police.uk street-level file", line=1, e2e=CRIME),
    Case("street_renamed_column", "street",
         _write(STREET_NAME, street_text().replace("Crime type", "Crime category", 1)),
         ("missing column", "Crime type"), "police.uk street-level file", line=1, e2e=CRIME),
    Case("street_ragged_row", "street",
         _write(STREET_NAME, street_text().replace("On or near Street 1", "On or near Street 1,extra", 1)),
         ("a row has 13 fields where the header has 12",), "unquoted comma", line=3, e2e=CRIME),
    Case("street_extra_columns", "street",
         _street(header=[*STREET_HEADER, "Force notes", "Officer"]), accepted=True, check=_check_street(3)),
    Case("street_bom", "street", _write(STREET_NAME, "\ufeff" + street_text()), accepted=True,
         check=_check_street(3)),
    Case("street_crlf", "street", _street(header=STREET_HEADER[:-1], eol="\r\n"), accepted=True,
         check=_check_street(3, last_outcome="Under investigation")),
    Case("street_header_only", "street", _street(lambda rows: rows.clear()), accepted=True,
         check=_check_street(0)),
    Case("street_empty", "street", _write(STREET_NAME, b""),
         ("file is empty",), "re-download", e2e=CRIME),
    Case("street_utf8_accents", "street", _street(_set(3, Location="On or near Caf\u00e9 Royal")), accepted=True,
         check=_check_street(3)),  # valid UTF-8: the control for the next case
    Case("street_not_utf8", "street",
         _write(STREET_NAME, street_text().replace("Street 2", "Caf\u00e9 Royal"), encoding="latin-1"),
         ("not utf-8",), "utf-8", line=4, e2e=CRIME),
    Case("street_utf16", "street", _write(STREET_NAME, street_text(), encoding="utf-16"),
         ("utf-16",), "utf-8", line=1, e2e=CRIME),
    Case("street_bad_name", "street", _write("june-burglaries.csv", street_text()),
         ("is not named like",), "keep police.uk's file names"),
    # ---- police.uk street files: values
    Case("street_decimal_comma", "street", _street(_set(3, Longitude="-0,141")),
         ("Longitude '-0,141' is not a number",), "dot as the decimal mark", line=3, e2e=CRIME),
    Case("street_text_coordinate", "street", _street(_set(2, Latitude="n/a")),
         ("Latitude 'n/a' is not a number",), "fix or remove", line=2),
    Case("street_out_of_range", "street", _street(_set(4, Latitude="951.5")),
         ("out of range",), "-90..90", line=4, e2e=CRIME),
    Case("street_swapped", "street", _street(_set(3, Longitude="51.538", Latitude="-0.141")),
         ("look swapped",), "Latitude about 51.5", line=3, e2e=CRIME),
    Case("street_partial_coordinate", "street", _street(_set(2, Latitude="")),
         ("longitude without a latitude",), "both coordinates or neither", line=2, e2e=CRIME),
    Case("street_month_mismatch", "street", _street(_set(4, Month="2021-07")),
         ("'2021-07' disagrees", f"'{MONTH}'"), "misnamed", line=4, e2e=CRIME),
    Case("street_no_crime_type", "street", _street(_set(3, Crime_type="")),
         ("no crime type",), "fix or remove that row", line=3, e2e=CRIME),
    Case("street_same_file_twice", "street_build", _same_file_twice, accepted=True, check=_check_duplicate),
    Case("street_500mb", "street", _sparse(STREET_NAME),
         ("is 600 MB", "the limit is 400 MB"), "CRIME_TRUST_MAX_INPUT_MB", e2e=CRIME),
    Case("street_gzip_bomb", "street_small_limit", _write(STREET_NAME + ".gz", gzip.compress(
        street_text().encode() + b"\n" * (3 * MB), mtime=0)),
         ("expands to more than 1 MB", "the limit is 1 MB"), "CRIME_TRUST_MAX_INPUT_MB"),
    # ---- Met ward table
    Case("mps_missing_column", "mps_ward", _write(MPS_FILE, mps_text(drop="WardCode")),
         ("missing column", "WardCode"), "right file", line=1, e2e=MPS),
    Case("mps_non_numeric_count", "mps_ward", _write(MPS_FILE, mps_text(cell=(3, "202309", "12a"))),
         ("'12a'", "202309", "whole number"), "fix that cell", line=3, e2e=MPS),
    Case("mps_negative_count", "mps_ward", _write(MPS_FILE, mps_text(cell=(5, "202308", "-3"))),
         ("'-3'", "whole number ≥ 0"), "fix that cell", line=5, e2e=MPS),
    Case("mps_unknown_ward", "mps_ward", _write(MPS_FILE, mps_text(ward=(4, "E05999999"))),
         ("unknown ward code 'E05999999'",), "2022 London ward codes", line=4, e2e=MPS),
    Case("mps_no_month_columns", "mps_ward", _write(MPS_FILE, mps_text(months=["2023-07", "2023-08"])),
         ("no month columns",), "202307", line=1, e2e=MPS),
    Case("mps_semicolons", "mps_ward", _write(MPS_FILE, mps_text().replace(",", ";")),
         ("missing column",), "separated by semicolons", line=1),
    # ---- MOPAC PAS
    Case("pas_percentages", "pas", _write(PAS_FILE, pas_text(line=3, Proportion="61")),
         ("Proportion 61.0 is outside 0..1",), "not percentages", line=3, e2e=TRUST),
    Case("pas_unknown_borough", "pas", _write(PAS_FILE, pas_text(line=4, Borough="Gotham")),
         ("unknown borough 'Gotham'",), "London borough names", line=4, e2e=TRUST),
    Case("pas_bad_date", "pas", _write(PAS_FILE, pas_text(line=2, Date="2014-12-31")),
         ("'2014-12-31' is not dd/mm/yyyy",), "31/12/2014", line=2, e2e=TRUST),
    Case("pas_comma_separated", "pas", _write(PAS_FILE, pas_text(sep=",", decimal=".")),
         ("missing column", "Borough"), "separated by commas", line=1, e2e=TRUST),
    Case("pas_not_utf8", "pas", _write(PAS_FILE, pas_text(line=3, Borough="Camd\u00e9n"), encoding="cp1252"),
         ("not utf-8",), "re-save it as utf-8", line=3, e2e=TRUST),
    Case("pas_empty", "pas", _write(PAS_FILE, b""), ("file is empty",), "re-download", e2e=TRUST),
    Case("pas_decimal_point", "pas", _write(PAS_FILE, pas_text(decimal=".")), accepted=True, check=_check_pas),
    Case("pas_500mb", "pas", _sparse(PAS_FILE), ("is 600 MB",), "CRIME_TRUST_MAX_INPUT_MB", e2e=TRUST),
    # ---- a user's trust table
    Case("trust_unknown_area", "trust", _write(TRUST_FILE, trust_text(line=3, area_code="E05000001")),
         ("unknown area code 'E05000001'",), "2022 ward codes", line=3),
    Case("trust_proportion_above_1", "trust", _write(TRUST_FILE, trust_text(line=2, proportion="1.4")),
         ("Proportion 1.4 is outside 0..1",), "not percentages", line=2),
    Case("trust_bad_sample_size", "trust", _write(TRUST_FILE, trust_text(line=3, sample_size="ten")),
         ("sample_size 'ten'",), "number of respondents", line=3),
    Case("trust_zero_sample_size", "trust", _write(TRUST_FILE, trust_text(line=2, sample_size="0")),
         ("sample_size '0'",), "number of respondents", line=2),
    Case("trust_bad_period_end", "trust", _write(TRUST_FILE, trust_text(line=4, period_end="03/31/2024")),
         ("'03/31/2024' is not a date", "YYYY-MM-DD or DD/MM/YYYY"), "2024-03-31", line=4),
    Case("trust_png_named_csv", "trust", _write(TRUST_FILE, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)),
         ("is a PNG image, not a CSV file",), "right file"),
    Case("trust_european_excel", "trust", _write(TRUST_FILE, EUROPEAN_EXCEL), accepted=True, check=_check_trust),
    Case("trust_tab_separated", "trust", _write(TRUST_FILE, trust_text(sep="\t")), accepted=True,
         check=_check_trust),
    Case("trust_day_first_dates", "trust", _write(TRUST_FILE, trust_text(line=2, period_end="31/03/2024")),
         accepted=True, check=_check_trust),
    Case("trust_quoted_thousands", "trust", _write(TRUST_FILE, trust_text(line=3, sample_size='"1,450"')),
         accepted=True, check=_check_trust),
    Case("trust_empty", "trust", _write(TRUST_FILE, b""), ("file is empty",), "re-export"),
    Case("trust_header_only", "trust", _write(TRUST_FILE, trust_text().splitlines()[0] + "\n"),
         ("header but no rows",), "add at least one row"),
    Case("trust_500mb", "trust", _sparse(TRUST_FILE), ("is 600 MB",), "CRIME_TRUST_MAX_INPUT_MB"),
    # ---- Census population
    Case("population_non_numeric", "population",
         _population([("E01004734", "1500"), ("E01004763", '"1,600"'), ("E01000907", "1700")]),
         ("not a whole number", "'1,600'"), "Nomis", line=3),
    Case("population_negative", "population",
         _population([("E01004734", "1500"), ("E01004763", "1600"), ("E01000907", "-17")]),
         ("not a whole number ≥ 0", "'-17'"), "Nomis", line=4),
    Case("population_missing_lsoa", "population", _population([("E01004734", "1500"), ("E01000907", "1700")]),
         ("1 London LSOAs have no population", "E01004763"), "Census 2021 LSOA file"),
]

CASES_BY_ID = {c.id: c for c in CASES}
assert len(CASES_BY_ID) == len(CASES), "case ids must be unique"


# --------------------------------------------------------------------------- running a case


def tiny_geography() -> Any:
    """A one-ward 'London' (a box over the centre) so the build's street step runs without real data."""
    from data_sources.build.inputs import Geography
    from geo.assign import WardLocator

    wards = gpd.GeoDataFrame({"ward_code": ["E05013806"], "ward_name": ["Abbey Road"],
                              "borough_code": ["E09000033"], "borough_name": ["Westminster"]},
                             geometry=[shapely.box(520000, 175000, 536000, 190000)], crs="EPSG:27700")
    return Geography(POP_LOOKUP.assign(lsoa_name="x"), wards, wards, pd.DataFrame(),
                     WardLocator.from_wards(wards), "tiny")


def run(case: Case, path: Path, tmp: Path) -> Any:
    """Feed ``path`` to the case's reader; return what it returns."""
    if case.reader in ("street", "street_small_limit"):
        frames = [read_street_file(src)[0] for src in discover_street_files(path)]
        return pd.concat(frames, ignore_index=True) if frames else None
    if case.reader == "street_build":
        from data_sources.build.inputs import InputCache, SourceAccount, read_street_inputs
        account = SourceAccount()
        sources = discover_street_files(path)
        rows = read_street_inputs(sources, tiny_geography(), InputCache(tmp / "store", "tiny"), account,
                                  lambda _m: None)
        return rows, account
    if case.reader == "mps_ward":
        return mps_ward.read_mps_ward_file(path, set(MPS_WARDS))[0]
    if case.reader == "pas":
        return pas.read_pas(path, BOROUGH_CODES)
    if case.reader == "trust":
        return pas.read_trust_table(path, KNOWN_AREAS)
    if case.reader == "population":
        return population.read_population(path, path.parent / LTLA_FILE, POP_LOOKUP)
    raise ValueError(f"unknown reader {case.reader!r}")
