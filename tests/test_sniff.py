"""The file-signature sniffer: one row per kind of file, and its use by the small-CSV reader."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import pytest

from core.errors import InputFileError
from data_sources.read._csv import read_small_csv
from data_sources.read._sniff import EXCEL, HTML, sniff


def _zip(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n in names:
            zf.writestr(n, "x")
    return buf.getvalue()


CASES = [
    ("png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
    ("jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF", "a JPEG image"),
    ("gif87", b"GIF87a\x01\x00", "a GIF image"),
    ("gif89", b"GIF89a\x01\x00", "a GIF image"),
    ("pdf", b"%PDF-1.4\n%\xe2\xe3", "a PDF document"),
    ("gzip", gzip.compress(b"a,b\n1,2\n"), "a gzip-compressed file"),
    ("xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "an old-style Excel or Office file (.xls)"),
    ("xlsx", _zip(["[Content_Types].xml", "xl/workbook.xml"]), EXCEL),
    ("zip", _zip(["2024-01/2024-01-metropolitan-street.csv"]), "a ZIP archive"),
    ("empty_zip", b"PK\x05\x06" + b"\x00" * 18, "a ZIP archive"),
    ("utf16_le_bom", "\ufeffa,b\n".encode("utf-16-le"), "UTF-16 text"),
    ("utf16_be_bom", b"\xfe\xff\x00a\x00,", "UTF-16 text"),
    ("utf16_no_bom", "a,b\n1,2\n".encode("utf-16-le"), "UTF-16 text"),
    ("html_doctype", b"<!DOCTYPE html>\n<html><head><title>503</title>", HTML),
    ("html_lower_ws", b"\n\n  <html>\n<body>Bad gateway</body></html>", HTML),
    ("html_bom", b"\xef\xbb\xbf<html><body>x</body></html>", HTML),
    ("html_comment", b"<!-- cached page -->\n<html>", HTML),
    ("xml", b"<?xml version='1.0'?><Error><Code>AccessDenied</Code></Error>", "an XML document"),
    ("json", b'{"error": "not found"}', "a JSON document"),
    ("empty", b"", "an empty file"),
    ("csv", b"MajorText,MinorText,WardName,WardCode\n", None),
    ("csv_bom", b"\xef\xbb\xbfDate;Survey;Borough\n", None),
    ("csv_quoted", b'"Date","Borough"\n"31/12/2014","Barnet"\n', None),
    ("latin1_text", "Caf\u00e9,1\n".encode("latin-1"), None),
]


@pytest.mark.parametrize(("head", "expected"), [(h, e) for _, h, e in CASES], ids=[c[0] for c in CASES])
def test_sniff(head: bytes, expected: str | None) -> None:
    assert sniff(head) == expected


@pytest.mark.parametrize(("name", "data", "what"), [
    ("page.csv", b"<!DOCTYPE html><html><body>Service unavailable</body></html>", "is an HTML page"),
    ("chart.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a PNG image"),
    ("book.csv", _zip(["[Content_Types].xml", "xl/workbook.xml"]), "is an Excel workbook"),
    ("report.csv", b"%PDF-1.4\n", "is a PDF document"),
])
def test_read_small_csv_names_what_a_non_csv_file_is(tmp_path: Path, name: str, data: bytes, what: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputFileError, match=f"{name}: {what}.*not a CSV file — check that this is the right file"):
        read_small_csv(path, ["a"])


def test_read_small_csv_still_reads_a_gzipped_csv_named_as_one(tmp_path: Path) -> None:
    path = tmp_path / "small.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n"))
    assert read_small_csv(path, ["a"])["b"].tolist() == ["2"]
