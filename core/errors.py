"""The small error hierarchy every layer raises and every page catches.

Each error carries a message that names the input, says what is wrong and what to do,
so the CLI and the app can show it as it is, without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class CrimeTrustError(Exception):
    """Base class: an expected failure with a message fit for a user."""


class InputFileError(CrimeTrustError, ValueError):
    """A raw input file is unreadable or malformed.

    Parameters
    ----------
    path
        The file (or archive member) at fault.
    problem
        What is wrong, in plain words.
    line
        1-based line number in the file, when one line is at fault.
    hint
        What the user can do about it.
    """

    def __init__(self, path: str | Path, problem: str, *, line: int | None = None, hint: str = "") -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        self.hint = hint
        where = f"{self.path}, line {line}" if line is not None else self.path
        msg = f"{where}: {problem}"
        if hint:
            msg += f" — {hint}"
        super().__init__(msg)


class StoreError(CrimeTrustError):
    """The store is missing, incomplete or unreadable."""


class UnknownAreaError(CrimeTrustError, KeyError):
    """An area code that is not a known ward, borough or London."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly.
        return str(self.args[0]) if self.args else ""


class ApiError(CrimeTrustError):
    """A publisher (the police.uk API, the London Datastore) failed after bounded retries, or answered nonsense."""


class OfflineError(ApiError):
    """A publisher cannot be reached from this machine (its message is one sentence)."""


class CatalogueError(ApiError):
    """A publisher's catalogue lacks the file this project reads (renamed or removed); says what it found."""


class AnalysisInputError(CrimeTrustError, ValueError):
    """A crime type, month, measure or setting that the loaded data does not have.

    The message names the bad value and the allowed ones, so the CLI prints it as one line
    and a page shows it with ``st.error`` as it is.
    """
