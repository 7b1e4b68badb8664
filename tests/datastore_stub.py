"""A local stand-in for the London Datastore, so tests and the benchmark never touch the internet.

It listens on 127.0.0.1 and serves ``/api/dataset/<slug>`` in the Datastore's shape (an
object whose ``resources`` maps resource id → ``{title, url, order, format, ...}``) and the
files the resources point to, with an ETag and Last-Modified per file; it answers 304 to
``If-None-Match``/``If-Modified-Since`` for an unchanged file and 206 to a byte range. It
can inject faults: an HTML error page served with 200, a truncated file (short body with a
matching length, or a connection cut before the declared length), 503s, a dropped
connection and a slow answer. Every request is logged.

Builders make the two files from the real shared data: a Met ward release shifted
forward (:func:`shifted_met_release`) and the PAS workbook in MOPAC's layout
(:func:`pas_workbook`).
"""

from __future__ import annotations

import csv
import datetime
import functools
import hashlib
import io
import json
import time
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.local_server import LocalServer

MET_FILE = "crime/mps_ward_recorded_crime/MPS Ward Level Crime (most recent 24 months).csv"
MET_TITLE = "MPS Ward Level Crime (most recent 24 months).csv"
MET_SLUG = "recorded_crime_summary"
PAS_SLUG = "mopac-surveys"
LAST_MODIFIED = formatdate(1_780_000_000, usegmt=True)


@dataclass
class Fault:
    """One injected misbehaviour for requests whose path contains ``path``.

    kind: "html200" (an HTML error page with status 200), "truncate" (the first
    ``fraction`` of the body, with a matching Content-Length), "truncate_line" (the same,
    cut at the line break before ``fraction``, so the file still ends with one), "cut" (the full length
    declared, the connection closed after ``fraction`` of it), "503", "404", "drop"
    (close without answering) or "slow" (wait ``delay`` s first). ``times`` None: forever.
    """

    kind: str
    path: str = ""
    times: int | None = 1
    fraction: float = 0.5
    delay: float = 0.0


@dataclass
class Logged:
    t: float
    path: str
    status: int = 0
    bytes: int = 0


