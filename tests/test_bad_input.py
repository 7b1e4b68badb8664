"""Every malformed input in tests/corpus.py gives exactly one clear message; every awkward
but valid one parses to the right table.

A clear message is one ``InputFileError`` (a ``CrimeTrustError``) on one line that names
the input file, the line when one line is at fault, the problem, and what to do.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from pathlib import Path

import pytest

from core.errors import CrimeTrustError, InputFileError
from data_sources.read import _limits
from tests.corpus import CASES, MB, Case, run

BAD = [c for c in CASES if not c.accepted]
GOOD = [c for c in CASES if c.accepted]


@pytest.fixture(autouse=True)
def _default_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every case under the default size limit, whatever the caller's environment says."""
    monkeypatch.delenv(_limits.ENV_VAR, raising=False)


def _limit_for(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    if case.reader == "street_small_limit":
        monkeypatch.setenv(_limits.ENV_VAR, "1")


@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
def test_bad_input_gives_one_clear_message(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _limit_for(case, monkeypatch)
    path = case.make(tmp_path / "in")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the error is the one message: no warnings on the side
        with pytest.raises(CrimeTrustError) as info:
            run(case, path, tmp_path)
    err = info.value
    assert isinstance(err, InputFileError), f"{type(err).__name__} is not an InputFileError: {err}"
    msg = str(err)
    assert "\n" not in msg and "Traceback" not in msg, msg
    # names the input file ...
    assert path.name in msg, f"message does not name {path.name!r}: {msg}"
    assert path.name in Path(err.path.split("!")[0]).name or path.name in err.path, err.path
    # ... the line when one line is at fault ...
    if case.line is not None:
        assert err.line == case.line, f"expected line {case.line}, got {err.line}: {msg}"
        assert f", line {case.line}:" in msg, msg
    # ... the problem ...
    for fragment in case.problem:
        assert fragment.lower() in msg.lower(), f"{fragment!r} not in message: {msg}"
    # ... and what to do.
    assert err.hint, f"no hint on what to do: {msg}"
    assert case.hint.lower() in err.hint.lower(), f"{case.hint!r} not in hint: {msg}"
    assert msg.endswith(err.hint)


@pytest.mark.parametrize("case", GOOD, ids=[c.id for c in GOOD])
def test_awkward_but_valid_input_is_accepted(case: Case, tmp_path: Path) -> None:
    path = case.make(tmp_path / "in")
    result = run(case, path, tmp_path)
    assert case.check is not None
    case.check(result)


def test_corpus_is_large_and_covers_every_source() -> None:
    by_reader = Counter(c.reader.split("_")[0] if c.reader.startswith("street") else c.reader for c in CASES)
    assert len(CASES) >= 30, len(CASES)
    assert set(by_reader) == {"street", "mps_ward", "pas", "trust", "population"}, by_reader
    assert all(n >= 3 for n in by_reader.values()), by_reader


def test_size_guard_refuses_by_size_without_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 600 MB file is refused from its size alone: quickly, and without opening it."""
    path = tmp_path / "2021-06-metropolitan-street.csv"
    with open(path, "wb") as fh:
        fh.truncate(600 * MB)
    monkeypatch.delenv(_limits.ENV_VAR, raising=False)
    opened: list[str] = []
    real_open = open

    def spy(file: object, *a: object, **k: object) -> object:
        opened.append(str(file))
        return real_open(file, *a, **k)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", spy)
    from data_sources.read.police_uk_csv import discover_street_files
    with pytest.raises(InputFileError, match=r"is 600 MB; the limit is 400 MB") as info:
        discover_street_files(tmp_path)
    assert str(path) not in opened
    assert "CRIME_TRUST_MAX_INPUT_MB" in info.value.hint


def test_size_limit_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"x" * (2 * MB))
    monkeypatch.setenv(_limits.ENV_VAR, "1")
    with pytest.raises(InputFileError, match=r"is 2 MB; the limit is 1 MB"):
        _limits.check_size(path)
    monkeypatch.setenv(_limits.ENV_VAR, "3")
    _limits.check_size(path)
    _limits.check_size(path, 3 * MB)
    with pytest.raises(InputFileError, match="the limit is 1 MB"):
        _limits.check_size(path, 1 * MB)
    monkeypatch.setenv(_limits.ENV_VAR, "lots")
    with pytest.raises(InputFileError, match=re.escape("'lots' is not a number of megabytes")):
        _limits.check_size(path)
