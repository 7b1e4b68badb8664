"""Client for the police.uk API: polite (rate limited), patient (bounded retries), resumable (cached).

The street-level endpoint answers at most 10,000 crimes per polygon; above that it replies
503 with an empty body. :func:`fetch_pieces` therefore sends many polygons concurrently
through one shared :class:`~data_sources.fetch.rate_limit.LeakyBucket`, splits a polygon that
gets that answer and sends the halves, and de-duplicates the records on their API ``id``
(pieces overlap slightly so no crime on a shared edge is lost).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

import numpy as np
import pyarrow as pa
import requests
import shapely
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.base import BaseGeometry

from core.errors import ApiError, OfflineError
from data_sources.fetch._http import Patience, RetryPolicy, is_transient, send_with_retries
from data_sources.fetch.http_cache import HttpCache, request_key
from data_sources.fetch.rate_limit import LeakyBucket
from data_sources.read.api_mapping import parse_crimes
from data_sources.settings import Settings, get_settings

#: police.uk refuses GET URLs longer than this; longer polygons go as a POST form body.
MAX_GET_URL = 4094
#: Most crimes the street endpoint returns for one polygon.
CRIME_CAP = 10_000
#: Pieces overlap by this much (degrees, ~7-11 m) so a point on a shared edge is in both.
EDGE_BUFFER_DEG = 1e-4
#: Simplification tolerance, below the buffer so the simplified outline still covers the piece.
SIMPLIFY_DEG = 5e-5
#: A piece whose bounding box is smaller than this (degrees, ~50 m) is not split further.
MIN_SPLIT_DEG = 5e-4


class SessionLike(Protocol):
    """What the client needs from ``requests.Session`` (tests may pass any look-alike)."""

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response: ...


class NotPublished(ApiError):
    """police.uk answered 404 for a month's crimes (the month is not, or not yet, published)."""


class TooManyCrimes(ApiError):
    """A street-crimes polygon holds more than the API's cap (503 with an empty body)."""


def encode_poly(geom: BaseGeometry) -> str:
    """``lat,lng:lat,lng:...`` for the API from a lon/lat polygon's outer ring (6 dp, ~0.1 m).

    The API takes one ring without holes; the closing point is left out as in its docs.
    """
    if not isinstance(geom, Polygon):
        raise ValueError(f"the API takes one polygon, got {geom.geom_type}")
    coords = np.asarray(geom.exterior.coords)[:-1]
    return ":".join(f"{lat:.6f},{lng:.6f}" for lng, lat in coords)


def request_polygon(geom: BaseGeometry, *, buffer_deg: float = EDGE_BUFFER_DEG,
                    simplify_deg: float = SIMPLIFY_DEG) -> Polygon:
    """One API polygon that covers ``geom`` (any lon/lat areal geometry) with a small margin.

    The geometry is buffered, then simplified by less than the buffer (so it still covers
    the original), separate parts are joined by thin corridors and holes are filled, because
    the API takes one ring. Covering more than asked is safe: the extra crimes are either
    duplicates (removed on ``id``) or outside the area (removed by the caller's area filter);
    covering less would lose crimes.
    """
    shape = shapely.simplify(shapely.buffer(geom, buffer_deg, quad_segs=2), simplify_deg, preserve_topology=True)
    parts = list(shape.geoms) if isinstance(shape, MultiPolygon) else [shape]
    parts.sort(key=lambda p: -p.area)
    joined = parts[0]
    rest = parts[1:]
    while rest:
        i = min(range(len(rest)), key=lambda k: joined.distance(rest[k]))
        corridor = shapely.shortest_line(joined, rest[i]).buffer(buffer_deg / 2, quad_segs=1)
        joined = shapely.union_all([joined, rest.pop(i), corridor])
        if isinstance(joined, MultiPolygon):  # numerical slivers: keep the largest, re-queue the rest
            pieces = sorted(joined.geoms, key=lambda p: -p.area)
            joined, rest = pieces[0], rest + pieces[1:]
    return Polygon(joined.exterior)


