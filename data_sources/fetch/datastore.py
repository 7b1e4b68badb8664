"""Client for the London Datastore: find a dataset's current file and download it only when it changed.

The Datastore's download URLs change with every release, so a file is never addressed by
URL: :meth:`Datastore.dataset` reads ``<base>/api/dataset/<slug>``, whose ``resources`` is
a mapping from resource id to ``{title, url, order, format, ...}``, and the caller picks
a resource by its title (:func:`pick_resource`).

Downloads are conditional: the ETag and Last-Modified of a file are kept on disk under
``<cache_dir>/datastore/`` once the caller has checked the whole file (:meth:`Datastore.confirm`),
and the next request sends them back, so a file that has not changed is answered
``304 Not Modified`` and is not downloaded again; a body that failed a check never gets a
validator, so it is downloaded again. A download is streamed to a temporary file, checked
(as long as its Content-Length; what was asked for, not an HTML error page; a CSV must not
end part-way through a row; the checksum the catalogue states, when it states one),
checksummed and only then renamed into place. Retries, back-off and the bound on waiting
are the shared policy of ``data_sources.fetch._http``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from core.errors import ApiError, CatalogueError, InputFileError, OfflineError
from data_sources.fetch._http import Patience, RetryPolicy, send_with_retries
from data_sources.fetch.police_api import SessionLike
from data_sources.read._sniff import EXCEL, HEAD_BYTES, sniff
from data_sources.settings import Settings, get_settings

#: Chunk size for streamed downloads.
CHUNK = 1 << 16


@dataclass(frozen=True)
class Resource:
    """One file of a Datastore dataset, as its catalogue describes it."""

    dataset: str
    id: str
    title: str
    url: str
    order: int = 0
    format: str = ""
    checksum: str = ""

    @property
    def label(self) -> str:
        """Plain words for messages: the dataset and the file's title."""
        return f"London Datastore {self.dataset}: {self.title!r}"


@dataclass(frozen=True)
class Dataset:
    """A dataset's resources, in the catalogue's order."""

    slug: str
    title: str
    resources: tuple[Resource, ...]

    @property
    def titles(self) -> list[str]:
        return [r.title for r in self.resources]


@dataclass(frozen=True)
class Download:
    """A file on disk from the Datastore, with where and when it came from and its checksum.

    ``fresh`` is True when this call transferred the bytes; False when the server said
    the file had not changed (304) and the copy from an earlier download is used.
    """

    resource: Resource
    path: Path
    url: str
    sha256: str
    size: int
    etag: str
    last_modified: str
    fetched_at: str
    fresh: bool


def parse_dataset(slug: str, data: Any) -> Dataset:
    """Read a dataset's catalogue JSON into a :class:`Dataset`.

    ``resources`` is a mapping id → resource (the Datastore's shape); a list of resources
    with ``id`` fields is accepted too. Resources are ordered by ``order``, then title.

    Raises
    ------
    CatalogueError
        When the JSON is not an object with resources.
    """
    if not isinstance(data, dict) or not isinstance(data.get("resources"), dict | list):
        got = type(data).__name__ if not isinstance(data, dict) else f"keys {sorted(data)[:8]!r}"
        raise CatalogueError(f"London Datastore dataset {slug!r}: expected a JSON object with 'resources', got {got}; "
                             "the catalogue format may have changed")
    raw = data["resources"]
    items = raw.items() if isinstance(raw, dict) else ((str(r.get("id", i)), r) for i, r in enumerate(raw))
    resources = []
    for rid, info in items:
        if not isinstance(info, dict) or not info.get("url"):
            continue
        try:
            order = int(info.get("order") or 0)
        except (TypeError, ValueError):
            order = 0
        resources.append(Resource(slug, str(rid), str(info.get("title") or info.get("name") or ""), str(info["url"]),
                                  order, str(info.get("format") or ""), stated_checksum(info)))
    resources.sort(key=lambda r: (r.order, r.title))
    return Dataset(slug, str(data.get("title") or slug), tuple(resources))


