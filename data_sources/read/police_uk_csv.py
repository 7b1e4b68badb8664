"""police.uk street-level crime CSVs: find them, read them fast, and refuse bad ones clearly.

Accepts ``YYYY-MM-<force>-street.csv`` files (plain or ``.gz``), folders of them (with or
without ``YYYY-MM/`` subfolders), and data.police.uk archive zips, which are read member
by member without extracting. Every crime type is kept: the shared Met files hold
burglary only, but nothing here assumes it.

Rows are never silently dropped here. Repeated Crime IDs are kept because police.uk
publishes them (usually with different outcomes) and keeping them matches the Met's own
totals best; they are counted, and a row copied implausibly often is reported.
"""

from __future__ import annotations

import csv
import gzip
import io
import mmap
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from core.errors import InputFileError
from data_sources.read._csv import first_non_utf8_line
from data_sources.read._limits import check_size, read_bounded
from data_sources.schemas import STREET_CRIMES

STREET_NAME = re.compile(r"(?:^|/)(\d{4}-\d{2})-([a-z0-9-]+?)-street\.csv(\.gz)?$")

#: Published header → tidy column name.
COLUMNS = {
    "Crime ID": "crime_id",
    "Month": "month",
    "Reported by": "reported_by",
    "Falls within": "falls_within",
    "Longitude": "longitude",
    "Latitude": "latitude",
    "Location": "location",
    "LSOA code": "lsoa_code",
    "LSOA name": "lsoa_name",
    "Crime type": "crime_type",
    "Last outcome category": "last_outcome",
}
#: Columns without which a row cannot be counted or placed.
REQUIRED = ["Month", "Crime type", "Longitude", "Latitude", "LSOA code"]
#: A row (with a Crime ID) seen more often than this within one file is reported; the real
#: Met files repeat a row up to 8 times, so only a gross copy (as seen in other forces) warns.
IMPLAUSIBLE_REPEATS = 20


@dataclass(frozen=True)
class StreetInput:
    """One street file: where it is, how to open it, its month and force from its name."""

    name: str
    month: str
    force: str
    open: Callable[[], IO[bytes]] = field(repr=False, compare=False)
    size: int = 0
    mtime_ns: int = 0
    archive: str = ""
    crc32: int | None = None
    #: Set for a plain (uncompressed) file on disk, which is then mapped rather than copied.
    plain_path: str = ""


@dataclass(frozen=True)
class StreetReport:
    """What reading one file found: counts for the manifest and warnings for the user."""

    name: str
    month: str
    force: str
    rows: int
    no_location: int
    repeated_ids: int
    identical_rows: int
    blank_ids: int
    crime_types: dict[str, int]
    warnings: tuple[str, ...] = ()


def discover_street_files(path: Path) -> list[StreetInput]:
    """List the street files in a file, a folder (searched recursively) or an archive zip.

    Files whose names do not follow ``YYYY-MM-<force>-street.csv[.gz]`` are ignored, so
    outcomes and stop-and-search files in the same archive are skipped.
    """
    if not path.exists():
        raise InputFileError(path, "does not exist", hint="check the path or --data-dir")
    if path.is_dir():
        found: list[StreetInput] = []
        for p in sorted(path.rglob("*")):
            if p.is_file() and (p.suffix == ".zip" or STREET_NAME.search(p.name)):
                found.extend(discover_street_files(p))
        return found
    if path.suffix == ".zip":
        return _zip_members(path)
    m = STREET_NAME.search(path.name)
    if not m:
        raise InputFileError(path, "is not named like YYYY-MM-<force>-street.csv[.gz]",
                             hint="keep police.uk's file names; the month and force come from them")
    check_size(path)
    st = path.stat()
    def opener() -> IO[bytes]:
        return cast(IO[bytes], gzip.open(path, "rb")) if m.group(3) else open(path, "rb")

    return [StreetInput(str(path), m.group(1), m.group(2), _checked(opener, str(path)), st.st_size, st.st_mtime_ns,
                        plain_path="" if m.group(3) else str(path))]


