"""A user's trust table through the app's upload path (data_sources.store.uploads), without Streamlit."""

from __future__ import annotations

import io
import tomllib
import zipfile
from pathlib import Path

import pytest

from core.errors import InputFileError
from data_sources.store.uploads import (
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_MB,
    check_upload,
    save_upload,
    saved_uploads,
    upload_name,
)
from tests.corpus import EUROPEAN_EXCEL, KNOWN_AREAS, trust_text

ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)


def _xlsx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "x")
        zf.writestr("xl/workbook.xml", "x")
    return buf.getvalue()


def test_one_size_limit_equal_to_streamlits():
    """The limit the code enforces and names is the one Streamlit's upload box advertises and its server takes."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == MAX_UPLOAD_MB
    assert MAX_UPLOAD_BYTES == MAX_UPLOAD_MB * 1024 * 1024  # Streamlit's server counts MB of 1024 × 1024 bytes


@pytest.mark.parametrize(("raw", "kept"), [
    ("trust.csv", "trust.csv"),
    ("Trust Lambeth – wards (Excel).CSV", "Trust Lambeth – wards (Excel).csv"),   # the user's own name, unicode too
    ("../../store/CURRENT", "CURRENT.csv"),                                      # no folders, always .csv
    ("C:\\fakepath\\wards.csv", "wards.csv"),                                    # a Windows path
    (".hidden.csv", "hidden.csv"),                                               # no hidden files
    ('a<b>:"c"|?*.csv', "a_b___c____.csv"),                                      # reserved characters
    ("tab\there.csv", "tab_here.csv"),                                           # control characters
    ("", "trust_upload.csv"),
    ("x" * 300 + ".csv", "x" * 116 + ".csv"),                                    # 120 characters at most
])
def test_upload_name(raw, kept):
    assert upload_name(raw) == kept


def test_a_european_excel_file_is_accepted(tmp_path):
    checked = check_upload("ward trust (Excel).csv", EUROPEAN_EXCEL.encode(), KNOWN_AREAS, tmp_path)
    assert checked.name == "ward trust (Excel).csv"
    assert checked.frame["proportion"].tolist() == [0.71, 0.74, 0.73]
    assert checked.frame["sample_size"].tolist()[:2] == [120, 1450]
    assert set(checked.frame["source_file"]) == {"ward trust (Excel).csv"}   # the preview names the user's file
    assert checked.dialect.describe() == "separated by semicolons, with decimal commas"
    assert list(tmp_path.iterdir()) == []                                  # the private copy is gone


@pytest.mark.parametrize(("content", "message"), [
    (PNG, "chart.csv: this is a PNG image, not a CSV — save your table as CSV"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(50), "chart.csv: this is a JPEG image, not a CSV"),
    (b"%PDF-1.7\n" + bytes(50), "chart.csv: this is a PDF document, not a CSV"),
    (_xlsx(), "chart.csv: this is an Excel workbook (.xlsx), not a CSV"),
    (b"<!DOCTYPE html><html><body>Sign in</body></html>", "chart.csv: this is an HTML page"),
    (b"a,b\n" + b"1,2\n" * (MAX_UPLOAD_BYTES // 4),
     f"chart.csv: is 20.0 MB; uploads are limited to {MAX_UPLOAD_MB} MB"),
    (b"area_code,period_end\nE09000033,2024-03-31\n", "chart.csv, line 1: missing column(s)"),
    (trust_text(line=2, proportion="71").encode(), "chart.csv, line 2: Proportion 71.0 is outside 0..1"),
    ("Caf\u00e9,1\n".encode("cp1252"), "chart.csv, line 1: is not UTF-8 text"),
])
def test_a_bad_file_is_refused_naming_the_users_file_and_what_it_is(tmp_path, content, message):
    with pytest.raises(InputFileError) as e:
        check_upload("chart.csv", content, KNOWN_AREAS, tmp_path / "scratch")
    assert str(e.value).startswith(message), str(e.value)
    assert "scratch" not in str(e.value) and "tmp" not in str(e.value)   # never the temporary path
    assert list((tmp_path / "scratch").glob("**/*")) == []


def test_the_size_check_is_the_limit_itself(tmp_path):
    """One byte over is refused by size; exactly the limit is read (and refused for its content, not its size)."""
    at_limit = b"x" * MAX_UPLOAD_BYTES
    with pytest.raises(InputFileError, match="missing column"):
        check_upload("big.csv", at_limit, KNOWN_AREAS, tmp_path)
    with pytest.raises(InputFileError, match=f"limited to {MAX_UPLOAD_MB} MB"):
        check_upload("big.csv", at_limit + b"x", KNOWN_AREAS, tmp_path)


def test_saving_keeps_the_users_name_and_replaces_the_earlier_upload(tmp_path):
    store = tmp_path / "store"
    assert saved_uploads(store) == []
    assert save_upload(store, "first.csv", b"one") == []
    assert save_upload(store, "first.csv", b"two") == []             # the same name: overwritten in place
    assert save_upload(store, "Lambeth (Excel).csv", b"three") == ["first.csv"]
    assert saved_uploads(store) == ["Lambeth (Excel).csv"]
    assert (store / "inputs" / "uploads" / "Lambeth (Excel).csv").read_bytes() == b"three"