class StubDatastore(LocalServer):
    """The stand-in server; a context manager.

    Parameters
    ----------
    datasets
        slug → ``{"title": ..., "resources": {id: {"title", "url", "order", "format"}}}``;
        ``url`` values are paths on this server (e.g. ``/download/<slug>/<id>/<name>``).
    files
        URL path (unquoted) → bytes.
    """

    def __init__(self, datasets: dict[str, dict[str, Any]] | None = None,
                 files: dict[str, bytes] | None = None) -> None:
        self.datasets = datasets or {}
        self.files = files or {}
        self.faults: list[Fault] = []
        self.log: list[Logged] = []
        super().__init__()

    def add_fault(self, kind: str, **kw: Any) -> None:
        with self._lock:
            self.faults.append(Fault(kind, **kw))

    def publish(self, slug: str, rid: str, title: str, data: bytes, *, order: int = 0, fmt: str = "") -> str:
        """Add (or replace) a resource and its file; return the file's URL path."""
        path = f"/download/{slug}/{rid}/{title}"
        self.files[path] = data
        ds = self.datasets.setdefault(slug, {"title": slug, "resources": {}})
        ds["resources"][rid] = {"title": title, "url": path.replace(" ", "%20"), "order": order,
                                "format": fmt or title.rsplit(".", 1)[-1], "check_hash": hashlib.md5(data).hexdigest()}
        return path

    def withdraw(self, slug: str, rid: str) -> None:
        ds = self.datasets[slug]["resources"].pop(rid)
        self.files.pop(unquote(ds["url"]), None)

    def downloads(self) -> list[Logged]:
        """File requests answered with a body (200 or 206)."""
        with self._lock:
            return [r for r in self.log if r.path.startswith("/download/") and r.status in (200, 206)]

    # -- serving ------------------------------------------------------------------------------

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.path in path and (f.times is None or f.times > 0):
                    if f.times is not None:
                        f.times -= 1
                    return f
        return None

    def handle(self, h: BaseHTTPRequestHandler, method: str = "GET") -> None:
        path = unquote(urlsplit(h.path).path)
        entry = Logged(time.monotonic(), path)
        with self._lock:
            self.log.append(entry)
        fault = self._take_fault(path)
        if fault is not None:
            if fault.kind == "drop":
                h.close_connection = True
                h.connection.close()
                return
            if fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault.kind == "html200":
                return self._send(h, entry, 200, b"<!DOCTYPE html><html><head><title>Maintenance</title></head>"
                                  b"<body>The London Datastore is down for maintenance.</body></html>",
                                  {"Content-Type": "text/html"})
            elif fault.kind in ("503", "404"):
                return self._send(h, entry, int(fault.kind), b"<html>error</html>", {"Content-Type": "text/html"})
        if path.startswith("/api/dataset/"):
            slug = path.removeprefix("/api/dataset/").strip("/")
            if slug not in self.datasets:
                return self._send(h, entry, 404, b'{"error": "not found"}', {"Content-Type": "application/json"})
            body = json.dumps({"slug": slug, **self.datasets[slug]}).encode()
            return self._send(h, entry, 200, body, {"Content-Type": "application/json"})
        if path not in self.files:
            return self._send(h, entry, 404, b"<html>Not found</html>", {"Content-Type": "text/html"})
        data = self.files[path]
        etag = f'"{hashlib.sha1(data).hexdigest()}"'
        headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED, "Content-Type": "application/octet-stream"}
        if h.headers.get("If-None-Match") == etag or (
                h.headers.get("If-None-Match") is None and h.headers.get("If-Modified-Since") == LAST_MODIFIED):
            return self._send(h, entry, 304, b"", headers)
        if fault is not None and fault.kind == "truncate":
            return self._send(h, entry, 200, data[: int(len(data) * fault.fraction)], headers)
        if fault is not None and fault.kind == "truncate_line":
            return self._send(h, entry, 200, data[: data.rindex(b"\n", 0, int(len(data) * fault.fraction)) + 1],
                              headers)
        if fault is not None and fault.kind == "cut":
            return self._send(h, entry, 200, data[: int(len(data) * fault.fraction)], headers, length=len(data),
                              close=True)
        rng = h.headers.get("Range", "")
        if rng.startswith("bytes="):
            start, _, end = rng[6:].partition("-")
            part = data[int(start): int(end) + 1 if end else None]
            return self._send(h, entry, 206, part, {**headers, "Content-Range": f"bytes {start}-{end}/{len(data)}"})
        self._send(h, entry, 200, data, headers)

    def _send(self, h: BaseHTTPRequestHandler, entry: Logged, status: int, body: bytes, headers: dict[str, str],
              *, length: int | None = None, close: bool = False) -> None:
        entry.status, entry.bytes = status, len(body)
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        if status != 304:
            h.send_header("Content-Length", str(length if length is not None else len(body)))
        if close:
            h.send_header("Connection", "close")
        h.end_headers()
        if status != 304:
            try:
                h.wfile.write(body)
                h.wfile.flush()
            except OSError:
                pass
        if close:
            h.close_connection = True
            h.connection.close()


# -- the files, built from the real shared data -------------------------------------------------


def _shift(yyyymm: str, months: int) -> str:
    y, m = int(yyyymm[:4]), int(yyyymm[4:])
    k = y * 12 + m - 1 + months
    return f"{k // 12}{k % 12 + 1:02d}"


@functools.lru_cache(maxsize=4)
def shifted_met_release(real: Path, *, first: str = "202409", last: str = "202608", stub_share: float = 0.04,
                        revise_every: int = 50) -> tuple[bytes, dict[str, Any]]:
    """A Met ward release for ``first``..``last`` made from the real file, as a later extract would be.

    Months the real file holds keep their counts, except that every ``revise_every``-th
    row is raised by one (a revision); later months take the counts of the same month a
    year (or two) earlier; the first month is a stub holding ``stub_share`` of its counts.

    Returns
    -------
    bytes, facts
        The CSV, and what the test can check: ``months``, ``revised_cells`` (cells changed
        in months the real file holds, the stub excluded), ``stub``.
    """
    with open(real, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    ids = header[:5]
    col = {c: i for i, c in enumerate(header)}
    months = []
    m = first
    while m <= last:
        months.append(m)
        m = _shift(m, 1)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(ids + months)
    revised = 0
    for k, r in enumerate(body):
        values = []
        for mm in months:
            src = mm if mm in col else _shift(mm, -12) if _shift(mm, -12) in col else _shift(mm, -24)
            v = int(r[col[src]])
            if mm == first:
                v = round(v * stub_share)
            elif mm in col and k % revise_every == 0:
                v += 1
                revised += 1
            values.append(str(v))
        w.writerow(r[:5] + values)
    return out.getvalue().encode(), {"months": [f"{x[:4]}-{x[4:]}" for x in months], "revised_cells": revised,
                                     "stub": f"{first[:4]}-{first[4:]}"}


def _pas_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.reader(fh, delimiter=";"))