def _zip_members(path: Path) -> list[StreetInput]:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise InputFileError(path, f"is not a readable zip archive ({e})", hint="re-download the archive") from e
    out = []
    with zf:
        for info in zf.infolist():
            m = STREET_NAME.search(info.filename)
            if m and not info.is_dir():
                check_size(f"{path}!{info.filename}", size=info.file_size)
                def opener(member: str = info.filename) -> IO[bytes]:
                    return zipfile.ZipFile(path).open(member)
                name = f"{path}!{info.filename}"
                out.append(StreetInput(name, m.group(1), m.group(2), _checked(opener, name),
                                       info.file_size, path.stat().st_mtime_ns, archive=str(path), crc32=info.CRC))
    return out


_DECOMPRESS_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error, zipfile.BadZipFile)


def _corrupt(name: str, e: BaseException) -> InputFileError:
    return InputFileError(name, f"cannot be decompressed: truncated or corrupt ({e})", hint="download the file again")


def _unopenable(name: str, e: BaseException) -> InputFileError:
    return InputFileError(name, f"cannot be opened ({getattr(e, 'strerror', None) or e})",
                          hint="check that the file exists and is readable")


class _CheckedStream(io.RawIOBase):
    """A read-only stream that reports a truncated or corrupt file as an InputFileError naming it.

    Every consumer of ``StreetInput.open`` (the reader, and the build hashing the content
    for its cache) then gets the same clear message instead of a bare ``EOFError``.
    """

    def __init__(self, raw: IO[bytes], name: str) -> None:
        super().__init__()
        self._raw, self._name = raw, name

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        try:
            return self._raw.read(-1 if size is None else size)
        except _DECOMPRESS_ERRORS as e:
            raise _corrupt(self._name, e) from e

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()


def _checked(opener: Callable[[], IO[bytes]], name: str) -> Callable[[], IO[bytes]]:
    def open_checked() -> IO[bytes]:
        try:
            raw = opener()
        except _DECOMPRESS_ERRORS as e:
            raise _corrupt(name, e) from e
        except OSError as e:
            raise _unopenable(name, e) from e
        return cast(IO[bytes], _CheckedStream(raw, name))
    return open_checked


def _file_bytes(src: StreetInput) -> bytes | mmap.mmap:
    """The file's bytes: a plain file is memory-mapped (no copy of a 250 MB file), others decompressed.

    The mapping is not closed explicitly: it is unmapped when the last reference goes, which
    may be a buffer pyarrow still holds after parsing.
    """
    if src.plain_path and src.size:
        try:
            with open(src.plain_path, "rb") as fh:
                mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as e:  # ValueError: it was emptied since it was listed
            raise _unopenable(src.name, e) from e
        check_size(src.name, size=len(mapped))
        return mapped
    try:
        with src.open() as fh:
            return read_bounded(fh, src.name)
    except (*_DECOMPRESS_ERRORS, OSError) as e:
        raise _corrupt(src.name, e) from e


def _first_bad_line(mask: np.ndarray) -> int:
    """1-based file line of the first True in a per-row mask (line 1 is the header)."""
    return int(np.argmax(mask)) + 2


def _ragged_line(data: bytes | mmap.mmap, n_fields: int) -> int | None:
    """1-based line on which the first record with the wrong number of fields ends (error path only)."""
    reader = csv.reader(io.StringIO(bytes(data).decode("utf-8-sig", errors="replace"), newline=""))
    for record in reader:
        if record and len(record) != n_fields:
            return reader.line_num
    return None


