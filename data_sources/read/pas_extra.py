"""Further PAS publications: MOPAC's borough dashboard (as extracted) and the official London series.

The official workbook (``data_sources.read.pas``) stops at its last release; two other public
sources go further, and both are mapped onto the workbook's measures and dates here:

- **MOPAC dashboard (extracted)** (``trust/pas_borough_powerbi_2014-2026/``): the figures
  of MOPAC's "Public Perceptions by Borough" Power BI dashboard, extracted into long CSVs
  by a third party, to January–March 2026. Columns ``date, quarter, borough, metric,
  metric_value``; ``date`` is the quarter's **start** (M/D/YYYY), so ``10/1/2014`` is the
  quarter the workbook dates 31/12/2014. Where both publish a figure they agree (Good job,
  Trust MPS; a few Fair treatment values differ and the workbook's are used). Bexley's
  Trust MPS row is duplicated in some quarters: exact duplicates are dropped and counted.
  ``perception_long.csv`` also has London rows (borough ``MPS``), read as London.
- **MOPAC London series (Datastore)** (``trust/pas_london_official_2014-2025/``): the
  London-wide series to September 2025, ``date`` as quarter end ``Mon-YY``, the question's
  full wording, and whole percentages.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import InputFileError
from data_sources.read._csv import read_small_csv
from data_sources.read.lookup import normalise_borough_name
from data_sources.read.pas import DASHBOARD, LABELS, LONDON_NAMES, LONDON_SERIES, measure_id
from data_sources.schemas import TRUST
from geo.london import LONDON_CODE

DASHBOARD_DIR = "trust/pas_borough_powerbi_2014-2026"
LONDON_SERIES_FILE = "trust/pas_london_official_2014-2025/public-perception-data.csv"

#: The dashboard's metric names → the workbook's measure ids (checked against the workbook
#: on every quarter both hold: "Dealing issues" is the workbook's "Understand issues").
DASHBOARD_MEASURES = {
    "Good job": "good_job_local",
    "Trust MPS": "trust_mps",
    "Fair treatment": "treat_fairly",
    "Dealing issues": "understand_issues",
    "Contact ward officer": "contact_ward_officer",
    "Informed local": "informed_local",
    "Listen to concerns": "listen_to_concerns",
    "Relied on to be there": "relied_on",
}
#: The London series' question wording → the workbook's measure ids (equal, rounded, on every
#: quarter both hold; "dealing with the things that matter" is the workbook's "Understand issues").
LONDON_SERIES_MEASURES = {
    "Police do a good job in the local area": "good_job_local",
    "Agree the police treat everyone fairly regardless of who they are": "treat_fairly",
    "Agree the police listen to the concerns of local people": "listen_to_concerns",
    "Agree the police can be relied upon to be there when needed": "relied_on",
    "Agree the police are dealing with the things that matter to this community": "understand_issues",
    "Feels well informed about local police activities over the last 12 months": "informed_local",
    "Knows how to contact their local ward officer": "contact_ward_officer",
}


def _column(frame: pd.DataFrame, name: str) -> str:
    """The frame's column called ``name`` whatever its case (the two extracts differ)."""
    return next(c for c in frame.columns if c.lower() == name)


