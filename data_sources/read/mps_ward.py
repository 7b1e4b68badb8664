"""The Met's own monthly recorded crime by 2022 ward (London Datastore), wide → long.

A second, official crime source for all Home Office offence groups at ward level. The
published file is a moving 24-month window; several extracts can be combined, the newest
extract winning for every month it holds, because later extracts revise earlier months.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.errors import InputFileError
from data_sources.coverage import Gap
from data_sources.read._csv import read_small_csv
from data_sources.schemas import MPS_WARD_CRIME

MPS_WARD_DIR = "crime/mps_ward_recorded_crime"
ID_COLUMNS = ["MajorText", "MinorText", "WardName", "WardCode", "LookUp_BoroughName"]
_MONTH_COL = re.compile(r"^(\d{4})(\d{2})$")
#: A first month whose London total is below this share of the next three months' median
#: is a stub (the extract was cut part-way through the month) and is dropped.
STUB_SHARE = 0.5


@dataclass(frozen=True)
class MpsRelease:
    """One extract read: its rows, notes, and the stub month dropped from its start (if any)."""

    frame: pd.DataFrame
    notes: list[str]
    months: list[str]
    stub: Gap | None = None


def read_mps_ward_file(path: Path, known_wards: set[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Read one extract: ``(frame, notes)`` of :func:`read_mps_ward_release`."""
    release = read_mps_ward_release(path, known_wards)
    return release.frame, release.notes


def read_mps_ward_release(path: Path, known_wards: set[str] | None = None) -> MpsRelease:
    """Read one extract into the MPS_WARD_CRIME schema (zero counts left out; absent means 0).

    Parameters
    ----------
    path
        ``MPS Ward Level Crime (most recent 24 months).csv`` or a later extract.
    known_wards
        Valid ward codes; a code outside it is an error naming the line.

    Returns
    -------
    MpsRelease
        The long table, plain-English notes (e.g. a dropped stub month), the months it
        holds, and the stub month as a coverage gap when one was dropped.
    """
    wide = read_small_csv(path, ID_COLUMNS)
    month_cols = [c for c in wide.columns if _MONTH_COL.match(c)]
    if not month_cols:
        raise InputFileError(path, "has no month columns named YYYYMM", line=1,
                             hint="expect columns like 202307, 202308, …")
    counts = wide[month_cols].apply(pd.to_numeric, errors="coerce")
    bad = counts.isna() | (counts < 0) | (counts % 1 != 0)
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise InputFileError(path, f"count {wide[month_cols[col]].iloc[row]!r} in column {month_cols[col]} "
                             "is not a whole number ≥ 0", line=int(row) + 2, hint="fix that cell")
    if known_wards is not None:
        unknown = ~wide["WardCode"].isin(known_wards)
        if unknown.any():
            row = int(unknown.to_numpy().argmax())
            raise InputFileError(path, f"unknown ward code {wide['WardCode'].iloc[row]!r}", line=row + 2,
                                 hint="the file must use 2022 London ward codes (E05…)")
    notes = []
    totals = counts.sum()
    stub = None
    if len(month_cols) >= 4 and totals.iloc[0] < STUB_SHARE * float(np.median(totals.iloc[1:4])):
        expected = int(np.median(totals.iloc[1:4]))
        notes.append(f"{Path(path).name}: first month {month_cols[0]} holds {int(totals.iloc[0]):,} crimes against "
                     f"~{expected:,} in the next months; dropped as an incomplete stub")
        warnings.warn(notes[-1], stacklevel=2)
        first = f"{month_cols[0][:4]}-{month_cols[0][4:]}"
        stub = Gap(first, int(totals.iloc[0]), expected, "stub month at the start of a Met release")
        month_cols = month_cols[1:]
    long = wide[["MajorText", "MinorText", "WardCode"]].join(counts[month_cols].astype("int64"))
    long = long.melt(id_vars=["MajorText", "MinorText", "WardCode"], var_name="yyyymm", value_name="count")
    long = long[long["count"] > 0]
    frame = pd.DataFrame({
        "ward_code": long["WardCode"],
        "month": long["yyyymm"].str[:4] + "-" + long["yyyymm"].str[4:],
        "offence_group": long["MajorText"].str.strip(),
        "offence_subgroup": long["MinorText"].str.strip(),
        "count": long["count"],
        "source_file": str(path),
    })
    months = [f"{c[:4]}-{c[4:]}" for c in month_cols]
    return MpsRelease(MPS_WARD_CRIME.conform(frame.reset_index(drop=True)), notes, months, stub)


def combine_extracts(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Merge extracts so that, for each month, only the newest extract holding it counts.

    An extract is newer when its latest month is later (ties: later in the list).
    """
    if not frames:
        return MPS_WARD_CRIME.empty()
    ranked = sorted(enumerate(frames), key=lambda p: (p[1]["month"].max() if len(p[1]) else "", p[0]))
    owner: dict[str, int] = {}
    for rank, (_, frame) in enumerate(ranked):
        for month in frame["month"].unique():
            owner[month] = rank
    parts = [f[f["month"].map(owner) == rank] for rank, (_, f) in enumerate(ranked)]
    out = pd.concat(parts, ignore_index=True).sort_values(["month", "ward_code", "offence_subgroup"], ignore_index=True)
    return MPS_WARD_CRIME.conform(out)


def count_revisions(frames: list[pd.DataFrame]) -> tuple[list[str], int]:
    """Months where the newest extract holding them differs from an older one, and the cells changed.

    Extracts are ranked as in :func:`combine_extracts`. A cell is one ward × offence
    subgroup × month count; one that is absent (zero) in one extract and not in the other
    counts as changed.
    """
    ranked = sorted(enumerate(frames), key=lambda p: (p[1]["month"].max() if len(p[1]) else "", p[0]))
    holders: dict[str, list[pd.DataFrame]] = {}
    for _, frame in ranked:
        for month, part in frame.groupby("month", observed=True):
            holders.setdefault(str(month), []).append(part)
    revised, cells = [], 0
    keys = ["ward_code", "offence_subgroup"]
    for month, parts in sorted(holders.items()):
        if len(parts) < 2:
            continue
        new, old = parts[-1].set_index(keys)["count"], parts[-2].set_index(keys)["count"]
        both = pd.concat([new.rename("new"), old.rename("old")], axis=1).fillna(0)
        changed = int((both["new"] != both["old"]).sum())
        if changed:
            revised.append(month)
            cells += changed
    return revised, cells
