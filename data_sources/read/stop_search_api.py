"""police.uk API ``stops-force`` answers (JSON arrays, one per force and month) into the tidy table.

The API gives the same searches as the bulk files with other names (``datetime`` for
``Date``, ``location.latitude`` as a string, JSON ``true``/``false``/``null``). Each record
is mapped to the bulk columns, then validated by the shared rules
(``data_sources.read._stop_search``), so a record and its bulk row give the same tidy row.
Files are ``YYYY-MM.json[.gz]`` (optionally ``YYYY-MM-<force>.json[.gz]``); the force comes
from the name or from the caller.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from pathlib import Path
from typing import IO, Any, cast

import pandas as pd

from core.errors import InputFileError
from data_sources.read._limits import check_size, read_bounded
from data_sources.read._stop_search import StopSearchReport, tidy_rows

NAME = re.compile(r"^(\d{4}-\d{2})(?:-([a-z0-9-]+))?\.json(\.gz)?$")

#: API field → bulk column (nested fields by path).
FIELDS: dict[str, tuple[str, ...]] = {
    "Type": ("type",),
    "Date": ("datetime",),
    "Latitude": ("location", "latitude"),
    "Longitude": ("location", "longitude"),
    "Gender": ("gender",),
    "Age range": ("age_range",),
    "Self-defined ethnicity": ("self_defined_ethnicity",),
    "Officer-defined ethnicity": ("officer_defined_ethnicity",),
    "Legislation": ("legislation",),
    "Object of search": ("object_of_search",),
    "Outcome": ("outcome",),
    "Outcome linked to object of search": ("outcome_linked_to_object_of_search",),
    "Removal of more than just outer clothing": ("removal_of_more_than_outer_clothing",),
}


def _cell(record: dict[str, Any], path: tuple[str, ...]) -> str:
    value: Any = record
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    if path == ("outcome",) and isinstance(value, dict):  # older answers nest the outcome
        value = value.get("name")
    if value is None or (value is False and path == ("outcome",)):
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


def records_frame(records: list[Any], name: str) -> pd.DataFrame:
    """The API records as bulk-layout text columns; a record that is not an object is refused by number."""
    for i, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise InputFileError(name, f"record {i} is {type(record).__name__}, not an object",
                                 hint="is this a stops-force answer?")
    return pd.DataFrame({col: [_cell(r, path) for r in records] for col, path in FIELDS.items()})


def load_records(path: Path) -> list[Any]:
    """Read a (gzipped) JSON array from disk, refusing anything else by name."""
    check_size(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as fh:
                data = read_bounded(cast(IO[bytes], fh), path)
        else:
            with open(path, "rb") as fh:
                data = read_bounded(fh, path)
    except (OSError, EOFError, zlib.error) as e:
        raise InputFileError(path, f"cannot be read ({e})", hint="download the file again") from e
    if not data.strip():
        raise InputFileError(path, "is empty", hint="a stops-force answer is a JSON array, [] when there are none")
    try:
        records = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise InputFileError(path, f"is not valid JSON ({e})", hint="download the file again") from e
    if not isinstance(records, list):
        raise InputFileError(path, f"holds a JSON {type(records).__name__}, not an array of searches",
                             hint="is this a stops-force answer?")
    return records


def read_stops_force(records: list[Any], *, name: str, force: str, month: str) -> tuple[pd.DataFrame,
                                                                                          StopSearchReport]:
    """Validate one ``stops-force`` answer into the STOP_SEARCH schema (``dataset='api'``).

    Record numbers in messages are 1-based positions in the array.
    """
    raw = records_frame(records, name)
    return tidy_rows(raw, name=name, force=force, month=month, dataset="api", first_line=1, unit="record")


def discover(folder: Path, force: str) -> list[tuple[Path, str, str]]:
    """The ``(path, month, force)`` of each answer file in a folder; ``force`` unless the name says."""
    if not folder.is_dir():
        return []
    out = []
    for p in sorted(folder.iterdir()):
        m = NAME.match(p.name)
        if p.is_file() and m:
            out.append((p, m.group(1), m.group(2) or force))
    return out
