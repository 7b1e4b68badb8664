"""One writer at a time on a store, and no version deleted under a reader.

**The writer's lock.** ``update``, ``refresh``, ``build`` and the app's buttons take an
exclusive ``flock`` on ``.<store>.lock`` beside the store folder (so the store holds only
data, and an update that keeps nothing creates no store) for the whole run (:func:`store_lock`). A second run waits a
little (``CRIME_TRUST_LOCK_WAIT_S``, default 10 s) and then stops with
:class:`StoreBusyError`, which names the run holding the lock; it has changed nothing. The
kernel drops a ``flock`` when its process dies, however it dies, so a killed run never
leaves a lock that blocks the next one; the holder's line it wrote into the file is left
behind, and the next run reads it and says that a previous run was cut off (a *stale* lock).

**Readers' leases.** A process that keeps a version open (the app) holds a shared
``flock`` on that version's ``manifest.json`` (:func:`lease_version`). Pruning old versions
(``data_sources.store.versions``) deletes only versions on which it can take an exclusive lock
at once, so a version someone may still be reading stays until a later build.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from core.errors import CrimeTrustError

#: Seconds a second run waits for the first before it gives up.
DEFAULT_WAIT_S = 10.0


class StoreBusyError(CrimeTrustError):
    """Another run holds the store's lock; this one changed nothing."""


@dataclass(frozen=True)
class Holder:
    """Who held (or holds) the lock: process id, host and start time, as written into the lock file."""

    pid: int
    host: str
    started: str

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        parts = text.strip().split(" ", 2)
        if len(parts) != 3 or not parts[0].isdigit():
            return None
        return cls(int(parts[0]), parts[1], parts[2])

    def describe(self) -> str:
        return f"process {self.pid} on {self.host}, started {self.started}"


def lock_path(store_dir: Path) -> Path:
    """The lock file of a store: ``.<name>.lock`` beside it (``./.store.lock`` for ``./store``)."""
    return store_dir.with_name(f".{store_dir.name}.lock")


def wait_seconds() -> float:
    """How long a second run waits for the lock (``$CRIME_TRUST_LOCK_WAIT_S``)."""
    try:
        return max(0.0, float(os.environ.get("CRIME_TRUST_LOCK_WAIT_S", DEFAULT_WAIT_S)))
    except ValueError:
        return DEFAULT_WAIT_S


@contextmanager
def store_lock(store_dir: Path, *, wait_s: float | None = None, what: str = "update",
               say: Callable[[str], None] | None = None) -> Iterator[Holder | None]:
    """Hold the store's exclusive lock for the block; yield the stale holder a killed run left, if any.

    Raises
    ------
    StoreBusyError
        When another run still holds the lock after ``wait_s`` seconds.
    """
    wait_s = wait_seconds() if wait_s is None else wait_s
    path = lock_path(store_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")  # noqa: SIM115 - held for the whole block
    try:
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(fh)
                if time.monotonic() >= deadline:
                    who = holder.describe() if holder else "another process"
                    raise StoreBusyError(
                        f"another update is running on the store {store_dir} ({who}); waited {wait_s:g} s. "
                        f"This {what} changed nothing; run it again once that one has finished") from None
                if say is not None and not told:
                    say(f"waiting up to {wait_s:g} s for another update to finish "
                        f"({holder.describe() if holder else 'another process'})")
                    told = True
                time.sleep(min(0.2, max(0.01, deadline - time.monotonic())))
        stale = _holder(fh)
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()} {socket.gethostname()} {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        fh.flush()
        try:
            yield stale
        finally:
            fh.seek(0)
            fh.truncate()
            fh.flush()
            fcntl.flock(fh, fcntl.LOCK_UN)
    finally:
        fh.close()


def _holder(fh: IO[str]) -> Holder | None:
    fh.seek(0)
    return Holder.parse(fh.read())


def lease_version(version_dir: Path) -> IO[bytes] | None:
    """A shared lock on a version, held as long as the returned file is open (None: nothing to lease)."""
    try:
        fh = open(version_dir / "manifest.json", "rb")  # noqa: SIM115 - the caller keeps it open
    except OSError:
        return None
    fcntl.flock(fh, fcntl.LOCK_SH)
    return fh


def in_use(version_dir: Path) -> bool:
    """Whether some process holds a lease on ``version_dir`` right now."""
    try:
        fh = open(version_dir / "manifest.json", "rb")  # noqa: SIM115 - closed by the with below
    except OSError:
        return False
    with fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False
