"""Shared helpers for reading small CSV inputs with clear errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO

import pandas as pd

from core.errors import InputFileError
from data_sources.read._limits import check_size
from data_sources.read._sniff import HEAD_BYTES, sniff

_DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "pipes"}


def _delimiter_hint(header: list[str], sep: str) -> str:
    """Say which delimiter a one-column header suggests, when it is not the expected one."""
    if len(header) == 1:
        for other, name in _DELIMITER_NAMES.items():
            if other != sep and other in header[0]:
                return (f"the file looks separated by {name}, but this source expects "
                        f"{_DELIMITER_NAMES.get(sep, repr(sep))}; re-export it with the right delimiter")
    return "is this the right file, with the right delimiter?"


def read_small_csv(path: Path, required: list[str], **kwargs: object) -> pd.DataFrame:
    """Read a CSV as strings, checking it exists, is non-empty and has ``required`` columns.

    Strips a UTF-8 byte-order mark and surrounding whitespace from the header, because
    ONS and GLA files often carry both. A file that is not text (an HTML error page, a
    workbook, an image, a PDF) is refused naming what it is (``data_sources.read._sniff``). Files over the input
    size limit (``$CRIME_TRUST_MAX_INPUT_MB``) are refused before they are read.
    """
    if not path.is_file():
        raise InputFileError(path, "file not found", hint="check --data-dir or $CRIME_TRUST_DATA")
    if path.stat().st_size == 0:
        raise InputFileError(path, "file is empty (0 bytes)", hint="re-download or re-export it")
    check_size(path)
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
    what = sniff(head)
    if what is not None and _compressed_as_named(path, what):
        pass
    elif what == "UTF-16 text" or b"\x00" in head[:4]:
        raise InputFileError(path, "is UTF-16 text, not UTF-8", line=1,
                             hint="re-save it as 'CSV UTF-8' (in Excel: Save As → CSV UTF-8)")
    elif what is not None:
        raise InputFileError(path, f"is {what}, not a CSV file",
                             hint="check that this is the right file, or download it again")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig", **kwargs)  # type: ignore[call-overload]
    except UnicodeDecodeError as e:
        with open(path, "rb") as fh:
            line = first_non_utf8_line(fh)
        raise InputFileError(path, f"is not UTF-8 text ({e.reason})", line=line,
                             hint="re-save it as UTF-8 (it may be Latin-1 or Windows-1252)") from e
    except pd.errors.EmptyDataError as e:
        raise InputFileError(path, "holds no header and no rows", hint="re-download or re-export it") from e
    except pd.errors.ParserError as e:
        raise InputFileError(path, f"is not a well-formed CSV ({str(e).strip()})", line=_parser_error_line(e),
                             hint="check the delimiter and quoting") from e
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = ", ".join(map(repr, frame.columns[:8]))
        sep = str(kwargs.get("sep", ","))
        raise InputFileError(path, f"missing column(s) {missing!r}; found {found}", line=1,
                             hint=_delimiter_hint(list(frame.columns), sep))
    return frame


def _compressed_as_named(path: Path, what: str) -> bool:
    """A gzip or zip file named as one is fine: pandas decompresses it by its extension."""
    return (what.startswith("a gzip") and path.suffix == ".gz") or (what == "a ZIP archive" and path.suffix == ".zip")


def first_non_utf8_line(stream: IO[bytes]) -> int | None:
    r"""1-based number of the first line of a binary stream that is not valid UTF-8, or None.

    Parsers report only a byte or chunk offset; this finds the line to name in the message.
    Shared by this module and the police.uk street reader.

    Examples
    --------
    >>> import io
    >>> first_non_utf8_line(io.BytesIO(b"a,b\nCaf\xe9,1\n"))
    2
    >>> first_non_utf8_line(io.BytesIO("a,b\nCaf\u00e9,1\n".encode()))
    """
    for i, line in enumerate(stream, start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return i
    return None


def _parser_error_line(e: Exception) -> int | None:
    m = re.search(r"line (\d+)", str(e))
    return int(m.group(1)) if m else None
