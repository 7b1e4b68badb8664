"""Shared helpers for reading small CSV inputs with clear errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from data_sources.errors import InputFileError


def read_small_csv(path: Path, required: list[str], **kwargs: object) -> pd.DataFrame:
    """Read a CSV as strings, checking it exists, is non-empty and has ``required`` columns.

    Strips a UTF-8 byte-order mark and surrounding whitespace from the header, because
    ONS and GLA files often carry both.
    """
    if not path.is_file():
        raise InputFileError(path, "file not found", hint="check --data-dir or $CRIME_TRUST_DATA")
    if path.stat().st_size == 0:
        raise InputFileError(path, "file is empty", hint="re-download it")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", **kwargs)  # type: ignore[call-overload]
    except UnicodeDecodeError as e:
        raise InputFileError(path, f"is not UTF-8 text ({e.reason} at byte {e.start})", hint="re-save it as UTF-8") from e
    except pd.errors.ParserError as e:
        raise InputFileError(path, f"is not a well-formed CSV ({e})", hint="check the delimiter and quoting") from e
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = ", ".join(map(repr, frame.columns[:8]))
        raise InputFileError(path, f"missing column(s) {missing!r}; found {found}", line=1,
                             hint="is this the right file, with the right delimiter?")
    return frame
