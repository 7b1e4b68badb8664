"""What the two stop-and-search layouts share: validating rows and turning them into one tidy table.

police.uk publishes every search twice over: monthly bulk CSVs (``YYYY-MM-<force>-stop-and-search.csv``)
and the API's ``stops-force`` JSON. Both readers bring their rows to the same raw columns
(the bulk CSV's headers) and hand them here, so the rules live once:

- ``Date`` is ISO 8601 with an offset, in UTC. The month is the **London local** month
  (a search at 2023-03-31T23:30+00:00 is 00:30 BST on 1 April), which is also how police.uk
  files them: the April file starts at ``…-03-31T23:xx+00:00``.
- A row whose date cannot be read, whose date lies far from the file's month, or whose
  coordinates are not numbers (or only one of the pair, or out of range) is a **bad row**:
  left out, counted by reason, and the first such line named. A file with more than
  :data:`MAX_BAD_SHARE` bad rows is refused whole, since it is probably not what it claims.
- Rows without coordinates are kept (they count in London's figures, never in an area's).
- Identical rows are kept: police.uk has no record id, and keeping them matches its totals
  (e.g. 2,347 in the Met's August 2022 file); they are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.errors import InputFileError
from data_sources.schemas import STOP_SEARCH

#: The published bulk columns this project reads, and their tidy names.
COLUMNS = {
    "Type": "search_type",
    "Date": "datetime",
    "Latitude": "latitude",
    "Longitude": "longitude",
    "Gender": "gender",
    "Age range": "age_range",
    "Self-defined ethnicity": "self_defined_ethnicity",
    "Officer-defined ethnicity": "officer_defined_ethnicity",
    "Legislation": "legislation",
    "Object of search": "object_of_search",
    "Outcome": "outcome",
    "Outcome linked to object of search": "outcome_linked",
    "Removal of more than just outer clothing": "removal_outer",
}
#: Columns without which a file cannot be read at all.
REQUIRED = ["Type", "Date", "Latitude", "Longitude", "Officer-defined ethnicity", "Outcome"]
#: London's civil time: months are by local date.
LOCAL_TZ = "Europe/London"
#: A file with more than this share of bad rows is refused rather than read in part.
MAX_BAD_SHARE = 0.05
#: A row dated more than this many days outside its file's month is a bad row (a wrong year, a typo).
MONTH_SLACK_DAYS = 2


@dataclass(frozen=True)
class BadRows:
    """Rows left out for one reason: how many, and the first line (CSV) or record (JSON) at fault."""

    count: int
    first: int
    example: str


@dataclass(frozen=True)
class StopSearchReport:
    """What reading one file found, for the manifest and the closing summary."""

    name: str
    force: str
    month: str
    dataset: str
    rows: int
    kept: int
    no_location: int
    identical_rows: int
    moved_month: int
    bad: dict[str, BadRows] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"path": self.name, "force": self.force, "month": self.month, "dataset": self.dataset,
                "rows": self.rows, "kept": self.kept, "no_location": self.no_location,
                "identical_rows": self.identical_rows, "moved_month": self.moved_month,
                "bad": {k: {"count": v.count, "first": v.first, "example": v.example} for k, v in self.bad.items()}}

    def notes(self, unit: str = "line") -> list[str]:
        """One plain line per reason rows were left out, naming the first."""
        return [f"{self.name}: {b.count:,} row(s) left out, {reason.replace('_', ' ')} "
                f"(first at {unit} {b.first}: {b.example!r})" for reason, b in self.bad.items()]


def local_month(stamps: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse ISO 8601 stamps with offsets; return UTC times and the London local month of each.

    Unreadable stamps give ``NaT`` and the month ``""``.

    Examples
    --------
    >>> utc, month = local_month(pd.Series(["2023-03-31T23:30:00+00:00", "2023-01-31T23:30:00+00:00", "x"]))
    >>> month.tolist()
    ['2023-04', '2023-01', '']
    """
    utc = pd.to_datetime(stamps, format="ISO8601", utc=True, errors="coerce")
    local = utc.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)
    months = local.to_numpy().astype("datetime64[M]").astype(str)
    months[utc.isna().to_numpy()] = ""
    return utc, months


