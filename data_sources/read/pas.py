"""MOPAC Public Attitude Survey trust figures, and the general trust-table loader.

MOPAC publishes rolling 12-month proportions by borough and quarter in a workbook,
``PAS_T&Cdashboard_to Qn yy-yy.xlsx`` (London Datastore, dataset ``mopac-surveys``), with
sheets ``Borough`` and ``MPS`` (London); the shared copies of its Q3 23-24 release are the
two sheets re-saved as semicolon-separated text with decimal commas. Dates are dd/mm/yyyy
(text, or Excel dates in the workbook); there are no sample sizes and no City of London
(the City is not surveyed). Both forms are read here into the TRUST schema. The general
loader takes any table in the TRUST schema, so a user holding ward-level PAS can use it
through the same path.

Every row carries the ``publication`` it comes from (:data:`PUBLICATIONS`), so the screen
can say which figure comes from which publication; ``data_sources.build.trust_merge`` decides
between publications where they overlap.
"""

from __future__ import annotations

import datetime
import re
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.utils.exceptions import InvalidFileException

from core.errors import InputFileError
from data_sources.read._csv import read_small_csv
from data_sources.read._dialect import sniff_dialect_file
from data_sources.read._limits import check_size
from data_sources.read._sniff import EXCEL, sniff_file
from data_sources.read.lookup import normalise_borough_name
from data_sources.schemas import TRUST
from geo.london import LONDON_CODE

PAS_BOROUGH_FILE = "trust/PAS_buroughs.csv"
PAS_LONDON_FILE = "trust/PAS_Total.csv"

#: Published measure label → stable id. Unknown labels get a slug of their own.
MEASURES = {
    '"Good Job" local': "good_job_local",
    "Contact ward officer": "contact_ward_officer",
    "Informed local": "informed_local",
    "Listen to concerns": "listen_to_concerns",
    "Relied on to be there": "relied_on",
    "Treat everyone fairly": "treat_fairly",
    "Understand issues": "understand_issues",
    "Trust MPS": "trust_mps",
}
#: Stable id → the workbook's label, so figures from other publications carry the official label.
LABELS = {v: k for k, v in MEASURES.items()}
LONDON_NAMES = {"mps", "london", "metropolitan police service"}

#: Publication labels, in order of precedence where figures overlap (first wins).
WORKBOOK = "MOPAC PAS workbook"
LONDON_SERIES = "MOPAC London series (Datastore)"
DASHBOARD = "MOPAC dashboard (extracted)"
DERIVED = "London derived from borough figures"
UPLOAD = "your upload"
PUBLICATIONS = (WORKBOOK, LONDON_SERIES, DASHBOARD, DERIVED, UPLOAD)
#: The workbook's sheets: boroughs (required) and London.
BOROUGH_SHEET, LONDON_SHEET = "Borough", "MPS"
PAS_COLUMNS = ["Date", "Borough", "Measure", "Proportion"]


def measure_id(label: str) -> str:
    """Stable id for a PAS measure label.

    Examples
    --------
    >>> measure_id('"Good Job" local')
    'good_job_local'
    >>> measure_id("Feel safe after dark")
    'feel_safe_after_dark'
    """
    return MEASURES.get(label) or re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def _proportions(path: Path, text: pd.Series) -> np.ndarray:
    values = pd.to_numeric(text.str.strip().str.replace(",", ".", regex=False), errors="coerce")
    bad = values.isna() & text.str.strip().ne("")
    if bad.any():
        line = int(bad.to_numpy().argmax()) + 2
        raise InputFileError(path, f"Proportion {text.iloc[line - 2]!r} is not a number", line=line,
                             hint="write proportions like 0,56 or 0.56")
    outside = (values < 0) | (values > 1)
    if outside.any():
        line = int(outside.to_numpy().argmax()) + 2
        raise InputFileError(path, f"Proportion {values.iloc[line - 2]} is outside 0..1", line=line,
                             hint="give proportions, not percentages (0.56, not 56)")
    return values.to_numpy(dtype="float64")


def _dates(path: Path, text: pd.Series) -> pd.Series:
    dates = pd.to_datetime(text.str.strip(), format="%d/%m/%Y", errors="coerce")
    if dates.isna().any():
        line = int(dates.isna().to_numpy().argmax()) + 2
        raise InputFileError(path, f"Date {text.iloc[line - 2]!r} is not dd/mm/yyyy", line=line,
                             hint="write quarter ends as MOPAC does, e.g. 31/12/2014")
    return dates.astype("datetime64[ns]")


def read_pas(path: Path, borough_codes: dict[str, str]) -> pd.DataFrame:
    """Read a MOPAC PAS table (borough or MPS sheet, as text) into the TRUST schema.

    Parameters
    ----------
    path
        ``PAS_buroughs.csv`` or ``PAS_Total.csv`` (``Date;Survey;Borough;Measure;Proportion[;MPS]``).
    borough_codes
        Normalised borough name → ONS code (``data_sources.read.lookup.borough_codes_by_name``).
    """
    frame = read_small_csv(path, PAS_COLUMNS, sep=";")
    return pas_frame(path, frame, borough_codes)