@functools.lru_cache(maxsize=8)
def pas_workbook(shared: Path, *, extra_quarter: str | None = "30/06/2026", revise: int = 3,
                 sheets: tuple[str, ...] = ("Borough", "MPS")) -> tuple[bytes, dict[str, Any]]:
    """MOPAC's PAS workbook in its layout, from the real figures (``trust/PAS_buroughs.csv``, ``PAS_Total.csv``).

    Sheets ``Borough`` (``Date, Survey, Borough, Measure, Proportion, MPS`` and an empty
    ``Unnamed: 6`` column) and ``MPS``; dates alternate between dd/mm/yyyy text and Excel
    dates; proportions are numbers. ``extra_quarter`` adds a quarter (a copy of the last
    one, 0.01 higher) and ``revise`` changes that many older borough values by 0.01.

    Cached per arguments (the facts dict is shared: do not change it).

    Returns
    -------
    bytes, facts
        The xlsx, and ``quarter`` (the added quarter end, YYYY-MM) and ``revised`` (values changed).
    """
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    facts: dict[str, Any] = {"revised": 0, "quarter": None}
    for name, src in (("Borough", "trust/PAS_buroughs.csv"), ("MPS", "trust/PAS_Total.csv")):
        if name not in sheets:
            continue
        rows = _pas_rows(shared / src)
        header, body = rows[0], rows[1:]
        if extra_quarter:
            last = body[-1][0]
            body = body + [[extra_quarter, *r[1:4], str(round(float(r[4].replace(",", ".")) + 0.01, 2)), *r[5:]]
                           for r in body if r[0] == last]
            facts["quarter"] = f"{extra_quarter[6:]}-{extra_quarter[3:5]}"
        ws = book.create_sheet(name)
        ws.append([*header, "Unnamed: 6"] if name == "Borough" else header)
        for k, r in enumerate(body):
            d = r[0] if k % 2 else datetime.datetime.strptime(r[0], "%d/%m/%Y")
            p = float(r[4].replace(",", "."))
            if name == "Borough" and 0 < k <= revise:
                p = round(p + 0.01, 2)
                facts["revised"] += 1
            cells: list[Any] = [d, r[1], r[2], r[3], p, *(float(x.replace(",", ".")) for x in r[5:])]
            ws.append(cells + ([None] if name == "Borough" else []))
            if isinstance(d, datetime.datetime):
                ws.cell(row=k + 2, column=1).number_format = "dd/mm/yyyy"
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue(), facts


def standard_catalogue(stub: StubDatastore, shared: Path, *, met: bytes | None = None,
                       pas: bytes | None = None, pas_title: str = "PAS_T&Cdashboard_to Q1 26-27.xlsx") -> None:
    """Publish the two datasets as the Datastore lists them, with the files given (default: the real Met file)."""
    stub.publish(MET_SLUG, "a1b2c3", "MPS Borough Level Crime (most recent 24 months).csv", b"x,y\n1,2\n", order=0)
    stub.publish(MET_SLUG, "d4e5f6", MET_TITLE, met if met is not None else (shared / MET_FILE).read_bytes(), order=1)
    stub.publish(MET_SLUG, "0a0b0c", "MPS LSOA Level Crime (most recent 24 months).csv", b"x,y\n1,2\n", order=2)
    stub.publish(PAS_SLUG, "9f8e7d", "PAS_T&Cdashboard_to Q3 23-24.xlsx", pas_workbook(shared, extra_quarter=None,
                                                                                         revise=0)[0], order=3)
    if pas is not None:
        stub.publish(PAS_SLUG, "1a2b3c", pas_title, pas, order=4)
    stub.publish(PAS_SLUG, "5d6e7f", "MOPAC User Satisfaction Survey.xlsx", b"PK\x03\x04not really", order=1)
