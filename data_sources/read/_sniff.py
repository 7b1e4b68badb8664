"""Name what a file is from its first bytes, so a wrong file is refused for what it is.

A download that should be a CSV can arrive as an HTML error page served with status 200, a
workbook, an image or a PDF; a user can pick the wrong file. Saying "is an HTML page (an
error page, not data)" tells them what happened, where a parser's complaint about a
missing column would not. Only well-known signatures are recognised; anything else is
taken to be text and left to the reader.
"""

from __future__ import annotations

#: How many leading bytes :func:`sniff` looks at (enough for a zip's first member name).
HEAD_BYTES = 2048

EXCEL = "an Excel workbook (.xlsx)"
HTML = "an HTML page (an error page, not data)"

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style Excel or Office file (.xls)"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
)
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<!--", b"<title")


def sniff(head: bytes) -> str | None:
    """Return plain words for what ``head`` (a file's first bytes) is, or None for plain text.

    Parameters
    ----------
    head
        The first bytes of the file; :data:`HEAD_BYTES` are enough.

    Returns
    -------
    str or None
        E.g. ``"a PNG image"``, ``"an HTML page (an error page, not data)"``,
        ``"an Excel workbook (.xlsx)"``, ``"a ZIP archive"``, ``"UTF-16 text"``,
        ``"an empty file"``; None when nothing is recognised (most likely text).

    Examples
    --------
    >>> sniff(b"%PDF-1.7 ...")
    'a PDF document'
    >>> sniff(b"  <!DOCTYPE html><html><body>Service unavailable</body></html>")
    'an HTML page (an error page, not data)'
    >>> sniff(b"MajorText,MinorText,WardName,WardCode") is None
    True
    """
    if not head:
        return "an empty file"
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        window = head[:HEAD_BYTES]
        return EXCEL if (b"[Content_Types].xml" in window or b"xl/" in window) else "a ZIP archive"
    if b"\x00" in head[:64]:
        return "UTF-16 text" if head[1:2] == b"\x00" or head[:1] == b"\x00" else "a binary file"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith(_HTML_STARTS) or (text.startswith(b"<") and b"<html" in text[:HEAD_BYTES]):
        return HTML
    if text.startswith(b"<?xml"):
        return "an XML document"
    if text.startswith((b"{", b"[{")):
        return "a JSON document"
    return None


def sniff_file(path: str, n: int = HEAD_BYTES) -> str | None:
    """:func:`sniff` the first ``n`` bytes of the file at ``path``."""
    with open(path, "rb") as fh:
        return sniff(fh.read(n))