def _numbers(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates as floats, and which non-blank cells are not numbers."""
    text = raw.fillna("").astype(str).str.strip()
    values = pd.to_numeric(text.where(text != ""), errors="coerce").to_numpy(dtype="float64")
    return values, np.isnan(values) & (text != "").to_numpy()


def _text(cells: pd.Series) -> pd.Series:
    """Trimmed text with blanks as <NA>."""
    text = cells.str.strip()
    return text.mask(text == "").astype("string").reset_index(drop=True)


def tidy_rows(raw: pd.DataFrame, *, name: str, force: str, month: str, dataset: str,
              first_line: int = 2, unit: str = "line") -> tuple[pd.DataFrame, StopSearchReport]:
    """Validate raw rows (bulk column names, text cells) into the STOP_SEARCH schema.

    Parameters
    ----------
    raw
        One file's rows with the bulk CSV's headers; blank cells empty or missing.
    name, force, month
        The file, the force slug (``metropolitan``) and the month its name gives (``YYYY-MM``).
    dataset
        ``'bulk_csv'`` or ``'api'``.
    first_line
        The line (or record) number of the first row, for messages.

    Raises
    ------
    InputFileError
        When the file lacks a required column or more than :data:`MAX_BAD_SHARE` of its rows are bad.
    """
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise InputFileError(name, f"missing column(s) {missing!r}; found {list(raw.columns)[:10]!r}", line=1,
                             hint="is this a police.uk stop-and-search file?")
    n = len(raw)
    cells = {tidy: (raw[col] if col in raw.columns else pd.Series("", index=raw.index)).fillna("").astype(str)
             for col, tidy in COLUMNS.items()}
    utc, months = local_month(cells["datetime"].str.strip())
    lon, lon_bad = _numbers(cells["longitude"])
    lat, lat_bad = _numbers(cells["latitude"])
    file_start = pd.Timestamp(f"{month}-01", tz=LOCAL_TZ)
    slack = pd.Timedelta(days=MONTH_SLACK_DAYS)
    far = utc.notna().to_numpy() & ((utc < file_start - slack) | (utc >= file_start + pd.offsets.MonthBegin(1) + slack)
                                    ).fillna(False).to_numpy()
    checks = {
        "unreadable_date": utc.isna().to_numpy(),
        "date_far_from_file_month": far,
        "coordinates_not_numbers": lon_bad | lat_bad,
        "one_coordinate_only": np.isnan(lon) != np.isnan(lat),
        "coordinates_out_of_range": (np.abs(lon) > 180) | (np.abs(lat) > 90),
        "no_search_type": (cells["search_type"].str.strip() == "").to_numpy(),
    }
    bad_any = np.zeros(n, dtype=bool)
    bad: dict[str, BadRows] = {}
    for reason, mask in checks.items():
        mask = mask & ~bad_any  # each row counted once, under its first fault
        if mask.any():
            i = int(np.argmax(mask))
            col = {"unreadable_date": "datetime", "date_far_from_file_month": "datetime",
                   "no_search_type": "search_type"}.get(reason, "latitude")
            example = (cells[col].iloc[i] if col != "latitude"
                       else f"{cells['latitude'].iloc[i]},{cells['longitude'].iloc[i]}")
            bad[reason] = BadRows(int(mask.sum()), first_line + i, example)
            bad_any |= mask
    if n and bad_any.sum() > MAX_BAD_SHARE * n:
        worst = max(bad.items(), key=lambda kv: kv[1].count)
        what = worst[0].replace("_", " ")
        raise InputFileError(name, f"{int(bad_any.sum()):,} of {n:,} rows are unreadable (e.g. {what}: "
                             f"{worst[1].example!r})", line=worst[1].first if unit == "line" else None,
                             hint="re-download the file; a police.uk file has very few such rows")
    keep = ~bad_any
    frame = pd.DataFrame({tidy: _text(cells[tidy][keep]) for tidy in COLUMNS.values()
                          if tidy not in ("datetime", "longitude", "latitude")})
    frame["datetime"] = utc[keep].to_numpy()
    frame["month"] = months[keep]
    frame["longitude"], frame["latitude"] = lon[keep], lat[keep]
    frame["force"] = force
    frame["dataset"] = dataset
    frame["source_file"] = name
    tidy = STOP_SEARCH.conform(frame)
    report = StopSearchReport(
        name=name, force=force, month=month, dataset=dataset, rows=n, kept=len(tidy),
        no_location=int(tidy["longitude"].isna().sum()),
        identical_rows=int(tidy.drop(columns=["source_file"]).duplicated().sum()),
        moved_month=int((tidy["month"] != month).sum()), bad=bad)
    return tidy, report
