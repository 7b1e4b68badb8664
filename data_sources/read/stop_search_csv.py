"""police.uk bulk stop-and-search CSVs: find them by name and read them into the tidy table.

Accepts ``YYYY-MM-<force>-stop-and-search.csv`` files (plain or ``.gz``) and folders of
them (searched recursively). The file layout is the same for every force (15 columns);
validation and the tidy columns are shared with the API reader (``data_sources.read._stop_search``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.errors import InputFileError
from data_sources.read._csv import read_small_csv
from data_sources.read._stop_search import REQUIRED, StopSearchReport, tidy_rows

NAME = re.compile(r"^(\d{4}-\d{2})-([a-z0-9-]+?)-stop-and-search\.csv(\.gz)?$")


@dataclass(frozen=True)
class StopSearchFile:
    """One monthly file: its path, and the month and force its name gives."""

    path: Path
    month: str
    force: str


def discover(path: Path) -> list[StopSearchFile]:
    """List the bulk stop-and-search files in a file or folder, in name order.

    Files not named like police.uk's (``YYYY-MM-<force>-stop-and-search.csv[.gz]``) are ignored.
    """
    if not path.exists():
        raise InputFileError(path, "does not exist", hint="check the path or --data-dir")
    candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    found = []
    for p in candidates:
        m = NAME.match(p.name)
        if m:
            found.append(StopSearchFile(p, m.group(1), m.group(2)))
        elif not path.is_dir():
            raise InputFileError(p, "is not named like YYYY-MM-<force>-stop-and-search.csv[.gz]",
                                 hint="keep police.uk's file names; the month and force come from them")
    return found


def read_bulk_file(src: StopSearchFile, *, label: str | None = None) -> tuple[pd.DataFrame, StopSearchReport]:
    """Read and validate one bulk file into the STOP_SEARCH schema.

    Parameters
    ----------
    src
        The file.
    label
        The name used in messages and ``source_file`` (default: the path).

    Raises
    ------
    InputFileError
        For an unreadable, empty or malformed file, or one with too many bad rows.
    """
    raw = read_small_csv(src.path, REQUIRED)
    return tidy_rows(raw, name=label or str(src.path), force=src.force, month=src.month, dataset="bulk_csv")