def read_dashboard_extract(path: Path, borough_codes: dict[str, str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Read one extract of MOPAC's borough dashboard into TRUST rows on the workbook's dates and measures.

    Returns
    -------
    rows, dropped
        The TRUST rows, and rows left out by reason: ``duplicate_row`` (exact repeats, such
        as Bexley's Trust MPS) and ``measure_not_in_workbook`` (e.g. "S&S used fairly").
    """
    frame = read_small_csv(path, [])
    lower = {c.lower() for c in frame.columns}
    missing = [c for c in ("date", "borough", "metric", "metric_value") if c not in lower]
    if missing:
        raise InputFileError(path, f"missing column(s) {missing!r}; found {list(frame.columns)[:8]!r}", line=1,
                             hint="expect the dashboard extract's columns date, quarter, borough, metric, metric_value")
    frame = frame.rename(columns={_column(frame, c): c for c in ("date", "borough", "metric", "metric_value")})
    frame = frame[["date", "borough", "metric", "metric_value"]]
    dropped: dict[str, int] = {}
    dup = frame.duplicated()
    if dup.any():
        dropped["duplicate_row"] = int(dup.sum())
    keep = ~dup
    known = frame["metric"].str.strip().isin(DASHBOARD_MEASURES)
    if (~known & keep).any():
        dropped["measure_not_in_workbook"] = int((~known & keep).sum())
    rows = frame[keep & known]
    start = pd.to_datetime(rows["date"].str.strip(), format="%m/%d/%Y", errors="coerce")
    bad = start.isna() | (start.dt.day != 1) | ~start.dt.month.isin([1, 4, 7, 10])
    if bad.any():
        line = int(rows.index[bad.to_numpy().argmax()]) + 2
        raise InputFileError(path, f"date {frame['date'].iloc[line - 2]!r} is not a quarter's first day (M/D/YYYY)",
                             line=line, hint="the dashboard dates quarters by their start, e.g. 10/1/2014")
    keys = rows["borough"].map(normalise_borough_name)
    is_london = keys.isin(LONDON_NAMES)
    codes = keys.map(borough_codes).where(~is_london, LONDON_CODE)
    if codes.isna().any():
        line = int(rows.index[codes.isna().to_numpy().argmax()]) + 2
        raise InputFileError(path, f"unknown borough {frame['borough'].iloc[line - 2]!r}", line=line,
                             hint="use London borough names")
    values = pd.to_numeric(rows["metric_value"].str.strip(), errors="coerce")
    bad = values.isna() | (values < 0) | (values > 1)
    if bad.any():
        line = int(rows.index[bad.to_numpy().argmax()]) + 2
        raise InputFileError(path, f"metric_value {frame['metric_value'].iloc[line - 2]!r} is not a proportion 0..1",
                             line=line, hint="the dashboard gives proportions like 0.56")
    ids = rows["metric"].str.strip().map(DASHBOARD_MEASURES)
    out = pd.DataFrame({
        "area_code": codes, "area_level": np.where(is_london, "london", "borough"),
        "period_end": (start + pd.offsets.QuarterEnd(0)).astype("datetime64[ns]"),
        "measure_id": ids, "measure_label": ids.map(LABELS), "proportion": values.astype("float64"),
        "sample_size": pd.array([pd.NA] * len(rows), dtype="Int64"),
        "source_file": str(path), "publication": DASHBOARD,
    })
    return TRUST.conform(out.reset_index(drop=True)), dropped


def read_london_series(path: Path) -> pd.DataFrame:
    """Read the Datastore's London-wide PAS series (``date, measure, proportion``) into TRUST rows.

    Dates are quarter ends ``Mon-YY``; proportions are whole percentages, divided by 100.
    """
    frame = read_small_csv(path, ["date", "measure", "proportion"])
    ends = pd.to_datetime(frame["date"].str.strip(), format="%b-%y", errors="coerce")
    if ends.isna().any():
        line = int(ends.isna().to_numpy().argmax()) + 2
        raise InputFileError(path, f"date {frame['date'].iloc[line - 2]!r} is not Mon-YY", line=line,
                             hint="the London series dates quarters by their end, e.g. Dec-14")
    ids = frame["measure"].str.strip().map(LONDON_SERIES_MEASURES)
    unknown = ids.isna()
    if unknown.any():
        ids = ids.where(~unknown, frame["measure"].map(measure_id))
    pct = pd.to_numeric(frame["proportion"].str.strip(), errors="coerce")
    bad = pct.isna() | (pct < 0) | (pct > 100)
    if bad.any():
        line = int(bad.to_numpy().argmax()) + 2
        raise InputFileError(path, f"proportion {frame['proportion'].iloc[line - 2]!r} is not a percentage 0..100",
                             line=line, hint="the London series gives whole percentages, e.g. 67")
    out = pd.DataFrame({
        "area_code": LONDON_CODE, "area_level": "london",
        "period_end": (ends + pd.offsets.MonthEnd(0)).astype("datetime64[ns]"),
        "measure_id": ids, "measure_label": ids.map(LABELS).fillna(frame["measure"]),
        "proportion": (pct / 100).astype("float64"),
        "sample_size": pd.array([pd.NA] * len(frame), dtype="Int64"),
        "source_file": str(path), "publication": LONDON_SERIES,
    })
    return TRUST.conform(out)
