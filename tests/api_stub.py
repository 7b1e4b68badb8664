"""A local stand-in for the police.uk API, so tests and the benchmark never touch the internet.

It listens on 127.0.0.1 (port chosen by the OS), answers the endpoints the client uses in
the API's JSON shapes, selects street crimes by point in polygon, refuses a polygon holding
more than ``cap`` crimes with 503 and an empty body (as police.uk does), and can inject
faults. Every request is logged with its arrival time so tests can check the rate limit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import shapely
from shapely.geometry import Polygon

from tests.local_server import LocalServer

FIXTURES = Path(__file__).parent / "fixtures" / "police_api"

#: API slugs with rough London shares, for generated records.
CATEGORY_SHARES = {
    "violent-crime": 0.27, "anti-social-behaviour": 0.17, "other-theft": 0.12, "vehicle-crime": 0.09,
    "theft-from-the-person": 0.06, "burglary": 0.05, "criminal-damage-arson": 0.05, "public-order": 0.05,
    "shoplifting": 0.04, "robbery": 0.03, "drugs": 0.03, "bicycle-theft": 0.02, "other-crime": 0.01,
    "possession-of-weapons": 0.01,
}


def load_fixture(name: str) -> Any:
    """Parse one hand-written fixture from ``tests/fixtures/police_api``."""
    return json.loads((FIXTURES / name).read_text())


def synth_records(lons: np.ndarray, lats: np.ndarray, month: str, *, first_id: int = 1, seed: int = 0,
                  btp_share: float = 0.02) -> list[dict]:
    """Crime records in the API's documented shape at the given points (ids first_id, first_id+1, ...).

    Like the real data: ASB and BTP rows have ``persistent_id`` "" and ASB has no outcome;
    coordinates are strings with 6 decimals.
    """
    rng = np.random.default_rng(seed)
    slugs = rng.choice(list(CATEGORY_SHARES), size=len(lons), p=np.array(list(CATEGORY_SHARES.values())) /
                       sum(CATEGORY_SHARES.values()))
    btp = rng.random(len(lons)) < btp_share
    out = []
    for i, (x, y, slug, is_btp) in enumerate(zip(lons, lats, slugs, btp, strict=True)):
        rid = first_id + i
        asb = slug == "anti-social-behaviour"
        out.append({
            "category": str(slug),
            "location_type": "BTP" if is_btp else "Force",
            "location": {"latitude": f"{y:.6f}",
                         "street": {"id": 900000 + i % 5000,
                                    "name": "Stub (station)" if is_btp else f"On or near Street {i % 5000}"},
                         "longitude": f"{x:.6f}"},
            "context": "",
            "outcome_status": None if asb else {"category": "Under investigation", "date": month},
            "persistent_id": "" if (asb or is_btp) else f"{rid:064x}",
            "id": rid,
            "location_subtype": "STATION" if is_btp else "",
            "month": month,
        })
    return out


@dataclass
class Fault:
    """One injected misbehaviour.

    kind: "429", "500", "502", "503" (with a body: an overloaded server), "slow" (answer
    after ``delay`` s), "timeout" (same, meant to exceed the client's timeout), "malformed"
    (200 with broken JSON) or "drop" (close the connection without answering). It applies
    to requests whose path contains ``path``, once ``after`` requests have been served in
    total, ``times`` times (None: forever).
    """

    kind: str
    path: str = ""
    times: int | None = 1
    after: int = 0
    retry_after: str | None = None
    delay: float = 0.0


@dataclass
class Logged:
    t: float
    method: str
    path: str
    params: dict[str, str]
    status: int = 0


@dataclass
class _Month:
    """One month's records, with their coordinates and JSON encoded once.

    The real API does its work on its own machines; encoding each answer afresh here would
    make the stub, sharing the client's two cores, the slowest part of every benchmark.
    """

    records: list[dict]
    lon: np.ndarray = field(init=False)
    lat: np.ndarray = field(init=False)
    encoded: list[bytes] = field(init=False)

    def __post_init__(self) -> None:
        self.lon = np.array([float(r["location"]["longitude"]) for r in self.records], dtype=float)
        self.lat = np.array([float(r["location"]["latitude"]) for r in self.records], dtype=float)
        self.encoded = [json.dumps(r).encode() for r in self.records]


class StubApi(LocalServer):
    """The stub server; use as a context manager, or call :meth:`start` and :meth:`stop`.

    Parameters
    ----------
    crimes
        Month → located crime records served by ``crimes-street/all-crime``.
    months
        Published months (default: the keys of ``crimes``); any other month is a 404.
    cap
        Most crimes one polygon may hold before the answer is 503 (None: no cap).
    no_location
        Month → records for ``crimes-no-location``.
    files
        Path under ``/files/`` → bytes, for archive downloads.
    stops
        ``(force, month)`` → stop-and-search records for ``stops-force``; ``crimes-street-dates``
        lists each such force under its month's ``stop-and-search`` when the month is among
        ``months`` (none by default).
    """

    def __init__(self, crimes: dict[str, list[dict]] | None = None, *, months: Iterable[str] | None = None,
                 cap: int | None = 10_000, no_location: dict[str, list[dict]] | None = None,
                 files: dict[str, bytes] | None = None, stops: dict[tuple[str, str], list[dict]] | None = None
                 ) -> None:
        self._months = {m: _Month(list(rs)) for m, rs in (crimes or {}).items()}
        self.published = sorted(months if months is not None else self._months)
        self.cap = cap
        self.no_location = no_location or {}
        self.files = files or {}
        self.stops = dict(stops or {})
        self.faults: list[Fault] = []
        self.log: list[Logged] = []
        super().__init__()

    # -- control ---------------------------------------------------------------------------

    url_path = "/api"

    def add_fault(self, kind: str, **kw: Any) -> None:
        with self._lock:
            self.faults.append(Fault(kind, **kw))

    def requests_to(self, path_part: str) -> list[Logged]:
        with self._lock:
            return [r for r in self.log if path_part in r.path]

    def truth(self, poly: Polygon, month: str) -> set[int]:
        """Ids one unlimited request for ``poly`` would return (the test oracle)."""
        m = self._months[month]
        inside = shapely.contains_xy(poly, m.lon, m.lat)
        return {int(m.records[i]["id"]) for i in np.flatnonzero(inside)}

    # -- serving ---------------------------------------------------------------------------

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            served = len(self.log) - 1
            for f in self.faults:
                if f.path in path and served >= f.after and (f.times is None or f.times > 0):
                    if f.times is not None:
                        f.times -= 1
                    return f
        return None

    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if method == "POST":
            length = int(h.headers.get("Content-Length") or 0)
            params.update({k: v[-1] for k, v in parse_qs(h.rfile.read(length).decode()).items()})
        path = parts.path.removeprefix("/api/").strip("/")
        entry = Logged(time.monotonic(), method, path, params)
        with self._lock:
            self.log.append(entry)
        fault = self._take_fault(path)
        if fault is not None:
            if fault.kind == "drop":
                h.close_connection = True
                h.connection.close()
                return
            if fault.kind in ("slow", "timeout"):
                time.sleep(fault.delay)
            elif fault.kind == "malformed":
                return self._send(h, entry, 200, b'[{"category": "burglary", "id": 1,')
            else:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                return self._send(h, entry, int(fault.kind), b"<html>server busy</html>", headers)
        status, body = self._answer(path, params)
        self._send(h, entry, status, body)

    def _send(self, h: BaseHTTPRequestHandler, entry: Logged, status: int, body: bytes,
              headers: dict[str, str] | None = None) -> None:
        entry.status = status
        h.send_response(status)
        h.send_header("Content-Type", "application/json" if status == 200 else "text/html")
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _answer(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        month = params.get("date")
        if path == "crimes-street/all-crime":
            if month not in self.published:
                return 404, b"<html>Not found</html>"
            try:
                pts = [tuple(float(v) for v in p.split(",")) for p in params["poly"].split(":")]
                poly = Polygon([(lng, lat) for lat, lng in pts])
            except (KeyError, ValueError):
                return 400, b"<html>bad poly</html>"
            shapely.prepare(poly)
            m = self._months.get(month) or _Month([])
            idx = np.flatnonzero(shapely.contains_xy(poly, m.lon, m.lat)) if len(m.records) else []
            if self.cap is not None and len(idx) > self.cap:
                return 503, b""
            return 200, b"[" + b", ".join(m.encoded[i] for i in idx) + b"]"
        if path == "crimes-no-location":
            if month not in self.published:
                return 404, b"<html>Not found</html>"
            return 200, json.dumps(self.no_location.get(month, [])).encode()
        if path == "crime-categories":
            return 200, json.dumps(load_fixture("crime_categories_2024-01.json")).encode()
        if path == "crimes-street-dates":
            return 200, json.dumps([{"date": m, "stop-and-search": sorted(f for f, sm in self.stops if sm == m)}
                                    for m in reversed(self.published)]).encode()
        if path == "stops-force":
            key = (params.get("force", ""), params.get("date", ""))
            return (200, json.dumps(self.stops[key]).encode()) if key in self.stops else (404, b"<html/>")
        if path == "crime-last-updated":
            return 200, json.dumps({"date": f"{self.published[-1]}-28" if self.published else "2024-01-01"}).encode()
        if path.endswith("/boundary"):
            return 200, json.dumps(load_fixture("neighbourhood_boundary.json")).encode()
        if path.startswith("files/") and path[6:] in self.files:
            return 200, self.files[path[6:]]
        return 404, b"<html>Not found</html>"
