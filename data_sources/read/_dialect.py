"""Which delimiter and decimal mark a small CSV uses, worked out from its first lines.

Excel saves "CSV" with the list separator of the computer's region: commas in the UK, but
semicolons wherever the comma is the decimal mark (most of Europe), and then it writes
decimals as ``0,56``. MOPAC's own PAS files come like that (``Date;Survey;Borough;...`` and
``0,67``), so a trust table re-saved on such a machine must be read, not refused. The
delimiter is the one that splits the header into the columns a reader needs (else the one
giving the most columns, the same number on every line); the decimal mark is a comma when
number cells are written with one and none with a point (``1.234`` beside decimal commas is
read as a thousand, so it does not count as a decimal point).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from data_sources.read._sniff import HEAD_BYTES

#: Delimiters tried, in order of preference on a tie.
DELIMITERS = (",", ";", "\t")
_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", ".": "points"}
_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+%?$")
_POINT_DECIMAL = re.compile(r"^[+-]?\d*\.\d+%?$")
#: "1.234" may be a decimal or, beside decimal commas, a thousand: it decides nothing.
_POINT_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+$")
#: How many lines are looked at: enough for a header and a sample of rows.
SAMPLE_LINES = 50


@dataclass(frozen=True)
class Dialect:
    """A CSV's delimiter (``sep``) and decimal mark (``decimal``)."""

    sep: str = ","
    decimal: str = "."

    def describe(self) -> str:
        """Say it in words, e.g. 'separated by semicolons, with decimal commas'."""
        mark = "decimal commas" if self.decimal == "," else "decimal points"
        return f"separated by {_NAMES[self.sep]}, with {mark}"


def _rows(lines: list[str], sep: str) -> list[list[str]]:
    return list(csv.reader(lines, delimiter=sep))


def sniff_dialect(text: str, required: Sequence[str] = ()) -> Dialect:
    r"""Return the delimiter and decimal mark of CSV ``text`` (its first lines are enough).

    Parameters
    ----------
    text
        The start of the file as text (a byte-order mark and CRLF line ends are fine); a
        last line cut short is ignored.
    required
        Columns the reader needs: a delimiter that splits the header into all of them wins.

    Returns
    -------
    Dialect
        Comma and point when nothing else fits (the reader then says what is missing).

    Examples
    --------
    >>> sniff_dialect("area_code;period_end;proportion\r\nE09000022;2023-12-31;0,56\r\n")
    Dialect(sep=';', decimal=',')
    >>> sniff_dialect("area_code,period_end,proportion\nE09000022,2023-12-31,0.56\n")
    Dialect(sep=',', decimal='.')
    >>> sniff_dialect('a,b\nE09000022,"0,56"\n')
    Dialect(sep=',', decimal=',')
    >>> sniff_dialect("a;b;c\n0,56;1.234;x\n")  # 1.234: a thousand beside decimal commas
    Dialect(sep=';', decimal=',')
    >>> sniff_dialect("a\tb\tc\n1\t2,5\t3\n").describe()
    'separated by tabs, with decimal commas'
    """
    lines = text.removeprefix("\ufeff").splitlines()
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # cut off mid-line by the sample
    lines = [line for line in lines if line.strip()][:SAMPLE_LINES]
    if not lines:
        return Dialect()
    sep = _delimiter(lines, required)
    cells = [c.strip() for row in _rows(lines[1:], sep) for c in row]
    comma = sum(bool(_COMMA_DECIMAL.match(c)) for c in cells)
    point = sum(bool(_POINT_DECIMAL.match(c)) and not _POINT_THOUSANDS.match(c) for c in cells)
    return Dialect(sep, "," if comma and not point else ".")


def _delimiter(lines: list[str], required: Sequence[str]) -> str:
    best, best_score = ",", (0, 0)
    for sep in DELIMITERS:
        rows = _rows(lines, sep)
        header = {c.strip() for c in rows[0]}
        if required and set(required) <= header:
            return sep
        width = len(rows[0])
        score = (sum(len(r) == width for r in rows), width) if width > 1 else (0, 0)
        if score > best_score:
            best, best_score = sep, score
    return best


def sniff_dialect_file(path: Path, required: Sequence[str] = (), n: int = HEAD_BYTES * 4) -> Dialect:
    """:func:`sniff_dialect` on the first ``n`` bytes of a file (undecodable bytes are replaced)."""
    with open(path, "rb") as fh:
        head = fh.read(n)
    return sniff_dialect(head.decode("utf-8", errors="replace"), required)
