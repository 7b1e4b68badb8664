"""Issue 20, faults 8 and 9, in the app (AppTest): it follows a finished update, and visitors cannot write.

8. A page open while ``update`` builds a new version shows the new version at its next
   run, and says so; the version it showed is kept for it until then (leased).
9. ``CRIME_TRUST_READ_ONLY=1`` removes every write action (Update all, Fetch from police.uk
   and rebuild, Rebuild the store now, the trust-table upload); an operator password
   (stored hashed in secrets) hides them until it is entered; nothing set, they are shown.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from data_sources.build.build import build_store
from data_sources.fetch.update import update_store
from data_sources.settings import get_settings
from data_sources.store.lock import store_lock
from data_sources.store.seed import base_folder
from data_sources.store.versions import current_version_dir
from tests.api_stub import StubApi
from tests.datastore_stub import StubDatastore
from tests.update_fixtures import publish_all, settings_for
from ui.access import SECRET, check_password, hash_password

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "5_Data_and_method.py")
WRITE_KEYS = {"update_all", "refresh_go", "rebuild"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """A store updated once from the seed (the Met's release), and the settings pointing at it."""
    root = tmp_path_factory.mktemp("app")
    with StubApi({}, months=["2025-02"]) as api, StubDatastore() as ds:
        publish_all(ds, shared_data)
        settings = settings_for(root, get_settings().snapshot_dir, api, ds)
        update_store(settings, sources=["mps_ward"])
    return settings


@pytest.fixture
def env(built, monkeypatch: pytest.MonkeyPatch):
    for name, value in {"CRIME_TRUST_STORE": str(built.store_dir), "CRIME_TRUST_CACHE": str(built.cache_dir),
                        "CRIME_TRUST_DATA": str(built.data_dir), "POLICE_API_URL": "http://127.0.0.1:9/api",
                        "LONDON_DATASTORE_URL": "http://127.0.0.1:9"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CRIME_TRUST_READ_ONLY", raising=False)
    return built


def _buttons(at: AppTest) -> set[str]:
    return {b.key for b in at.button if b.key}


def _has_uploader(at: AppTest) -> bool:
    return any(getattr(e, "type", "") == "file_uploader" for e in at.main)  # AppTest lists it as an unknown element


def test_8_an_open_page_shows_the_new_version_at_its_next_run_and_says_so(env) -> None:
    settings = env
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    first = current_version_dir(settings.store_dir)
    assert first is not None and not at.info
    for _ in range(2):  # updates in another process finish: enough new versions to prune the page's one
        with store_lock(settings.store_dir):
            manifest = build_store(base_folder(settings.store_dir, settings.snapshot_dir), settings.store_dir)
    assert current_version_dir(settings.store_dir) != first
    assert (first / "manifest.json").is_file()  # the page still holds it: not deleted under it
    at.run()
    assert not at.exception and not at.error
    assert f"built {manifest['built_at']}" in at.caption[0].value
    assert any("The data was updated while the app was open" in i.value for i in at.info)
    at.run()
    assert not any("The data was updated" in i.value for i in at.info)  # said once


def test_9_nothing_set_on_ones_own_machine_shows_the_write_actions(env) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert _buttons(at) >= WRITE_KEYS and _has_uploader(at)


def test_9_read_only_removes_every_write_action(env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRIME_TRUST_READ_ONLY", "1")
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.secrets[SECRET] = hash_password("open sesame", iterations=1000)  # read only wins over a password
    at.run()
    assert not at.exception
    assert not WRITE_KEYS & _buttons(at) and "confirm_upload" not in _buttons(at) and not _has_uploader(at)
    assert "operator_password" not in {t.key for t in at.text_input}
    assert any(i.value.startswith("Read only: on this server") for i in at.info)


def test_9_an_operator_password_unlocks_the_write_actions_for_that_session(env) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.secrets[SECRET] = hash_password("open sesame", iterations=1000)
    at.run()
    assert not WRITE_KEYS & _buttons(at) and not _has_uploader(at)
    at.text_input(key="operator_password").input("guess")
    at.button(key="operator_unlock").click().run()
    assert any("not the operator password" in e.value for e in at.error)
    assert not WRITE_KEYS & _buttons(at)
    at.text_input(key="operator_password").input("open sesame")
    at.button(key="operator_unlock").click().run()
    assert not at.exception and _buttons(at) >= WRITE_KEYS
    fresh = AppTest.from_file(PAGE, default_timeout=120)  # another visitor's session stays locked
    fresh.secrets[SECRET] = at.secrets[SECRET]
    fresh.run()
    assert not WRITE_KEYS & _buttons(fresh)


def test_password_hash_is_salted_and_checked_in_constant_time_form() -> None:
    one, two = hash_password("pw", iterations=1000), hash_password("pw", iterations=1000)
    assert one != two and "pw" not in one  # a fresh salt each time, never the password itself
    assert check_password("pw", one) and check_password("pw", two)
    assert not check_password("pW", one) and not check_password("pw", "garbage") and not check_password("pw", "")
