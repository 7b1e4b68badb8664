"""A user's trust table arriving through the app: its size, what kind of file it is, its name, its checks.

Nothing is kept until the user confirms. :func:`check_upload` refuses an oversize file by
its length and a file that is not text by its first bytes (naming what it is: "a PNG
image, not a CSV"), then reads it with the project's own reader
(``data_sources.read.pas.read_trust_table``) from a private temporary folder that is removed at
once. :func:`save_upload` keeps a confirmed file under its own (sanitised) name in
``store/inputs/uploads``, where every build reads it and lists it in the manifest. One
upload is kept at a time: saving replaces the earlier one, so two versions of the same
table never both reach the build, and the page says which file a save replaces.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

import pandas as pd

from data_sources.read._dialect import Dialect, sniff_dialect
from data_sources.read._sniff import HEAD_BYTES, sniff
from core.errors import InputFileError
from data_sources.read.pas import TRUST_TABLE_COLUMNS, read_trust_table
from data_sources.store.versions import write_atomic_bytes

#: Users' own trust tables, confirmed in the app, are kept here (in the store) and read by every build.
UPLOADS = "inputs/uploads"

#: The one upload size limit, in megabytes of 1024 × 1024 bytes (as Streamlit's server counts
#: them). The app's file box advertises it and this module enforces it; ``server.maxUploadSize``
#: in ``.streamlit/config.toml`` must equal it (``tests/test_uploads.py`` compares the two).
MAX_UPLOAD_MB = 20
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
#: Kinds of file the sniffer names that are still text, left to the reader's own message.
_TEXT_KINDS = ("UTF-16 text", "an empty file")
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
_MAX_NAME = 120
DEFAULT_NAME = "trust_upload.csv"


@dataclass(frozen=True, eq=False)
class CheckedUpload:
    """A trust table that passed every check: its kept name, its rows and how it was written."""

    name: str
    frame: pd.DataFrame
    dialect: Dialect


def upload_name(raw: str) -> str:
    r"""Return the name an upload is shown and kept under: the user's, without folders or odd characters.

    Browsers send a bare file name, but nothing guarantees it: any folder part (``/`` or
    ``\``) is dropped, control and reserved characters become ``_``, leading dots and
    spaces go (no hidden files), it is shortened to 120 characters and ends in ``.csv``.

    Examples
    --------
    >>> upload_name("Trust Lambeth (Excel).CSV")
    'Trust Lambeth (Excel).csv'
    >>> upload_name("../../store/CURRENT"), upload_name("C:\\Users\\me\\wards.csv"), upload_name(".csv")
    ('CURRENT.csv', 'wards.csv', 'trust_upload.csv')
    """
    base = PureWindowsPath(PurePosixPath(raw).name).name
    stem = _UNSAFE.sub("_", base).strip()
    if stem.lower().endswith(".csv"):
        stem = stem[:-4]
    stem = stem.lstrip(". ")[: _MAX_NAME - 4].rstrip(". ")
    return f"{stem}.csv" if stem else DEFAULT_NAME


def _megabytes(n: int) -> str:
    return f"{n / 1024 / 1024:,.1f} MB"


def check_upload(name: str, content: bytes, known_areas: dict[str, str], scratch: Path) -> CheckedUpload:
    """Check an uploaded trust table without keeping it; return its rows, or raise naming the problem.

    Parameters
    ----------
    name
        The name to show and keep (:func:`upload_name` of the user's file name).
    content
        The file's bytes.
    known_areas
        Every valid area code → its level ('ward', 'borough', 'london').
    scratch
        A folder for the private temporary copy the reader needs (removed before returning).

    Raises
    ------
    InputFileError
        Too large, not a text file (saying what it is), or refused by the trust-table reader;
        the message names ``name``, never the temporary path.
    """
    if len(content) > MAX_UPLOAD_BYTES:
        raise InputFileError(name, f"is {_megabytes(len(content))}; uploads are limited to {MAX_UPLOAD_MB} MB",
                             hint="upload only the rows you need, or split the table into smaller files")
    what = sniff(content[:HEAD_BYTES])
    if what is not None and what not in _TEXT_KINDS:
        raise InputFileError(name, f"this is {what}, not a CSV",
                             hint="save your table as CSV (in Excel: File → Save As → CSV) and upload that file")
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=scratch) as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        try:
            frame = read_trust_table(path, known_areas)
        except InputFileError as e:
            raise InputFileError(name, e.problem.replace(str(path), name), line=e.line, hint=e.hint) from e
    text = content[: HEAD_BYTES * 4].decode("utf-8", errors="replace")
    return CheckedUpload(name, frame, sniff_dialect(text, TRUST_TABLE_COLUMNS))


def saved_uploads(store_dir: Path) -> list[str]:
    """Names of the uploads the next build will read."""
    return sorted(p.name for p in (store_dir / UPLOADS).glob("*.csv"))


def save_upload(store_dir: Path, name: str, content: bytes) -> list[str]:
    """Keep a checked upload as ``store/inputs/uploads/<name>`` and remove any earlier one; return those removed.

    The new file is written atomically before the old ones go, so the folder never lacks
    an upload the user confirmed.
    """
    folder = store_dir / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic_bytes(folder / name, content)
    earlier = [n for n in saved_uploads(store_dir) if n != name]
    for old in earlier:
        (folder / old).unlink(missing_ok=True)
    return earlier
