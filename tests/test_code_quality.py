"""Lint and type checks, so CI fails on them like on any other test.

ruff (with pydocstyle's numpy convention) over the whole project; mypy over the pure
packages (data_sources, geo, analysis), as configured in pyproject.toml.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("command", [["ruff", "check", "."], ["mypy"]], ids=["ruff", "mypy"])
def test_clean(command: list[str]) -> None:
    if shutil.which(command[0], path=str(Path(sys.executable).parent)) is None:
        pytest.skip(f"{command[0]} is not installed in this environment")
    run = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


PURE_PACKAGES = ("data_sources", "geo", "analysis")


def _sources(*folders: str) -> list[Path]:
    return [p for folder in folders for p in sorted((ROOT / folder).glob("*.py"))]


@pytest.mark.parametrize("path", _sources(*PURE_PACKAGES), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pure_packages_neither_draw_nor_cache(path: Path) -> None:
    """Streamlit and caching live in ui/ only: a notebook or a job imports the rest unchanged."""
    text = path.read_text()
    assert "import streamlit" not in text
    assert not re.search(r"@(functools\.)?(lru_cache|cache)\b|import .*\blru_cache\b", text)


@pytest.mark.parametrize("path", [ROOT / "app.py", *_sources("pages")], ids=lambda p: p.name)
def test_pages_change_url_and_session_only_through_state(path: Path) -> None:
    text = path.read_text()
    for forbidden in ("st.query_params[", "st.session_state[", "del st.query_params", "st.switch_page("):
        assert forbidden not in text, f"{path.name} uses {forbidden}; add a helper to ui/state.py"
