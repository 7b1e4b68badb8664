"""Size limits on input files, checked before a byte is parsed.

A file larger than the limit is refused by its size alone (``stat`` or, for an archive
member, the size its zip directory declares), so a mistaken 500 MB upload or a CLI
argument pointing at the wrong file cannot exhaust memory. Compressed inputs are also
bounded while they are decompressed (see ``read_bounded``), so a small ``.gz`` cannot
expand without limit.

The limit is ``$CRIME_TRUST_MAX_INPUT_MB`` (default 400 MB): a month of every crime type
for the Met is about 25 MB uncompressed, and a generated one-million-row benchmark file
about 250 MB.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from core.errors import InputFileError

ENV_VAR = "CRIME_TRUST_MAX_INPUT_MB"
DEFAULT_MAX_INPUT_MB = 400
_MB = 1024**2


def max_input_bytes() -> int:
    """The per-file limit in bytes, read from ``$CRIME_TRUST_MAX_INPUT_MB`` at call time."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_MAX_INPUT_MB * _MB
    try:
        mb = float(raw)
    except ValueError:
        raise InputFileError(f"${ENV_VAR}", f"{raw!r} is not a number of megabytes",
                             hint=f"set it to a number such as {DEFAULT_MAX_INPUT_MB}, or unset it") from None
    if mb <= 0:
        raise InputFileError(f"${ENV_VAR}", f"{raw!r} must be above 0", hint="set a positive number of megabytes")
    return int(mb * _MB)


def _mb(n: int) -> str:
    return f"{n / _MB:,.0f} MB" if n >= _MB else f"{n / _MB:,.2f} MB"


def _refuse(name: str | Path, size: int, limit: int, what: str = "is") -> InputFileError:
    return InputFileError(name, f"{what} {_mb(size)}; the limit is {_mb(limit)}",
                          hint=f"split it into smaller files or raise ${ENV_VAR}")


def check_size(path: str | Path, limit_bytes: int | None = None, *, size: int | None = None) -> None:
    """Refuse ``path`` when it is larger than ``limit_bytes`` (default: ``max_input_bytes()``).

    Parameters
    ----------
    path
        The file, or an archive member's display name when ``size`` is given.
    limit_bytes
        The limit; ``None`` reads ``$CRIME_TRUST_MAX_INPUT_MB``.
    size
        The size to check instead of ``stat``-ing ``path`` (for archive members).

    Raises
    ------
    InputFileError
        ``"<file>: is 600 MB; the limit is 400 MB — split it … or raise $CRIME_TRUST_MAX_INPUT_MB"``.
    """
    limit = max_input_bytes() if limit_bytes is None else limit_bytes
    n = Path(path).stat().st_size if size is None else size
    if n > limit:
        raise _refuse(path, n, limit)


def read_bounded(fh: IO[bytes], name: str | Path, limit_bytes: int | None = None) -> bytes:
    """Read a (decompressing) stream, refusing it once it yields more than the limit."""
    limit = max_input_bytes() if limit_bytes is None else limit_bytes
    data = fh.read(limit + 1)
    if len(data) > limit:
        raise _refuse(name, len(data), limit, what="expands to more than")
    return data
