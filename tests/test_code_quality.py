"""Lint and type checks, so CI fails on them like on any other test.

ruff (with pydocstyle's numpy convention) over the whole project; mypy over the pure
packages (data_sources, geo, analysis), as configured in pyproject.toml.
"""

from __future__ import annotations

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