def pas_frame(path: Path | str, frame: pd.DataFrame, borough_codes: dict[str, str], *,
              publication: str = WORKBOOK) -> pd.DataFrame:
    """Validate a PAS sheet already read as text (``Date, Borough, Measure, Proportion``) into TRUST rows.

    Line numbers in messages count the header as line 1.
    """
    keys = frame["Borough"].map(normalise_borough_name)
    is_london = keys.isin(LONDON_NAMES)
    codes = keys.map(borough_codes)
    unknown = codes.isna() & ~is_london
    if unknown.any():
        line = int(unknown.to_numpy().argmax()) + 2
        raise InputFileError(path, f"unknown borough {frame['Borough'].iloc[line - 2]!r}", line=line,
                             hint="use London borough names, or 'MPS' for London")
    out = pd.DataFrame({
        "area_code": codes.where(~is_london, LONDON_CODE),
        "area_level": np.where(is_london, "london", "borough"),
        "period_end": _dates(Path(path), frame["Date"]),
        "measure_id": frame["Measure"].map(measure_id),
        "measure_label": frame["Measure"],
        "proportion": _proportions(Path(path), frame["Proportion"]),
        "sample_size": pd.array([pd.NA] * len(frame), dtype="Int64"),
        "source_file": str(path),
        "publication": publication,
    })
    out = out[out["proportion"].notna()]
    return TRUST.conform(out.reset_index(drop=True))


