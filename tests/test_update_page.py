"""The Data and method page against local stand-ins for police.uk and the London Datastore (AppTest).

A planning team's path: see how current each source is, check what the publishers have, press
"Update all", and find the newer months on every page, on a machine with no raw data folder
(the first update seeds the store from the embedded snapshot).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data_sources.build.currency import month_words
from tests.api_stub import StubApi
from tests.datastore_stub import StubDatastore
from tests.update_fixtures import NEW_MONTH, london_month, publish_all

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "5_Data_and_method.py")

pytestmark = pytest.mark.slow


@pytest.fixture
def publishers(shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Both stand-ins, with the environment of a fresh clone pointed at them."""
    with StubApi({NEW_MONTH: london_month(shared_data)}, months=["2025-01", "2025-02", NEW_MONTH]) as api, \
            StubDatastore() as ds:
        facts = publish_all(ds, shared_data)
        for name, value in {"POLICE_API_URL": api.url, "LONDON_DATASTORE_URL": ds.url,
                            "CRIME_TRUST_STORE": str(tmp_path / "store"), "CRIME_TRUST_CACHE": str(tmp_path / "cache"),
                            "CRIME_TRUST_DATA": str(tmp_path / "no-raw-data")}.items():
            monkeypatch.setenv(name, value)
        yield facts


def _table(at: AppTest):
    """The currency table (a static table, indexed by what each source is)."""
    return at.table[0].value


def test_check_then_update_all_brings_every_source_forward(publishers: dict) -> None:
    at = AppTest.from_file(PAGE, default_timeout=180).run()
    assert not at.exception
    assert "Crime to February 2025 (police.uk) and June 2025 (Met)" in at.caption[0].value
    assert (_table(at)["newest published"] == "not checked").all()

    at.button(key="update_check").click().run()
    table = _table(at)
    assert table.loc["police.uk street-level crime", "newest published"] == "March 2025"
    assert table.loc["police.uk street-level crime", "an update would fetch"]
    stops = table.loc["police.uk stop and search"]  # the stand-in lists no stop-and-search month: it says so
    assert stops["newest held"] == "April 2025" and stops["newest published"] == "unknown"
    assert "police.uk lists no stop and search month for metropolitan, city-of-london" in stops["an update would fetch"]

    at.button(key="update_all").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("police_uk" in s.value for s in at.success)
    table = _table(at)
    assert table.loc["police.uk street-level crime", "newest held"] == "March 2025"
    newest_met = max(publishers["mps_ward"]["months"])  # the stand-in's release, moved past the data's
    assert "Crime to March 2025 (police.uk)" in at.caption[0].value
    assert table.loc["Met ward-level recorded crime", "newest held"] == month_words(newest_met)
    newest_trust = datetime.strptime(table.loc["MOPAC Public Attitude Survey, boroughs", "newest held"], "%B %Y")
    assert newest_trust > datetime(2026, 3, 1)  # the stand-in's workbook reaches a quarter past the snapshot
    assert "built store" in at.caption[0].value


def test_offline_says_so_in_one_sentence_and_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unreachable = {"POLICE_API_URL": "http://127.0.0.1:9/api", "LONDON_DATASTORE_URL": "http://127.0.0.1:9",
                   "CRIME_TRUST_STORE": str(tmp_path / "store"), "CRIME_TRUST_CACHE": str(tmp_path / "cache")}
    for name, value in unreachable.items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    for key in ("update_check", "update_all"):
        at.button(key=key).click().run()
        assert not at.exception and not at.error
        assert [w.value for w in at.warning] == [
            "No internet connection: showing the data already in the embedded snapshot; nothing was changed."]
    assert not (tmp_path / "store").exists()
