"""AppTest tests for every page of the dashboard, run against the embedded snapshot."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
TIMEOUT = 60


@pytest.fixture(autouse=True)
def _snapshot_only(tmp_path, monkeypatch):
    """Point the store at an empty folder so every page reads the committed snapshot."""
    monkeypatch.setenv("CRIME_TRUST_STORE", str(tmp_path / "no-store"))


def run(page: str, **params: str | list[str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("caption", "markdown", "info", "warning", "error", "title", "header", "subheader")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def deck_json(at: AppTest) -> str:
    return at.get("deck_gl_json_chart")[0].proto.json


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_runs_and_says_which_data(page):
    at = run(str(page.relative_to(ROOT)))
    assert not at.exception
    assert "snapshot" in texts(at)


def test_map_page_controls():
    at = run("pages/1_Map.py")
    assert not at.exception
    flagged = int(at.metric[0].value)
    assert flagged > 0
    assert "trust is the borough figure" in texts(at)
    assert len(deck_json(at)) < 1_500_000
    at.radio(key="level").set_value("borough").run()
    assert not at.exception
    assert int(at.metric[0].value) < flagged
    at.selectbox(key="measure").set_value("harm").run()
    assert "harm" in texts(at)
    at.radio(key="colour").set_value("measure").run()
    assert "Colours are ranks" in texts(at)
    at.selectbox(key="src").set_value("police_uk").run()
    assert not at.exception
    assert "2022" in texts(at)
    at.checkbox(key="points").check().run()
    assert "need the built store" in texts(at)


def test_unknown_url_values_fall_back_with_notice():
    at = run("pages/1_Map.py", src="../../etc/passwd", measure="nonsense")
    assert not at.exception
    assert at.selectbox(key="src").value == "mps_ward"
    assert "not one this data has" in texts(at)