@dataclass(frozen=True)
class Piece:
    """A region to fetch: one or more unit polygons (wards) in lon/lat, with expected counts.

    Splitting halves the units by expected count; a single unit is cut into the quadrants
    of its bounding box (slightly overlapping, so nothing on a cut line is lost).
    """

    units: tuple[BaseGeometry, ...]
    expected: tuple[float, ...] = ()
    label: str = ""

    @property
    def geometry(self) -> BaseGeometry:
        return self.units[0] if len(self.units) == 1 else shapely.union_all(self.units)

    @property
    def polygon(self) -> Polygon:
        """The API polygon for this piece, computed by the worker that sends it.

        Not a ``functools.cached_property``: before Python 3.12 that holds one lock for all
        instances, which made the workers build their polygons one at a time.
        """
        return request_polygon(self.geometry)

    def can_split(self, min_split_deg: float = MIN_SPLIT_DEG) -> bool:
        if len(self.units) > 1:
            return True
        x0, y0, x1, y1 = self.units[0].bounds
        return max(x1 - x0, y1 - y0) > min_split_deg

    def split(self) -> list[Piece]:
        """Two halves of the units (balanced by expected count), or four quadrants of one unit."""
        if len(self.units) > 1:
            weights = np.asarray(self.expected if self.expected else [1.0] * len(self.units), dtype=float)
            cum = np.cumsum(weights)
            cut = int(np.clip(np.searchsorted(cum, cum[-1] / 2) + 1, 1, len(self.units) - 1))
            return [
                Piece(self.units[:cut], tuple(weights[:cut]), f"{self.label}a"),
                Piece(self.units[cut:], tuple(weights[cut:]), f"{self.label}b"),
            ]
        unit = self.units[0]
        x0, y0, x1, y1 = unit.bounds
        xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
        e = EDGE_BUFFER_DEG
        share = (self.expected[0] / 4) if self.expected else 1.0
        quads = [box(x0 - e, y0 - e, xm + e, ym + e), box(xm - e, y0 - e, x1 + e, ym + e),
                 box(x0 - e, ym - e, xm + e, y1 + e), box(xm - e, ym - e, x1 + e, y1 + e)]
        out = []
        for k, q in enumerate(quads):
            part = shapely.intersection(unit, q)
            if not part.is_empty and part.area > 0:
                out.append(Piece((part,), (share,), f"{self.label}q{k}"))
        return out