def _cell_text(value: object) -> str:
    """A workbook cell as the text the CSV form would hold (dates as dd/mm/yyyy)."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime | datetime.date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _excel_serial_dates(values: list[object]) -> list[object]:
    """Turn bare Excel day numbers (a date column without a date format) into dates."""
    out: list[object] = []
    for v in values:
        if isinstance(v, int | float) and not isinstance(v, bool) and 20000 < v < 80000:
            out.append(EXCEL_EPOCH + datetime.timedelta(days=float(v)))
        else:
            out.append(v)
    return out


EXCEL_EPOCH = datetime.datetime(1899, 12, 30)


def _sheet_frame(path: Path, sheet: object, name: str) -> pd.DataFrame:
    rows = [r for r in sheet.iter_rows(values_only=True) if any(c is not None and str(c).strip() for c in r)]  # type: ignore[attr-defined]
    if not rows:
        raise InputFileError(f"{path}!{name}", "sheet is empty", hint="is this MOPAC's PAS trust workbook?")
    header = [str(c).strip() if c is not None else "" for c in rows[0]]
    keep = [i for i, h in enumerate(header) if h and not h.startswith("Unnamed")]
    columns = {header[i]: [r[i] if i < len(r) else None for r in rows[1:]] for i in keep}
    missing = [c for c in PAS_COLUMNS if c not in columns]
    if missing:
        found = ", ".join(repr(header[i]) for i in keep[:8])
        raise InputFileError(f"{path}!{name}", f"missing column(s) {missing!r}; found {found}", line=1,
                             hint="is this MOPAC's PAS trust workbook (Date, Survey, Borough, Measure, Proportion)?")
    columns["Date"] = _excel_serial_dates(columns["Date"])
    return pd.DataFrame({c: [_cell_text(v) for v in vals] for c, vals in columns.items()}, dtype=object)


def read_pas_workbook(path: Path, borough_codes: dict[str, str]) -> pd.DataFrame:
    """Read MOPAC's ``PAS_T&Cdashboard`` workbook (sheets ``Borough`` and ``MPS``) into TRUST rows.

    Columns ``Date, Survey, Borough, Measure, Proportion`` (the Borough sheet also ``MPS``,
    London's value, and perhaps empty ``Unnamed`` columns); dates as dd/mm/yyyy text or as
    Excel dates. London comes from the ``MPS`` sheet; without it, from the Borough sheet's
    ``MPS`` column.

    Raises
    ------
    InputFileError
        For a file that is not a complete workbook, lacks the ``Borough`` sheet, or has
        another layout, naming the file (and sheet) and what was found.
    """
    check_size(path)
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, InvalidFileException) as e:
        what = sniff_file(str(path))
        problem = (f"is {what}, not an Excel workbook (.xlsx)" if what != EXCEL
                   else "is not a complete Excel workbook (truncated or damaged)")
        raise InputFileError(path, problem, hint="download it again") from e
    try:
        names = list(book.sheetnames)
        if BOROUGH_SHEET not in names:
            raise InputFileError(path, f"has no sheet {BOROUGH_SHEET!r}; sheets found: {names!r}",
                                 hint="is this MOPAC's PAS trust workbook (PAS_T&Cdashboard_to Qn yy-yy.xlsx)?")
        borough = _sheet_frame(path, book[BOROUGH_SHEET], BOROUGH_SHEET)
        if LONDON_SHEET in names:
            london = _sheet_frame(path, book[LONDON_SHEET], LONDON_SHEET)
        elif "MPS" in borough.columns:
            firsts = borough.drop_duplicates(["Date", "Measure"])
            london = firsts.assign(Borough="MPS", Proportion=firsts["MPS"])
        else:
            london = borough.iloc[0:0]
    finally:
        book.close()
    parts = [pas_frame(f"{path}!{BOROUGH_SHEET}", borough, borough_codes)]
    if len(london):
        parts.append(pas_frame(f"{path}!{LONDON_SHEET}", london, borough_codes))
    return TRUST.conform(pd.concat(parts, ignore_index=True))


#: The columns of a user's trust table: required, then optional.
TRUST_TABLE_COLUMNS = ["area_code", "period_end", "measure_id", "proportion"]
TRUST_TABLE_OPTIONAL = ["area_level", "measure_label", "sample_size"]
#: Dates a trust table may hold: ISO, or day first as a UK or European spreadsheet writes them.
TRUST_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y")


def read_trust_table(path: Path, known_areas: dict[str, str]) -> pd.DataFrame:
    """Read a user's trust table (TRUST columns) and validate it.

    Required columns: ``area_code, period_end, measure_id, proportion``; optional
    ``area_level, measure_label, sample_size``. The file may be separated by commas,
    semicolons or tabs, with decimal points or decimal commas (a European Excel's "CSV"),
    with or without a byte-order mark and CRLF line ends (``data_sources.read._dialect``).
    ``period_end`` is ``YYYY-MM-DD`` or day first (``31/12/2023``, ``31.12.2023``), as a
    spreadsheet re-saves it; a sample size may carry thousands separators.

    Parameters
    ----------
    known_areas
        Every valid area code → its level ('ward', 'borough', 'london').
    """
    dialect = sniff_dialect_file(path, TRUST_TABLE_COLUMNS)
    frame = read_small_csv(path, TRUST_TABLE_COLUMNS, sep=dialect.sep)
    if frame.empty:
        raise InputFileError(path, "has a header but no rows", hint="add at least one row")
    unknown = ~frame["area_code"].str.strip().isin(known_areas)
    if unknown.any():
        line = int(unknown.to_numpy().argmax()) + 2
        raise InputFileError(path, f"unknown area code {frame['area_code'].iloc[line - 2]!r} "
                             f"({int(unknown.sum())} row(s) in all)", line=line,
                             hint="use 2022 ward codes (E05…), borough codes (E09…) or E12000007 for London")
    dates = _trust_dates(frame["period_end"].str.strip())
    if dates.isna().any():
        line = int(dates.isna().to_numpy().argmax()) + 2
        raise InputFileError(path, f"period_end {frame['period_end'].iloc[line - 2]!r} is not a date "
                             "(YYYY-MM-DD or DD/MM/YYYY)", line=line,
                             hint="write the survey period's last day, e.g. 2024-03-31")
    size_text = frame.get("sample_size", pd.Series("", index=frame.index)).str.strip()
    thousands = "." if dialect.decimal == "," else ","
    digits = size_text.where(~size_text.str.fullmatch(rf"\d{{1,3}}(\{thousands}\d{{3}})+"),
                             size_text.str.replace(thousands, "", regex=False))
    sizes = pd.to_numeric(digits.mask(digits == ""), errors="coerce")
    bad_size = (size_text != "") & (sizes.isna() | (sizes <= 0) | (sizes % 1 != 0))
    if bad_size.any():
        line = int(bad_size.to_numpy().argmax()) + 2
        raise InputFileError(path, f"sample_size {size_text.iloc[line - 2]!r} is not a whole number above 0",
                             line=line, hint="give the number of respondents, or leave the cell blank if unknown")
    codes = frame["area_code"].str.strip()
    out = pd.DataFrame({
        "area_code": codes,
        "area_level": codes.map(known_areas),
        "period_end": dates.astype("datetime64[ns]"),
        "measure_id": frame["measure_id"].str.strip().map(measure_id),
        "measure_label": frame.get("measure_label", frame["measure_id"]).str.strip(),
        "proportion": _proportions(path, frame["proportion"]),
        "sample_size": sizes.astype("Int64"),
        "source_file": Path(path).name,
        "publication": UPLOAD,
    })
    return TRUST.conform(out)


def _trust_dates(text: pd.Series) -> pd.Series:
    """Parse each date with the first of ``TRUST_DATE_FORMATS`` that fits (NaT where none does)."""
    dates = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for fmt in TRUST_DATE_FORMATS:
        missing = dates.isna()
        if not missing.any():
            break
        dates[missing] = pd.to_datetime(text[missing], format=fmt, errors="coerce")
    return dates