def stated_checksum(info: dict[str, Any]) -> str:
    """The checksum a catalogue entry states for its file, as ``algorithm:hex`` ('' when none).

    The Datastore's resources carry ``check_hash`` (an MD5 hex digest); ``sha256`` or a
    prefixed ``md5:…``/``sha256:…`` value are read too.
    """
    for key in ("check_hash", "hash", "sha256", "md5"):
        value = str(info.get(key) or "").strip().lower()
        if not value:
            continue
        algo, _, digest = value.rpartition(":")
        algo = algo or ("sha256" if key == "sha256" or len(digest) == 64 else "md5")
        if algo in ("md5", "sha256") and re.fullmatch(r"[0-9a-f]+", digest):
            return f"{algo}:{digest}"
    return ""


def pick_resource(dataset: Dataset, pattern: str, *, what: str,
                  newest: Callable[[Resource], Any] | None = None) -> Resource:
    """The resource whose title matches ``pattern`` (a case-insensitive regex).

    Parameters
    ----------
    dataset
        From :meth:`Datastore.dataset`.
    pattern
        Regular expression the title must contain.
    what
        Plain description of the file for the message, e.g. "the ward-level file (most recent 24 months)".
    newest
        When several titles match, the one with the largest ``newest(resource)`` wins;
        without it, the first in catalogue order.

    Raises
    ------
    CatalogueError
        Naming the dataset, what was looked for and every title found.
    """
    regex = re.compile(pattern, re.IGNORECASE)
    hits = [r for r in dataset.resources if regex.search(r.title)]
    if not hits:
        raise CatalogueError(
            f"London Datastore dataset {dataset.slug!r} has no {what} (a title matching {pattern!r}); titles found: "
            f"{dataset.titles!r}; the publisher may have renamed it — nothing was changed")
    return max(hits, key=newest) if newest is not None else hits[0]


def _safe_name(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9._() &-]+", "_", title).strip() or "file"