def _parse_table(src: StreetInput, data: bytes | mmap.mmap) -> pa.Table:
    if not data[:65536].strip() and not bytes(data).strip():
        what = "file is empty (0 bytes)" if not data else "file holds only blank space"
        raise InputFileError(src.name, what, hint="re-download it; a street file has at least a header")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:64]:
        raise InputFileError(src.name, "is UTF-16 text, not UTF-8", line=1,
                             hint="re-save it as 'CSV UTF-8'; police.uk publishes UTF-8")
    end = data.find(b"\n")
    header = data[: end if end >= 0 else len(data)].decode("utf-8-sig", errors="replace").strip("\r")
    if "," not in header and (";" in header or "\t" in header):
        sep = ";" if ";" in header else "tab"
        raise InputFileError(src.name, f"is separated by {sep!r}, not commas", line=1,
                             hint="police.uk files are comma-separated; re-export with commas")
    names = [h.strip().strip('"') for h in header.split(",")]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise InputFileError(src.name, f"missing column(s) {missing!r}; found {names[:12]!r}", line=1,
                             hint="is this a police.uk street-level file?")
    try:
        return pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(use_threads=True, block_size=1 << 24),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, null_values=[""], strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                include_columns=[n for n in names if n in COLUMNS],
            ),
        )
    except pa.ArrowInvalid as e:
        text = str(e)
        if "UTF8" in text or "utf8" in text.lower():
            raise InputFileError(src.name, "is not UTF-8 text", line=first_non_utf8_line(io.BytesIO(bytes(data))) or 1,
                                 hint="re-save the file as UTF-8") from e
        fields = re.search(r"Expected (\d+) columns, got (\d+)", text)
        if fields:
            line = _ragged_line(data, int(fields.group(1)))
            raise InputFileError(src.name, f"a row has {fields.group(2)} fields where the header has {fields.group(1)}",
                                 line=line, hint="check for a truncated file, an unquoted comma or stray quotes") from e
        row = re.search(r"[Rr]ow #?(\d+)", text)
        raise InputFileError(src.name, f"is not a well-formed CSV ({text.splitlines()[0][:120]})",
                             line=int(row.group(1)) if row else None,
                             hint="check for a truncated file or stray quotes") from e


