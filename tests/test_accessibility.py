"""Accessibility: axe-core (vendored from npm, injected by the test) on every page, normal and meeting mode.

Each page is opened in headless Chromium against the snapshot, left to settle, and checked
with axe-core's WCAG 2.0, 2.1 and 2.2 level A and AA rules; any violation fails the test,
listed with the elements it was found on. Results go to ``test-artifacts/axe/``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser_server import ARTIFACTS, BROWSER_TEST_MARKS, IDLE_SELECTOR, ROOT, Server, running_app
from tests.test_browser import PAGES, _open

pytestmark = BROWSER_TEST_MARKS
pytest.importorskip("playwright.sync_api")

AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
OUT = ARTIFACTS / "axe"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="axe-test-") as tmp, \
            running_app(Path(tmp) / "no-store", log_dir=Path(tmp)) as srv:
        yield srv


@pytest.mark.parametrize("meeting", [False, True], ids=["normal", "meeting"])
@pytest.mark.parametrize("path", list(PAGES), ids=lambda p: p or "Overview")
def test_no_wcag_aa_violations(browser, server, path, meeting):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        _open(page, server, path, "meeting=1" if meeting else "")
        page.wait_for_selector(IDLE_SELECTOR)
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    finally:
        context.close()
    OUT.mkdir(parents=True, exist_ok=True)
    name = f"{path or 'Overview'}-{'meeting' if meeting else 'normal'}"
    (OUT / f"{name}.json").write_text(json.dumps(result["violations"], indent=1))
    found = [f"{v['id']} ({v['impact']}): {v['help']} — {len(v['nodes'])} element(s), e.g. "
             f"{v['nodes'][0]['target']}: {v['nodes'][0]['failureSummary'][:200]}" for v in result["violations"]]
    assert not found, f"{name}: " + "\n".join(found)
