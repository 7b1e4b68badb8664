"""Uploading a trust table in Chromium: the four everyday cases on the Data and method page.

A European Excel file (semicolons, decimal commas, BOM, CRLF, day-first dates) is accepted;
a PNG renamed .csv is named for what it is; a file over the limit is refused with the same
limit the box advertises; and the user's file name is kept through the preview, the
confirmation and the file the build reads. The server runs on its own store folder, so
what a save writes can be checked on disk. Screenshots go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from data_sources.store.uploads import MAX_UPLOAD_BYTES, MAX_UPLOAD_MB
from tests.browser_server import (
    ARTIFACTS,
    BROWSER_TEST_MARKS,
    IDLE_SELECTOR,
    RUN_DONE_JS,
    WATCH_RUNS_JS,
    Server,
    running_app,
)
from tests.corpus import EUROPEAN_EXCEL, trust_text

pytestmark = BROWSER_TEST_MARKS
playwright_api = pytest.importorskip("playwright.sync_api")

SHOTS = ARTIFACTS / "screenshots"
TIMEOUT_MS = 60_000
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)


@pytest.fixture(scope="module")
def store() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="browser-uploads-") as tmp:
        yield Path(tmp) / "store"


@pytest.fixture(scope="module")
def server(store: Path) -> Iterator[Server]:
    with running_app(store, log_dir=store.parent) as srv:
        yield srv


@pytest.fixture()
def page(browser, server: Server, store: Path) -> Iterator[object]:
    """The Data and method page in a fresh context, no earlier upload kept; afterwards only 127.0.0.1 was used."""
    shutil.rmtree(store / "inputs", ignore_errors=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    requests: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    pg.goto(f"{server.url}/Data_and_method")
    pg.locator("h1").first.wait_for()
    pg.wait_for_selector(IDLE_SELECTOR)
    pg.locator('[data-testid="stFileUploader"]').wait_for()
    yield pg
    exceptions = pg.locator('[data-testid="stException"]').count()
    context.close()
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in requests if urlsplit(u).scheme in ("http", "https"))
    assert exceptions == 0, "an exception box was shown"
    assert not server.tracebacks(), server.tracebacks()[0][-2000:]


def _upload(page, name: str, content: bytes, *, rerun: bool = True) -> None:
    """Drop a file on the trust-table box (as choosing it in the file dialog does) and wait for the page."""
    box = page.locator('[data-testid="stFileUploader"] input[type=file]')
    mark = page.evaluate(WATCH_RUNS_JS)
    box.set_input_files({"name": name, "mimeType": "text/csv", "buffer": content})
    if rerun:
        page.wait_for_function(RUN_DONE_JS, arg=mark, timeout=TIMEOUT_MS)


def _click(page, button: str) -> None:
    mark = page.evaluate(WATCH_RUNS_JS)
    page.get_by_role("button", name=button).click()
    page.wait_for_function(RUN_DONE_JS, arg=mark, timeout=TIMEOUT_MS)


def _alerts(page, kind: str) -> str:
    return "\n".join(page.locator(f'[data-testid="stAlertContent{kind}"]').all_inner_texts())


def _uploads(store: Path) -> dict[str, bytes]:
    folder = store / "inputs" / "uploads"
    return {p.name: p.read_bytes() for p in folder.glob("*")} if folder.is_dir() else {}


def _shot(page, name: str) -> None:
    page.locator('[data-testid="stFileUploader"]').scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"upload-{name}.png"), full_page=True)


def test_european_excel_file_is_accepted_and_kept(page, store):
    name = "Lambeth wards (Excel).csv"
    _upload(page, name, EUROPEAN_EXCEL.encode())
    success = _alerts(page, "Success")
    assert f"{name}: 3 rows read and checked (separated by semicolons, with decimal commas)" in success
    assert _alerts(page, "Error") == "" and _uploads(store) == {}   # checked, shown, not yet saved
    _shot(page, "european-excel-preview")
    _click(page, f"Save {name} for the next build")
    assert f"Saved {name} as inputs/uploads/{name}" in _alerts(page, "Success")
    assert _uploads(store) == {name: EUROPEAN_EXCEL.encode()}
    _shot(page, "european-excel-saved")


def test_png_renamed_csv_is_named_for_what_it_is(page, store):
    _upload(page, "chart.csv", PNG)
    error = _alerts(page, "Error")
    assert "chart.csv: this is a PNG image, not a CSV" in error and "Nothing was saved" in error
    assert "UTF-8" not in error
    assert page.get_by_role("button", name="Save chart.csv for the next build").count() == 0
    assert _uploads(store) == {}
    _shot(page, "png")


def test_oversize_file_is_refused_with_the_advertised_limit(page, store):
    box = page.locator('[data-testid="stFileUploader"]')
    assert f"{MAX_UPLOAD_MB}MB per file" in box.inner_text()          # what the box advertises
    assert f"Up to {MAX_UPLOAD_MB} MB." in page.locator('[data-testid="stMain"]').inner_text()  # what the page says
    _upload(page, "everything.csv", b"a,b\n" + b"1,2\n" * (MAX_UPLOAD_BYTES // 4), rerun=False)
    box.get_by_text("File must be").wait_for()
    assert f"File must be {MAX_UPLOAD_MB}.0MB or smaller" in box.inner_text()   # the same limit, refused
    page.wait_for_timeout(1000)
    assert _alerts(page, "Success") == "" and _uploads(store) == {}
    _shot(page, "oversize")


def test_users_file_name_is_kept_through_preview_confirmation_and_replacement(page, store):
    first, second = "ward trust 2023.csv", "ward trust 2024 – Southwark.csv"
    _upload(page, first, trust_text().encode())
    _click(page, f"Save {first} for the next build")
    _upload(page, second, trust_text(sep=";", decimal=",").encode())
    # The preview's source_file column names the user's file (read from the grid's accessible table).
    page.locator('[data-testid="stDataFrame"] table').filter(has_text=second).wait_for(state="attached", timeout=20_000)
    assert f"Saving replaces the earlier upload {first}." in page.locator('[data-testid="stMain"]').inner_text()
    _shot(page, "name-preview")
    _click(page, f"Save {second} for the next build")
    assert f"Saved {second} as inputs/uploads/{second}, replacing {first}" in _alerts(page, "Success")
    assert list(_uploads(store)) == [second]
    _shot(page, "name-saved")
