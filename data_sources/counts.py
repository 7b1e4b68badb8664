"""The tidy counts table an analyst wants: one row per area, month, source and crime type."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from data_sources.store.versions import DataHandle

EXPORT_COLUMNS = ["area_code", "area_name", "borough_code", "month", "source", "crime_type", "count"]


def counts_table(handle: DataHandle, *, source: Literal["police_uk", "mps_ward"],
                 level: Literal["ward", "borough"]) -> pd.DataFrame:
    """Counts per area, month and crime type for every month in the store (zero rows omitted).

    Borough rows sum the borough's wards; crimes with no usable location are in no area
    (see the ``london_totals`` table for London totals that include them).
    """
    counts = handle.read(f"counts_{source}")
    if level == "borough":
        names = handle.read("areas").query("area_level == 'borough'").set_index("area_code")["area_name"]
        counts = (counts.groupby(["borough_code", "month", "source", "crime_type"], as_index=False, observed=True)
                  ["count"].sum())
        counts["area_code"] = counts["borough_code"]
        counts["area_name"] = counts["borough_code"].map(names)
    out = counts[EXPORT_COLUMNS].sort_values(["month", "area_code", "crime_type"], ignore_index=True)
    return out


def write_counts_csv(handle: DataHandle, *, source: Literal["police_uk", "mps_ward"],
                     level: Literal["ward", "borough"], out: Path) -> int:
    """Write :func:`counts_table` to ``out`` as UTF-8 CSV; return the number of rows."""
    table = counts_table(handle, source=source, level=level)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    table.to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(out)
    return len(table)