class PoliceApi:
    """The police.uk endpoints this project uses, with rate limiting, retries and a disk cache.

    Parameters
    ----------
    session
        ``requests.Session`` or look-alike; tests inject one pointed at a local stub.
    settings
        Base URL, timeout, rate, burst and retry bound (defaults: :func:`get_settings`).
    limiter
        A shared :class:`LeakyBucket`; one is made from the settings when omitted.
    cache
        Response cache; ``None`` makes one under ``settings.cache_dir``, ``False`` disables it.
    sleep
        Used for retry back-off (tests pass a recorder so they do not wait).
    backoff_s, max_backoff_s
        First back-off delay, doubled each retry, capped; a longer Retry-After wins.
    edition
        Tag mixed into cache keys (the refresh uses the API's ``crime-last-updated`` date),
        so answers cached before police.uk republished are not reused after.
    notice
        Told in one line whenever the client waits to retry (the command line prints it);
        how long it waits without an answer is bounded by ``settings.publisher_wait_s``.
    """

    def __init__(
        self,
        session: SessionLike | None = None,
        *,
        settings: Settings | None = None,
        limiter: LeakyBucket | None = None,
        cache: HttpCache | bool | None = None,
        sleep: Callable[[float], None] = time.sleep,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        edition: str = "",
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.session: SessionLike = session if session is not None else requests.Session()  # type: ignore[assignment]
        self.base_url = self.settings.api_url.rstrip("/")
        self.limiter = limiter or LeakyBucket(self.settings.api_rate_per_s, self.settings.api_burst)
        if cache is None or cache is True:
            cache = HttpCache(self.settings.cache_dir / "police_api")
        self.cache: HttpCache | None = cache or None
        self.sleep = sleep
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.edition = edition
        self.notice = notice
        self.patience = Patience(self.settings.publisher_wait_s)
        self.network_requests = 0
        self.cache_hits = 0
        self._count_lock = threading.Lock()
        self._months: list[str] | None = None
        self._month_keys: dict[str, set[str]] = {}

    @property
    def policy(self) -> RetryPolicy:
        """The shared retry policy (``data_sources.fetch._http``) with this client's bound and back-off."""
        return RetryPolicy(self.settings.api_max_retries, self.backoff_s, self.max_backoff_s,
                           self.settings.api_timeout_s)

    # -- transport -------------------------------------------------------------------------

    def get_json(self, path: str, params: Mapping[str, str] | None = None, *, what: str,
                 cacheable: bool = True, too_many_is_split: bool = False,
                 parse: Callable[[bytes], Any] = json.loads) -> Any:
        """Fetch one endpoint as JSON: cache first, then the network with bounded retries.

        Parameters
        ----------
        path
            Endpoint path under the base URL, e.g. ``"crimes-street/all-crime"``.
        params
            Query (or form) parameters.
        what
            Plain description of the request for error messages ("street crimes for 2024-01
            in group 3").
        cacheable
            Whether a successful answer may be served from and stored in the cache.
        too_many_is_split
            Raise :class:`TooManyCrimes` on a 503 with an empty body instead of retrying.
        parse
            Turns the body into the answer (default ``json.loads``); a ``ValueError`` from it
            means malformed JSON. Only bodies it accepts are cached.
        """
        params = dict(params or {})
        url = f"{self.base_url}/{path}"
        get_url = f"{url}?{urlencode(params)}" if params else url
        method = "GET" if len(get_url) <= MAX_GET_URL else "POST"
        key = request_key(method, url, params, self.edition)
        # "Too many crimes" is a property of the published data, like a 200 answer, so it is
        # remembered too: a resumed refresh then does not resend a polygon known to be over the cap.
        too_many_key = request_key(method, url, params, f"{self.edition}#too-many")
        if cacheable and self.cache is not None:
            body = self.cache.get(key)
            if body is not None or (too_many_is_split and too_many_key in self.cache):
                with self._count_lock:
                    self.cache_hits += 1
                if body is None:
                    raise TooManyCrimes(f"{what}: more than {CRIME_CAP:,} crimes in the polygon (cached)")
                self._remember(params, key)
                return parse(body)

        def send() -> requests.Response:
            with self._count_lock:
                self.network_requests += 1
            timeout = self.patience.timeout(self.settings.api_timeout_s)
            if method == "GET":
                return self.session.request("GET", url, params=params, timeout=timeout)
            return self.session.request("POST", url, data=params, timeout=timeout)

        def too_many(resp: requests.Response) -> bool:
            return too_many_is_split and resp.status_code == 503 and not resp.content.strip()

        resp = send_with_retries(
            send, policy=self.policy, sleep=self.sleep, before_attempt=self.limiter.acquire,
            patience=self.patience, on_wait=self.notice,
            is_final=lambda r: not is_transient(r) or too_many(r),
            offline=lambda e: OfflineError(f"cannot reach police.uk API at {self.base_url}; check your connection "
                                           f"or set POLICE_API_URL ({what})"),
            give_up=lambda n, problem: ApiError(
                f"{what}: gave up after {n} attempts ({problem}) at {get_url[:200]}; police.uk may be "
                "overloaded — try again later (finished requests are cached, so a re-run resumes)"))
        status = resp.status_code
        if status == 200:
            return self._parse(resp, key if cacheable else None, what, get_url, parse, params)
        if too_many(resp):
            if cacheable and self.cache is not None:
                self.cache.put(too_many_key, b"503")
            raise TooManyCrimes(f"{what}: more than {CRIME_CAP:,} crimes in the polygon")
        if status == 404:
            raise (NotPublished if params.get("date") else ApiError)(self._not_found(what, params, get_url))
        raise ApiError(f"{what}: police.uk answered HTTP {status} to {get_url[:200]} "
                       f"({resp.text[:200]!r}); the request is not valid for the API")

    def _parse(self, resp: requests.Response, key: str | None, what: str, get_url: str,
               parse: Callable[[bytes], Any], params: Mapping[str, str]) -> Any:
        try:
            data = parse(resp.content)
        except ValueError as e:
            raise ApiError(f"{what}: police.uk answered with malformed JSON ({e}) to {get_url[:200]}; "
                           "try again later") from e
        if key is not None and self.cache is not None:
            self.cache.put(key, resp.content)
            self._remember(params, key)
        return data

    def _remember(self, params: Mapping[str, str], key: str) -> None:
        """Note a cached answer under its month, so :meth:`forget_month` can drop it."""
        month = params.get("date")
        if month:
            with self._count_lock:
                self._month_keys.setdefault(month, set()).add(key)

    def forget_month(self, month: str) -> int:
        """Drop the cached answers this client stored or served for ``month``; return how many.

        Used when police.uk lists a month but answers it with nothing: a re-run must ask
        again rather than replay the empty answers.
        """
        with self._count_lock:
            keys = self._month_keys.pop(month, set())
        if self.cache is not None:
            for key in keys:
                self.cache.delete(key)
        return len(keys)

    def _not_found(self, what: str, params: Mapping[str, str], get_url: str) -> str:
        month = params.get("date")
        if not month:
            return f"{what}: police.uk has no such resource ({get_url[:200]})"
        msg = f"{what}: police.uk has not published crimes for {month}"
        try:
            months = self.available_months()
        except ApiError:
            months = []
        if months:
            msg += f"; available months are {months[0]} … {months[-1]} ({len(months)} months)"
        return msg + "; choose a published month"

    # -- endpoints ---------------------------------------------------------------------------

    def street_crimes(self, poly: Polygon, month: str, *, split_on_503: bool = True, label: str = "") -> pa.Table:
        """All street-level crimes in a lon/lat polygon for ``YYYY-MM`` (``crimes-street/all-crime``).

        Returns the records as parsed by :func:`~data_sources.read.api_mapping.parse_crimes`.
        Raises :class:`TooManyCrimes` when the polygon holds more than the cap and
        ``split_on_503`` is set; otherwise a 503 is retried like any server error.
        """
        what = f"street crimes for {month}" + (f" in {label}" if label else "")
        return self.get_json("crimes-street/all-crime", {"poly": encode_poly(poly), "date": month},
                             what=what, too_many_is_split=split_on_503, parse=parse_crimes)

    def no_location_crimes(self, month: str, force: str = "metropolitan") -> pa.Table:
        """Crimes without a location for one force and month (``crimes-no-location``), parsed."""
        what = f"crimes without location for {force} in {month}"
        return self.get_json("crimes-no-location", {"category": "all-crime", "force": force, "date": month},
                             what=what, parse=parse_crimes)

    def crime_categories(self, month: str | None = None) -> list[dict]:
        """``[{"url": slug, "name": name}, ...]`` valid for ``month`` (``crime-categories``)."""
        params = {"date": month} if month else {}
        data = self.get_json("crime-categories", params, what=f"crime categories for {month or 'latest'}")
        return _expect_list(data, "crime categories")

    def available_months(self) -> list[str]:
        """Return the published months, oldest first (``crimes-street-dates``; not cached on disk)."""
        if self._months is None:
            data = _expect_list(self.get_json("crimes-street-dates", what="published months", cacheable=False),
                                "published months")
            self._months = sorted(str(d["date"]) for d in data if isinstance(d, dict) and "date" in d)
        return self._months

    def last_updated(self) -> str:
        """Date police.uk last republished crime data, ``YYYY-MM-DD`` (``crime-last-updated``)."""
        data = self.get_json("crime-last-updated", what="last update date", cacheable=False)
        if not isinstance(data, dict) or "date" not in data:
            raise ApiError(f"last update date: expected {{'date': ...}}, got {str(data)[:100]!r}")
        return str(data["date"])

    def neighbourhood_boundary(self, force: str, neighbourhood: str) -> Polygon:
        """Return a neighbourhood's outline as a lon/lat polygon (``{force}/{neighbourhood}/boundary``)."""
        what = f"boundary of neighbourhood {force}/{neighbourhood}"
        points = _expect_list(self.get_json(f"{force}/{neighbourhood}/boundary", what=what), what)
        try:
            return Polygon([(float(p["longitude"]), float(p["latitude"])) for p in points])
        except (KeyError, TypeError, ValueError) as e:
            raise ApiError(f"{what}: points lack numeric latitude/longitude ({e})") from e


def _expect_list(data: Any, what: str) -> list:
    if not isinstance(data, list):
        raise ApiError(f"{what}: expected a JSON list from police.uk, got {type(data).__name__}")
    return data


@dataclass
class FetchResult:
    """The answers for one month's pieces, and how many polygon requests it took."""

    answers: list[pa.Table] = field(default_factory=list)
    pieces_fetched: int = 0
    splits: int = 0

    @property
    def crimes(self) -> pa.Table:
        """Every crime once: pieces overlap, so a record may come back twice (same ``id``)."""
        if not self.answers:
            return parse_crimes(b"[]")
        table = pa.concat_tables(self.answers)
        _, first = np.unique(table.column("id").to_numpy(zero_copy_only=False), return_index=True)
        return table.take(np.sort(first))


def fetch_pieces(
    client: PoliceApi,
    pieces: Iterable[Piece],
    month: str,
    *,
    workers: int = 6,
    progress: Callable[[int, int], None] | None = None,
    min_split_deg: float = MIN_SPLIT_DEG,
) -> FetchResult:
    """Fetch every piece for ``month`` concurrently, splitting any piece over the cap.

    All workers share the client's one limiter, so the request stream as a whole stays
    within the API's bucket. A piece answered "too many" is split and its parts queued;
    a piece too small to split is retried as an ordinary server error and, after the
    retry bound, raises :class:`ApiError`. ``progress(done, known_total)`` is called in the
    calling thread after each piece; an exception from it (e.g. KeyboardInterrupt) stops
    the fetch after the requests already in flight finish (and are cached).
    """
    result = FetchResult()
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="police-api")
    pending: dict[Future, Piece] = {}

    def submit(piece: Piece) -> None:
        split = piece.can_split(min_split_deg)
        pending[pool.submit(lambda: client.street_crimes(piece.polygon, month, split_on_503=split,
                                                         label=piece.label or "polygon"))] = piece

    try:
        for p in pieces:
            submit(p)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                piece = pending.pop(fut)
                try:
                    answer = fut.result()
                except TooManyCrimes:
                    result.splits += 1
                    for part in piece.split():
                        submit(part)
                else:
                    result.answers.append(answer)
                result.pieces_fetched += 1
                if progress is not None:
                    progress(result.pieces_fetched, result.pieces_fetched + len(pending))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return result
