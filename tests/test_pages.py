"""AppTest tests for every page of the dashboard, run against the embedded snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]


@pytest.fixture(autouse=True)
def _snapshot_only(tmp_path, monkeypatch):
    """Point the store at an empty folder so every page reads the committed snapshot."""
    monkeypatch.setenv("CRIME_TRUST_STORE", str(tmp_path / "no-store"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_runs_and_says_which_data(page):
    at = AppTest.from_file(str(page), default_timeout=60).run()
    assert not at.exception
    assert any("snapshot" in c.value for c in at.caption)