def check_complete_csv(path: Path, label: str) -> None:
    """Refuse a CSV that stops part-way (a truncated download).

    A whole CSV ends with a line break (the Met's file does, as every CSV the Datastore
    serves); one that does not was cut off, and the message says how much of the last
    row is there.
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:
        header = fh.readline()
        fh.seek(max(0, size - 65536))
        tail = fh.read()
    if tail.endswith(b"\n"):
        return
    last = tail.rsplit(b"\n", 1)[-1]
    n_header = len(next(csv.reader(io.StringIO(header.decode("utf-8-sig", errors="replace")))))
    n_last = len(next(csv.reader(io.StringIO(last.decode("utf-8", errors="replace"))), []))
    raise InputFileError(label, f"ends part-way through a row ({n_last} of {n_header} fields on its last line, "
                         "no final line break): the download is truncated", hint="try again later; nothing was changed")


def _check_stated(resource: Resource, digest: dict[str, Any]) -> None:
    """Refuse a body whose checksum differs from the one the catalogue states for it."""
    if not resource.checksum:
        return
    algo, _, stated = resource.checksum.partition(":")
    if digest[algo] != stated:
        raise InputFileError(resource.label, f"does not match the {algo.upper()} checksum the catalogue states "
                             f"({stated[:12]}…, got {digest[algo][:12]}… over {digest['size']:,} bytes): the "
                             "download is incomplete or changed in transit",
                             hint="try again later; nothing was changed")


class Datastore:
    """The London Datastore: dataset catalogues and conditional, checksummed downloads.

    Parameters
    ----------
    session
        ``requests.Session`` or look-alike; tests inject one pointed at a local stand-in.
    settings
        Base URL (``datastore_url``), cache folder, timeout and retry bound.
    sleep
        Used for retry back-off (tests pass a recorder so they do not wait).
    backoff_s, max_backoff_s
        First back-off delay, doubled each retry, capped.
    remember
        Keep downloads on disk (False: a look that writes nothing, for ``update --check``);
        validators are kept only by :meth:`confirm`, once the caller has checked the file.
    notice
        Told in one line whenever the client waits to retry.
    """

    def __init__(self, session: SessionLike | None = None, *, settings: Settings | None = None,
                 sleep: Callable[[float], None] = time.sleep, backoff_s: float = 1.0, max_backoff_s: float = 60.0,
                 remember: bool = True, notice: Callable[[str], None] | None = None) -> None:
        self.settings = settings or get_settings()
        self.session: SessionLike = session if session is not None else requests.Session()  # type: ignore[assignment]
        self.base_url = self.settings.datastore_url.rstrip("/")
        self.dir = self.settings.cache_dir / "datastore"
        self.sleep = sleep
        self.policy = RetryPolicy(self.settings.api_max_retries, backoff_s, max_backoff_s, self.settings.api_timeout_s)
        self.remember = remember
        self.notice = notice
        self.patience = Patience(self.settings.publisher_wait_s)
        self.network_requests = 0
        self.bytes_downloaded = 0

    # -- transport -------------------------------------------------------------------------

    def _send(self, url: str, what: str, *, headers: dict[str, str] | None = None,
              on_ok: Callable[[requests.Response], None] | None = None, stream: bool = False) -> requests.Response:
        def send() -> requests.Response:
            self.network_requests += 1
            resp = self.session.request("GET", url, headers=headers or {},
                                        timeout=self.patience.timeout(self.settings.api_timeout_s), stream=stream)
            if resp.status_code == 200 and on_ok is not None:
                on_ok(resp)  # reads the body inside the retry loop: a cut-off transfer is retried
            return resp

        return send_with_retries(
            send, policy=self.policy, sleep=self.sleep, patience=self.patience, on_wait=self.notice,
            offline=lambda e: OfflineError(f"cannot reach the London Datastore at {self.base_url}; check your "
                                           f"connection or set LONDON_DATASTORE_URL ({what})"),
            give_up=lambda n, problem: ApiError(
                f"{what}: gave up after {n} attempts ({problem}) at {url[:200]}; the London Datastore may be "
                "busy — try again later (nothing was changed)"))

    # -- catalogue ---------------------------------------------------------------------------

    def dataset_url(self, slug: str) -> str:
        return f"{self.base_url}/api/dataset/{slug}"

    def dataset(self, slug: str) -> Dataset:
        """The catalogue of dataset ``slug`` (never cached: it says what is newest)."""
        url = self.dataset_url(slug)
        what = f"London Datastore dataset {slug!r}"
        resp = self._send(url, what)
        if resp.status_code == 404:
            raise CatalogueError(f"{what}: not found at {url} (HTTP 404); the dataset may have moved — "
                                 f"check {self.base_url}/dataset/{slug}")
        if resp.status_code != 200:
            raise ApiError(f"{what}: HTTP {resp.status_code} at {url}; try again later")
        kind = sniff(resp.content[:HEAD_BYTES])
        try:
            data = json.loads(resp.content)
        except ValueError as e:
            found = kind or "not JSON"
            raise ApiError(f"{what}: the catalogue at {url} is {found}; the London Datastore may be down or "
                           "changed — try again later") from e
        return parse_dataset(slug, data)

    def resolve(self, resource: Resource) -> str:
        """Absolute download URL of a resource (catalogue URLs may be relative to the site)."""
        return urljoin(self.base_url + "/", resource.url)

    # -- downloads ---------------------------------------------------------------------------

    def _validators_path(self, url: str) -> Path:
        return self.dir / "validators" / f"{hashlib.sha256(url.encode()).hexdigest()[:32]}.json"

    def _known(self, url: str) -> dict[str, Any] | None:
        try:
            meta = json.loads(self._validators_path(url).read_text())
        except (OSError, ValueError):
            return None
        return meta if (self.dir / "files" / meta.get("file", "")).is_file() else None

    def download(self, resource: Resource, *, expect: str,
                 progress: Callable[[int, int], None] | None = None) -> Download:
        """Fetch a resource unless the copy from an earlier download is still current.

        Parameters
        ----------
        resource
            From :func:`pick_resource`.
        expect
            ``"csv"`` or ``"xlsx"``: what the file must be.
        progress
            ``progress(bytes_done, bytes_total)`` while downloading (total 0 when unknown).

        Raises
        ------
        InputFileError
            When the file is not what was asked for (an HTML page, another format) or is
            truncated, naming the dataset and title; nothing is kept.
        ApiError, OfflineError
            When the Datastore cannot be reached or keeps failing.
        """
        url = self.resolve(resource)
        known = self._known(url) if self.remember else None
        headers: dict[str, str] = {}
        if known:
            if known.get("etag"):
                headers["If-None-Match"] = known["etag"]
            if known.get("last_modified"):
                headers["If-Modified-Since"] = known["last_modified"]
        files = self.dir / "files"
        files.mkdir(parents=True, exist_ok=True)
        tmp = files / f".part-{uuid.uuid4().hex}"
        digest: dict[str, Any] = {}

        def save(resp: requests.Response) -> None:
            h, md5 = hashlib.sha256(), hashlib.md5()
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            with open(tmp, "wb") as fh:
                for chunk in resp.iter_content(chunk_size=CHUNK):
                    fh.write(chunk)
                    h.update(chunk)
                    md5.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
            if total and done < total:
                raise requests.exceptions.ChunkedEncodingError(f"got {done:,} of {total:,} bytes")
            digest.update(sha256=h.hexdigest(), md5=md5.hexdigest(), size=done)
            self.bytes_downloaded += done

        try:
            resp = self._send(url, f"{resource.label} (download)", headers=headers, on_ok=save, stream=True)
            if resp.status_code == 304 and known:
                resp.close()
                if progress is not None:
                    progress(1, 1)
                return Download(resource, files / known["file"], url, known["sha256"], int(known.get("size", 0)),
                                known.get("etag", ""), known.get("last_modified", ""), known["fetched_at"], False)
            if resp.status_code == 404:
                raise CatalogueError(f"{resource.label}: the catalogue lists {url} but it answers HTTP 404; "
                                     "the release may be mid-update — try again later (nothing was changed)")
            if resp.status_code != 200:
                raise ApiError(f"{resource.label}: HTTP {resp.status_code} from {url[:200]}; try again later "
                               "(nothing was changed)")
            self._check(tmp, resource, expect)
            _check_stated(resource, digest)
            name = f"{digest['sha256'][:16]}-{_safe_name(resource.title)}"
            final = files / name
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        fetched_at = time.strftime("%Y-%m-%dT%H:%M:%S")
        fresh = not (known and known.get("sha256") == digest["sha256"])
        if known and not fresh:
            fetched_at = known["fetched_at"]
        return Download(resource, final, url, digest["sha256"], digest["size"], resp.headers.get("ETag", ""),
                        resp.headers.get("Last-Modified", ""), fetched_at, fresh)

    def confirm(self, download: Download) -> None:
        """Keep a download's validators (ETag, Last-Modified), once the caller has checked the whole file.

        Only then may the next run be answered 304 for it: a body that failed a check must
        be downloaded again, never excused by a validator saved with it.
        """
        if not self.remember or (not download.fresh and self._known(download.url)):
            return
        meta = {"url": download.url, "title": download.resource.title, "etag": download.etag,
                "last_modified": download.last_modified, "sha256": download.sha256, "size": download.size,
                "file": download.path.name, "fetched_at": download.fetched_at}
        path = self._validators_path(download.url)
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        part.write_text(json.dumps(meta, indent=1))
        os.replace(part, path)

    def fingerprint(self, resource: Resource) -> tuple[str, str]:
        """The sha256 of a resource's current body and its first line, writing nothing (``update --check``).

        The whole body is read (the Met's file is a few MB), so the check compares what
        is published with what is held by content, not by address.
        """
        url = self.resolve(resource)
        got: dict[str, Any] = {}

        def read(resp: requests.Response) -> None:
            h, head = hashlib.sha256(), b""
            for chunk in resp.iter_content(chunk_size=CHUNK):
                h.update(chunk)
                if b"\n" not in head and len(head) < 65536:
                    head += chunk
            got.update(sha256=h.hexdigest(), head=head)

        resp = self._send(url, f"{resource.label} (checksum)", on_ok=read, stream=True)
        if resp.status_code != 200:
            raise ApiError(f"{resource.label}: HTTP {resp.status_code} from {url[:200]}; try again later")
        head = got.get("head", b"")
        what = sniff(head[:HEAD_BYTES])
        if what is not None:
            raise InputFileError(resource.label, f"is {what}, not a CSV file", hint="try again later")
        return got["sha256"], head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").strip("\r")

    def _check(self, path: Path, resource: Resource, expect: str) -> None:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
        what = sniff(head)
        label = resource.label
        if expect == "xlsx":
            if what != EXCEL:
                found = what or "text, not a workbook"
                raise InputFileError(label, f"is {found}, not an Excel workbook (.xlsx)",
                                     hint="the Datastore may be serving an error page; try again later "
                                          "(nothing was changed)")
            return
        if what is not None:
            raise InputFileError(label, f"is {what}, not a CSV file",
                                 hint="the Datastore may be serving an error page; try again later "
                                      "(nothing was changed)")
        check_complete_csv(path, label)
