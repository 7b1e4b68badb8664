"""The Met's own monthly recorded crime by 2022 ward (London Datastore), wide → long.

A second, official crime source for all Home Office offence groups at ward level. The
published file is a moving 24-month window; several extracts can be combined, the newest
extract winning for every month it holds, because later extracts revise earlier months.
"""

from __future__ import annotations

import itertools
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
#: A newer release may revise a held month down by at most this share of its crimes; a
#: larger fall is a coverage gap (named) and the earlier release's figures are kept.
SHRINK_TOLERANCE = 0.10


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
    month_cols = check_month_columns(path, [str(c) for c in wide.columns])
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


def check_month_columns(path: Path | str, columns: list[str]) -> list[str]:
    """The month columns of an extract's header, which must be whole: every other column a month, in a row.

    A header cell that is neither an id column nor ``YYYYMM`` (a renamed or garbled month)
    is an error naming it, never a month silently left out; so is a month missing from
    the run or out of order.

    Raises
    ------
    InputFileError
        Naming the column (its position and text) and what was expected there.
    """
    def is_month(col: str) -> bool:
        return bool(_MONTH_COL.match(col.strip())) and 1 <= int(col.strip()[4:]) <= 12

    others = [(pos, col) for pos, col in enumerate(columns, start=1) if col not in ID_COLUMNS]
    month_cols = [col for _, col in others if is_month(col)]
    if not month_cols:
        raise InputFileError(path, "has no month columns named YYYYMM", line=1,
                             hint="expect columns like 202307, 202308, …")
    for pos, col in others:
        if not is_month(col):
            raise InputFileError(path, f"column {pos} of the header, {col!r}, is neither an id column nor a month "
                                 "YYYYMM (a renamed or garbled month column)", line=1,
                                 hint="every column after " + ", ".join(ID_COLUMNS) + " must be a month like 202307")
    for prev, col in itertools.pairwise(month_cols):
        y, m = int(prev[:4]), int(prev[4:])
        expected = f"{y + m // 12}{m % 12 + 1:02d}"
        if col.strip() != expected:
            raise InputFileError(path, f"month column {col!r} follows {prev!r}; expected {expected!r} (months must "
                                 "run one after another, none missing)", line=1, hint="check the file's header")
    return month_cols


def short_release(new: pd.DataFrame, held: pd.DataFrame, tolerance: float = SHRINK_TOLERANCE) -> str:
    """Why a downloaded release is short against the data held ('' when it is not).

    Short means: in every month both hold, the release has fewer rows (ward × offence
    cells with crimes) than the held data by more than ``tolerance`` — what a file cut off
    between two lines looks like, whatever its length says. A fall in only some months is
    left to the build, which names those months as gaps and keeps the earlier figures.
    ``new`` is in the MPS_WARD_CRIME schema, ``held`` the store's ``counts_mps_ward``.
    """
    rows_new = new[new["count"] > 0].groupby("month", observed=True).size()
    rows_held = held[held["count"] > 0].groupby(held["month"].astype(str), observed=True).size()
    shared = sorted(set(rows_new.index.astype(str)) & set(rows_held.index))
    if not shared:
        return ""
    ratio = pd.Series({m: rows_new[m] / rows_held[m] for m in shared})
    if (ratio >= 1 - tolerance).any():
        return ""
    return (f"holds {1 - ratio.max():.0%} to {1 - ratio.min():.0%} fewer rows than the data held in every month "
            f"both hold ({shared[0]} to {shared[-1]}; a revision may change at most {tolerance:.0%})")


def _ranked(frames: list[pd.DataFrame]) -> list[tuple[int, pd.DataFrame]]:
    return sorted(enumerate(frames), key=lambda p: (p[1]["month"].max() if len(p[1]) else "", p[0]))


def shrunk_months(frames: list[pd.DataFrame], tolerance: float = SHRINK_TOLERANCE) -> dict[str, tuple[int, int]]:
    """Months whose newest extract holds fewer crimes than the one before it by more than ``tolerance``.

    Returns month → (crimes in the newest extract, crimes in the one before), ranked as in
    :func:`combine_extracts`.
    """
    totals: dict[str, list[int]] = {}
    for _, frame in _ranked(frames):
        for month, n in frame.groupby("month", observed=True)["count"].sum().items():
            totals.setdefault(str(month), []).append(int(n))
    return {m: (t[-1], t[-2]) for m, t in totals.items() if len(t) >= 2 and t[-1] < (1 - tolerance) * t[-2]}


def combine_extracts(frames: list[pd.DataFrame], keep_earlier: set[str] | frozenset[str] = frozenset()) -> pd.DataFrame:
    """Merge extracts so that, for each month, only the newest extract holding it counts.

    An extract is newer when its latest month is later (ties: later in the list). For the
    months in ``keep_earlier`` (see :func:`shrunk_months`) the extract before the newest wins.
    """
    if not frames:
        return MPS_WARD_CRIME.empty()
    ranked = _ranked(frames)
    owner: dict[str, int] = {}
    previous: dict[str, int] = {}
    for rank, (_, frame) in enumerate(ranked):
        for month in frame["month"].unique():
            if month in owner:
                previous[month] = owner[month]
            owner[month] = rank
    owner.update({m: previous[m] for m in keep_earlier if m in previous})
    parts = [f[f["month"].map(owner) == rank] for rank, (_, f) in enumerate(ranked)]
    out = pd.concat(parts, ignore_index=True).sort_values(["month", "ward_code", "offence_subgroup"], ignore_index=True)
    return MPS_WARD_CRIME.conform(out)


def count_revisions(frames: list[pd.DataFrame]) -> tuple[list[str], int]:
    """Months where the newest extract holding them differs from an older one, and the cells changed.

    Extracts are ranked as in :func:`combine_extracts`. A cell is one ward × offence
    subgroup × month count; one that is absent (zero) in one extract and not in the other
    counts as changed.
    """
    ranked = _ranked(frames)
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
