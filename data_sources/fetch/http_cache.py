"""On-disk cache of successful API responses, so a refresh that is interrupted resumes for free.

Each response body is stored in its own file named by a hash of the request (method, URL,
sorted parameters or form body, and an optional edition tag such as the API's
``crime-last-updated`` date). Only 200 answers whose JSON parsed are stored, so an error
or a truncated body is never replayed. Writes go to a temporary file that is then renamed
over the target, so a killed process leaves either the whole answer or nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


def request_key(method: str, url: str, params: Mapping[str, str] | None = None, edition: str = "") -> str:
    """Stable hex key of a request; parameter order does not matter."""
    payload = json.dumps([method.upper(), url, sorted((params or {}).items()), edition], separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class HttpCache:
    """Response bodies keyed by :func:`request_key`, under ``root``.

    Parameters
    ----------
    root
        Folder for the cache (normally ``Settings.cache_dir / "police_api"``); created on
        first write.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> bytes | None:
        """Return the stored body for ``key``, or None when the request was never completed."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, key: str, body: bytes) -> None:
        """Store ``body`` atomically (temporary file in the same folder, then rename)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key[:8]}-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self, key: str) -> None:
        """Forget ``key`` (nothing happens when it was never stored)."""
        self._path(key).unlink(missing_ok=True)

    def __contains__(self, key: str) -> bool:
        return self._path(key).is_file()