def _coordinates(src: StreetInput, table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Parse longitude/latitude, failing on the first unparseable, partial, out-of-range or swapped pair."""
    raw = {}
    for col in ("Longitude", "Latitude"):
        text = pc.utf8_trim_whitespace(table[col])  # empty cells arrive as nulls
        blank = pc.fill_null(pc.equal(text, ""), True).to_numpy(zero_copy_only=False)
        try:
            values = pc.cast(pc.if_else(pc.equal(text, ""), None, text), pa.float64())
        except pa.ArrowInvalid:
            as_float = pd.to_numeric(pd.Series(text.to_numpy(zero_copy_only=False)), errors="coerce")
            bad = as_float.isna().to_numpy() & ~blank
            line = _first_bad_line(bad)
            value = text[line - 2].as_py()
            hint = "use a dot as the decimal mark" if "," in value else "fix or remove that row"
            raise InputFileError(src.name, f"{col} {value!r} is not a number", line=line, hint=hint) from None
        raw[col] = values.to_numpy(zero_copy_only=False).astype("float64")
    lon, lat = raw["Longitude"], raw["Latitude"]
    partial = np.isnan(lon) != np.isnan(lat)
    if partial.any():
        raise InputFileError(src.name, "has a longitude without a latitude (or the reverse)",
                             line=_first_bad_line(partial), hint="give both coordinates or neither")
    swapped = (np.abs(lat) <= 10) & (np.abs(lon) > 45)
    if swapped.any():
        line = _first_bad_line(swapped)
        raise InputFileError(src.name, f"Longitude {lon[line - 2]} and Latitude {lat[line - 2]} look swapped",
                             line=line, hint="Longitude is east-west (about -0.1 in London), Latitude about 51.5")
    out = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if out.any():
        line = _first_bad_line(out)
        raise InputFileError(src.name, f"coordinates ({lon[line - 2]}, {lat[line - 2]}) are out of range",
                             line=line, hint="longitude must lie in -180..180 and latitude in -90..90")
    return lon, lat


def _strings(table: pa.Table, col: str, n: int) -> pd.Series:
    """A text column as pandas' Arrow-backed strings (no copy); the parser made blanks <NA>."""
    if col not in table.column_names:
        return pd.Series(pd.NA, index=range(n), dtype="string")
    return pd.Series(pd.arrays.ArrowStringArray(table[col]))


def read_street_file(src: StreetInput) -> tuple[pd.DataFrame, StreetReport]:
    """Read and validate one street file into the STREET_CRIMES schema.

    Raises
    ------
    InputFileError
        For an unreadable, empty or malformed file, naming the file, line and problem.
    """
    table = _parse_table(src, _file_bytes(src))
    n = table.num_rows
    lon, lat = _coordinates(src, table)
    frame = pd.DataFrame({tidy: _strings(table, col, n) for col, tidy in COLUMNS.items()
                          if tidy not in ("longitude", "latitude")})
    frame["longitude"], frame["latitude"] = lon, lat

    wrong_month = (frame["month"] != src.month).fillna(True).to_numpy()
    if wrong_month.any():
        line = _first_bad_line(wrong_month)
        found = frame["month"].iloc[line - 2]
        raise InputFileError(src.name, f"Month {found!r} disagrees with the file name's {src.month!r}",
                             line=line, hint="the file may be misnamed or two months were concatenated")
    no_type = frame["crime_type"].isna().to_numpy()
    if no_type.any():
        raise InputFileError(src.name, "a row has no Crime type", line=_first_bad_line(no_type),
                             hint="fix or remove that row")

    frame["api_id"] = pd.arrays.IntegerArray(np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    frame["location_type"] = pd.Series(pd.NA, index=frame.index, dtype="string")
    frame["dataset"] = "street_csv"
    frame["source_file"] = src.name
    report = _report(src, frame)
    return STREET_CRIMES.conform(frame), report


def _maybe_repeated(ids: pd.Series) -> np.ndarray:
    """Rows whose Crime ID may occur more than once: a superset, found fast.

    police.uk IDs are 64 hex characters; their first 8 bytes make an integer key that
    hashes far faster than the strings. Rows sharing a key are candidates, checked exactly
    by the caller, so the answer stays exact whatever the IDs look like.
    """
    present = ids.notna().to_numpy()
    values = pa.chunked_array(ids.array._pa_array).combine_chunks()  # type: ignore[attr-defined]
    values = pc.fill_null(values, "0" * 64)  # blank IDs (anti-social behaviour) are never repeats
    if len(values) == 0 or (pc.binary_length(values).to_numpy(zero_copy_only=False) != 64).any():
        return present
    first = np.frombuffer(values.buffers()[1], dtype=np.int32, count=1, offset=values.offset * 4)[0]
    chars = np.frombuffer(values.buffers()[2], dtype=np.uint8, count=64 * len(values), offset=int(first))
    key = np.ascontiguousarray(chars.reshape(-1, 64)[:, :8]).view(np.uint64).ravel()  # equal lengths: fixed records
    return pd.Series(key).duplicated(keep=False).to_numpy() & present


def _report(src: StreetInput, frame: pd.DataFrame) -> StreetReport:
    ids = frame["crime_id"]
    candidates = frame.loc[_maybe_repeated(ids)]
    cand_ids = candidates["crime_id"]
    repeated = candidates.loc[(cand_ids.duplicated(keep=False) & cand_ids.notna()).to_numpy()]
    identical = int(repeated.duplicated().sum())
    copies = repeated.value_counts(dropna=False) if identical > IMPLAUSIBLE_REPEATS else pd.Series(dtype="int64")
    warnings = []
    worst = copies[copies > IMPLAUSIBLE_REPEATS]
    if len(worst):
        cid = worst.index[0][list(frame.columns).index("crime_id")]
        warnings.append(f"{src.name}: {len(worst)} row(s) appear more than {IMPLAUSIBLE_REPEATS} times "
                        f"(e.g. Crime ID {str(cid)[:12]}… × {int(worst.iloc[0])}); kept, but check the file")
    blank = int(frame["crime_id"].isna().sum())
    return StreetReport(
        name=src.name, month=src.month, force=src.force, rows=len(frame),
        no_location=int(frame["longitude"].isna().sum()),
        repeated_ids=int(repeated["crime_id"].duplicated().sum()),
        identical_rows=identical, blank_ids=blank,
        crime_types={str(k): int(v) for k, v in frame["crime_type"].value_counts().items()},
        warnings=tuple(warnings),
    )
