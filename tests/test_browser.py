"""Real-browser tests: headless Debian Chromium driven by Playwright against ``streamlit run app.py``.

The server runs on 127.0.0.1 with an empty store folder, so the app shows the committed
snapshot (what a fresh clone sees). Every page is opened and checked for what a person sees
(title, the data banner, a drawn map), then the main interactions: changing the offence group,
clicking a ward on the map, meeting mode and the CSV download (compared byte for byte with
``python -m analysis export priorities`` run with the settings the app wrote into the URL).
Every request the browser makes must go to 127.0.0.1. Screenshots go to
``test-artifacts/screenshots/`` (git-ignored): look at them, a blank map is a failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.browser_server import (
    ARTIFACTS,
    BROWSER_TEST_MARKS,
    IDLE_SELECTOR,
    MAP_JS,
    MAP_SELECTOR,
    PROJECT_JS,
    ROOT,
    RUN_DONE_JS,
    VIEW_JS,
    WATCH_RUNS_JS,
    Server,
    cli_args_from_url,
    flat_colour_stats,
    running_app,
)

pytestmark = BROWSER_TEST_MARKS
playwright_api = pytest.importorskip("playwright.sync_api")

SHOTS = ARTIFACTS / "screenshots"
SNAPSHOT = ROOT / "data" / "snapshot"
VIEWPORT = {"width": 1400, "height": 1000}
TIMEOUT_MS = 60_000

#: URL path → the page's title.
PAGES = {
    "": "London crime and trust in the police",
    "Map": "Where crime is high and trust is low",
    "Priority_areas": "Priority areas: high crime, low trust",
    "Area_profile": "Area profile",
    "Trust": "Trust and confidence in the police, by borough",
    "Data_and_method": "Data and method",
    "Plan_progress": "Plan progress: the areas flagged at launch",
    "Stop_and_search": "Stop and search: where, how often, on whom, with what result",
}
MAP_PAGES = {"", "Map", "Stop_and_search"}


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="browser-test-") as tmp, \
            running_app(Path(tmp) / "no-store", log_dir=Path(tmp)) as srv:
        yield srv


@pytest.fixture()
def page(browser, server: Server) -> Iterator[object]:
    """A fresh browser context; afterwards: only 127.0.0.1 was contacted, no error box, no traceback."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    requests: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    yield pg
    exceptions = pg.locator('[data-testid="stException"]').count()
    context.close()
    outside = [u for u in requests if urlsplit(u).scheme not in ("data", "blob")
               and urlsplit(u).hostname != "127.0.0.1"]
    assert not outside, f"requests left 127.0.0.1: {outside[:5]}"
    assert exceptions == 0, "an exception box was shown"
    assert not server.tracebacks(), server.tracebacks()[0][-2000:]


def _open(page, server: Server, path: str, query: str = "") -> None:
    page.goto(f"{server.url}/{path}{'?' + query if query else ''}")
    page.locator("h1").first.wait_for()
    page.wait_for_selector(IDLE_SELECTOR)
    page.evaluate(WATCH_RUNS_JS)
    # Settled: no run for half a second (a first run may be followed by one more).
    page.wait_for_function("() => { const r = window.__runs[window.__runs.length - 1]; "
                           "return r[1] === 'notRunning' && performance.now() - r[0] > 500; }")
    page.locator('[data-testid="stCaptionContainer"]').filter(has_text="Data: the ").first.wait_for()


def _act(page, action, *, timeout_s: float = 30) -> float:
    """Do ``action`` and wait until the rerun it causes has finished; return the seconds taken."""
    mark = page.evaluate(WATCH_RUNS_JS)
    started = time.perf_counter()
    action()
    page.wait_for_function(RUN_DONE_JS, arg=mark, timeout=timeout_s * 1000)
    return time.perf_counter() - started


def _map_drawn(page, name: str, *, timeout_s: float = 30) -> None:
    """Wait until the first area map shows a picture (not one flat colour) and save it; fail if it never does."""
    chart = page.locator(MAP_SELECTOR).first
    chart.wait_for()
    deadline = time.monotonic() + timeout_s
    while True:
        png = chart.screenshot()
        variance, colours = flat_colour_stats(png)
        drawn = variance > 200 and colours > 20
        if drawn or time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
    (SHOTS / f"{name}-map.png").write_bytes(png)
    assert drawn, f"{name}: the map is still one flat colour after {timeout_s:.0f} s (variance {variance:.0f}, " \
                  f"{colours} colours)"


def _texts(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def _multiselect_pick(page, label: str, option: str) -> None:
    box = _widget(page, "stMultiSelect", label)
    box.locator("input").click()
    page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")


def _widget(page, kind: str, label: str):
    """The widget of a kind (e.g. 'stSelectbox') whose label is exactly ``label``."""
    exact = page.locator('[data-testid="stWidgetLabel"]').filter(has=page.get_by_text(label, exact=True))
    return page.locator(f'[data-testid="{kind}"]').filter(has=exact)


def _select(page, label: str, option: str | None) -> None:
    """Pick ``option`` in a selectbox (None: the second option)."""
    box = page.get_by_role("combobox", name=label, exact=True)
    box.locator("xpath=..").get_by_role("button", name="Open").click()
    page.get_by_role("listbox").wait_for()
    options = page.get_by_role("option")
    (options.nth(1) if option is None else options.filter(has_text=option).first).click()


def setup_module() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)


@pytest.mark.parametrize("path", list(PAGES), ids=lambda p: p or "Overview")
def test_page_shows_title_banner_and_map(page, server, path):
    _open(page, server, path)
    assert page.locator("h1").first.inner_text().strip() == PAGES[path]
    main = _texts(page)
    assert "Data: the embedded snapshot" in main, "the data banner must say which data is shown"
    assert ":material/" not in page.locator("body").inner_text()
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    if path in MAP_PAGES:
        _map_drawn(page, path or "Overview")  # fails when the map stays blank
    if path == "Data_and_method":  # the currency table, as a meeting reads it
        table = page.locator('[data-testid="stTable"]').first
        assert "newest held" in table.inner_text() and "police.uk street-level crime" in table.inner_text()
    page.screenshot(path=str(SHOTS / f"{path or 'Overview'}.png"), full_page=True)


def test_offence_group_change_updates_map(page, server):
    _open(page, server, "Map")
    _map_drawn(page, "Map-all-offences")
    before = page.locator(MAP_SELECTOR).first.screenshot()
    flagged_before = page.locator('[data-testid="stMetric"]').filter(has_text="Flagged areas").inner_text()
    _act(page, lambda: _multiselect_pick(page, "Offence groups", "BURGLARY"))
    assert parse_qs(urlsplit(page.url).query).get("groups") == ["BURGLARY"]
    assert "BURGLARY" in page.locator('[data-testid="stMultiSelect"]').filter(has_text="Offence groups").inner_text()
    _map_drawn(page, "Map-burglary")
    after = page.locator(MAP_SELECTOR).first.screenshot()
    flagged_after = page.locator('[data-testid="stMetric"]').filter(has_text="Flagged areas").inner_text()
    assert after != before or flagged_after != flagged_before, "the map did not change with the offence group"
    # The measure too: harm is labelled in the caption under the map.
    _act(page, lambda: _select(page, "Measure", "harm (CCHI days)"))
    assert parse_qs(urlsplit(page.url).query).get("measure") == ["harm"]
    assert "harm" in page.locator('[data-testid="stCaptionContainer"]').filter(has_text="to 20").first.inner_text()
    page.screenshot(path=str(SHOTS / "Map-burglary-harm.png"), full_page=True)


def _target_ward() -> tuple[str, str, float, float]:
    """A central-London ward with room to click: (code, name, lon, lat) of its most inner point."""
    from shapely.ops import polylabel

    from data_sources.store.versions import open_snapshot

    wards = open_snapshot(SNAPSHOT).read("wards_display")
    best = None
    for code, name, geom in zip(wards["ward_code"], wards["ward_name"], wards.geometry, strict=True):
        part = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)
        c = part.centroid
        if not (-0.16 < c.x < -0.02 and 51.47 < c.y < 51.54):
            continue
        point = polylabel(part, 1e-5)
        room = point.distance(part.exterior)
        if best is None or room > best[0]:
            best = (room, str(code), str(name), point.x, point.y)
    assert best is not None
    return best[1:]


def test_click_ward_opens_its_profile(page, server):
    """A real mouse click on a ward (software graphics, no handler called by hand) opens its profile."""
    code, name, lon, lat = _target_ward()
    _open(page, server, "Map")
    _map_drawn(page, "Map-before-click")
    x, y = page.evaluate(PROJECT_JS, [lon, lat])
    box = page.locator(MAP_SELECTOR).first.bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    tip = page.locator(".map .tip")
    tip.wait_for()
    assert tip.inner_text().startswith(name), tip.inner_text()   # the ward under the pointer
    page.screenshot(path=str(SHOTS / "Map-hover-before-click.png"))
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_url("**/Area_profile**", timeout=TIMEOUT_MS)
    page.wait_for_selector(IDLE_SELECTOR)
    page.get_by_role("heading", name=name, exact=True).wait_for()
    assert parse_qs(urlsplit(page.url).query).get("area") == [code]
    assert page.locator("h1").first.inner_text().strip() == "Area profile"
    page.screenshot(path=str(SHOTS / "Area_profile-from-map-click.png"), full_page=True)
    (ARTIFACTS / "browser-click.json").write_text(json.dumps({"ward": code, "name": name, "pixel": [x, y],
                                                              "how": "mouse click"}, indent=1))


def test_keyboard_moves_between_areas_and_enter_opens_the_profile(page, server):
    _open(page, server, "")   # the Overview's map
    _map_drawn(page, "Overview-before-keys")
    page.locator(".map").first.focus()
    live, shown = page.locator(".map .sr-only").first, page.locator(".map .tip b").first
    shown.wait_for()
    first = shown.text_content()
    assert live.text_content().startswith(first)   # announced to screen readers too
    page.keyboard.press("ArrowRight")
    page.wait_for_function("([e, t]) => e.textContent !== t", arg=[shown.element_handle(), first])
    name = shown.text_content()
    assert name and live.text_content().startswith(name)
    page.screenshot(path=str(SHOTS / "Overview-keyboard-focus.png"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/Area_profile**", timeout=TIMEOUT_MS)
    page.wait_for_selector(IDLE_SELECTOR)
    page.get_by_role("heading", name=name, exact=True).wait_for()


def test_map_survives_lost_shapes_and_a_resize(page, server):
    """A page that lost its shapes asks again and redraws; a narrower window refits the map."""
    _open(page, server, "Map")
    _map_drawn(page, "Map-before-loss")
    page.evaluate("() => window.__lctAreaShapes.clear()")
    _act(page, lambda: _multiselect_pick(page, "Offence groups", "ROBBERY"))   # a rerun without shapes
    page.wait_for_function(f"() => ({VIEW_JS})() !== null", timeout=TIMEOUT_MS)
    _map_drawn(page, "Map-after-loss")
    width = page.locator(MAP_SELECTOR).first.bounding_box()["width"]
    page.set_viewport_size({"width": 1000, "height": 900})
    page.wait_for_function(f"w => {{ const m = ({MAP_JS})(); return m && m.canvas.clientWidth < w - 50; }}", arg=width)
    box = page.locator(MAP_SELECTOR).first.bounding_box()
    assert box["width"] < width - 50, (box, width)
    _map_drawn(page, "Map-after-resize")


def test_meeting_mode_large_type_and_no_controls(page, server):
    _open(page, server, "")
    assert page.locator('[data-testid="stSidebar"]').is_visible()
    _act(page, lambda: page.get_by_text("Meeting mode (large type, no controls)").click())
    assert parse_qs(urlsplit(page.url).query).get("meeting") == ["1"]
    sizes = page.evaluate("""() => ({
        body: parseFloat(getComputedStyle(document.body).fontSize),
        toggle: parseFloat(getComputedStyle(document.querySelector('[data-testid="stMain"] label p')).fontSize),
        p: Math.min(...[...document.querySelectorAll('[data-testid="stMain"] p')]
                     .filter(e => e.offsetParent !== null && !e.closest('label')
                             && !e.closest('[data-testid="stCaptionContainer"]'))
                     .map(e => parseFloat(getComputedStyle(e).fontSize))),
        h1: parseFloat(getComputedStyle(document.querySelector('h1')).fontSize)})""")
    assert sizes["body"] >= 24 and sizes["p"] >= 24, sizes
    assert sizes["h1"] > sizes["p"], sizes
    (ARTIFACTS / "browser-meeting-fonts.json").write_text(json.dumps(sizes))  # the toggle's own label: not enlarged
    assert not page.locator('[data-testid="stSidebar"]').is_visible(), "controls must be hidden in meeting mode"
    page.screenshot(path=str(SHOTS / "Overview-meeting-mode.png"), full_page=True)
    _open(page, server, "Map", "meeting=1")
    _map_drawn(page, "Map-meeting-mode")
    page.screenshot(path=str(SHOTS / "Map-meeting-mode.png"), full_page=True)


def test_priority_csv_download_equals_cli(page, server, tmp_path):
    _open(page, server, "Priority_areas", "measure=count&cpct=0.75")
    # One setting from a widget too: the flag rule.
    _act(page, lambda: page.get_by_text("Compare with London beyond the 95% intervals").click())
    params = parse_qs(urlsplit(page.url).query)
    assert params.get("measure") == ["count"] and params.get("cpct") == ["0.75"]
    assert params.get("method") == ["interval"]
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    download = info.value
    got = Path(download.path()).read_bytes()
    assert download.suggested_filename.endswith(".csv")
    assert got.startswith(b"area_code,area_name,"), "the CSV's first line must be its header"
    with page.expect_download() as info:
        page.get_by_role("button", name="Metadata (JSON)").click()
    sidecar = info.value
    assert sidecar.suggested_filename == f"{download.suggested_filename}-metadata.json"
    out = tmp_path / download.suggested_filename  # the page's name, so the metadata's "url" is the same too
    cmd = [sys.executable, "-m", "analysis", "export", "priorities", *cli_args_from_url(params),
           "--store", str(SNAPSHOT), "--out", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (ARTIFACTS / "browser-download.csv").write_bytes(got)
    assert got == out.read_bytes(), f"the page's CSV differs from `{' '.join(cmd[1:])}`"
    assert Path(sidecar.path()).read_bytes() == (tmp_path / sidecar.suggested_filename).read_bytes()
    page.screenshot(path=str(SHOTS / "Priority_areas-settings.png"), full_page=True)


def test_tooltip_shows_data_as_text_not_markup(browser, tmp_path):
    """A ward name made of markup is shown literally in the map's tooltip and never runs."""
    with running_app(tmp_path / "no-store", log_dir=tmp_path, script="tests/fixtures/tooltip_app.py") as srv:
        context = browser.new_context(viewport={"width": 900, "height": 700})
        pg = context.new_page()
        dialogs: list[str] = []
        pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        pg.goto(srv.url)
        canvas = pg.locator(MAP_SELECTOR).first
        canvas.wait_for(timeout=TIMEOUT_MS)
        box = canvas.bounding_box()
        pg.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        tooltip = pg.locator(".map .tip")
        tooltip.wait_for()
        text = tooltip.inner_text()
        shown = tooltip.inner_html()
        pg.screenshot(path=str(SHOTS / "tooltip-escaping.png"))
        context.close()
    assert "<img src=x onerror=alert(1)> St James's" in text  # the markup is shown as text
    assert "Borough: <img src=x onerror=alert(1)>" in text
    assert "<img" not in shown and "&lt;img" in shown  # and is not an element in the page
    assert not dialogs


def _charts_drawn(page, count: int) -> None:
    """Wait until ``count`` Vega-Lite charts have drawn their marks."""
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] canvas, "
        "[data-testid=\"stVegaLiteChart\"] svg.marks').length >= n", arg=count)


def test_plan_progress_headline_charts_and_row_to_profile(page, server):
    _open(page, server, "Plan_progress", "src=police_uk&types=Burglary")
    headline = page.locator("h3").filter(has_text="Since the plan began").first
    headline.wait_for()
    assert "wards flagged at launch" in headline.inner_text()
    _charts_drawn(page, 3)
    page.screenshot(path=str(SHOTS / "Plan_progress.png"), full_page=True)
    grid = page.locator('[data-testid="stDataFrame"]').nth(2)  # the areas (after the groups and comparisons)
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)  # the first row's selection cell
    page.wait_for_url("**/Area_profile**")
    page.locator("h1").filter(has_text="Area profile").wait_for()
    assert parse_qs(urlsplit(page.url).query).get("area")


def test_plan_progress_meeting_mode(page, server):
    _open(page, server, "Plan_progress", "src=police_uk&types=Burglary&meeting=1")
    _charts_drawn(page, 3)
    size = page.locator("h3").filter(has_text="Since the plan began").first.evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 32
    assert page.locator('[data-testid="stDataFrame"]').count() == 0
    page.screenshot(path=str(SHOTS / "Plan_progress-meeting-mode.png"), full_page=True)


# --- the planner's drill-down -----------------------------------------------------------------------

LAMBETH = "E09000022"


class Interactions:
    """Count what a person does: each click or choice is one; typing into a box and choosing is one."""

    def __init__(self, page) -> None:
        self.page = page
        self.steps: list[str] = []

    def do(self, what: str, action) -> float:
        """Do one interaction and wait for the rerun it causes; return the seconds it took."""
        self.steps.append(what)
        return _act(self.page, action)


def _click_grid_row(page, row: int = 0) -> None:
    """Click a data row of the first table, as a hand does: onto the row, a moment, press, release."""
    box = page.locator('[data-testid="stDataFrame"]').first.bounding_box()
    header, height = 35, 33  # Streamlit's default header and row heights (px)
    page.mouse.move(box["x"] + 150, box["y"] + header + height * row + height / 2)
    page.wait_for_timeout(300)
    page.mouse.down()
    page.wait_for_timeout(80)
    page.mouse.up()


def _table_cells(page) -> dict[str, dict[str, str]]:
    """The Compare table (an HTML st.table) as {column header: {row label: text}}."""
    rows = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stTable"] tr')]
        .map(tr => [...tr.querySelectorAll('th, td')].map(c => c.innerText.trim()))""")
    header, *body = rows
    return {col: {r[0]: r[i] for r in body} for i, col in enumerate(header) if i > 0}


def test_borough_drill_down_in_four_interactions(page, server):
    """"Which Lambeth wards are flagged for burglary, open the top one, compare it with a neighbour"."""
    from analysis.priorities import FlagSettings, priority_table
    from analysis.query import CrimeQuery
    from analysis.tables import load_tables
    from data_sources.store.versions import open_snapshot

    _open(page, server, "Priority_areas")
    you = Interactions(page)
    you.do("choose BURGLARY in Offence groups", lambda: _multiselect_choose(page, "Offence groups", "BURGLARY"))
    you.do("type 'Lamb' in Borough and press Enter", lambda: _type_and_choose(page, "borough", "Lamb"))
    params = parse_qs(urlsplit(page.url).query)
    assert params.get("borough") == [LAMBETH] and params.get("groups") == ["BURGLARY"]
    assert "in Lambeth" in page.locator('[data-testid="stMetric"]').first.inner_text()
    page.screenshot(path=str(SHOTS / "drill-1-Priority_areas-Lambeth-burglary.png"), full_page=True)

    q = CrimeQuery(level="ward", crime_groups=("BURGLARY",), start=params["start"][0], end=params["end"][0])
    table = priority_table(load_tables(open_snapshot(SNAPSHOT)), q, FlagSettings()).table.set_index("area_code")
    lambeth = table[(table["borough_code"] == LAMBETH) & table["flagged"]]
    top = str(lambeth.index[0])
    you.steps.append("click the top row")
    _click_grid_row(page, 0)
    page.wait_for_url("**/Area_profile**", timeout=TIMEOUT_MS)
    page.wait_for_selector(IDLE_SELECTOR)
    page.get_by_role("heading", name=table.loc[top, "area_name"], exact=True).wait_for()
    assert parse_qs(urlsplit(page.url).query).get("area") == [top]
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    page.screenshot(path=str(SHOTS / "drill-2-Area_profile-top-ward.png"), full_page=True)

    first = page.locator('[class*="st-key-add_compare_"]').first
    neighbour = next(c for c in first.get_attribute("class").split() if c.startswith("st-key-add_compare_"))
    neighbour = neighbour.removeprefix("st-key-add_compare_")
    you.do("press Compare beside the first neighbour", lambda: first.get_by_role("button").click())
    assert len(you.steps) <= 4, you.steps
    assert parse_qs(urlsplit(page.url).query).get("compare") == [neighbour]

    shown = _table_cells(page)
    expected = table.loc[[top, neighbour]]
    assert list(shown) == expected["area_name"].tolist()   # the ward viewed first, then the neighbour
    for code, row in expected.iterrows():
        cells = shown[row["area_name"]]
        assert cells["Borough"] == row["borough_name"], code
        assert cells["Class"] == row["class_label"], code
        assert cells["Rank"] == str(int(row["rank"])), code
        assert cells["Flagged"] == ("yes" if row["flagged"] else "no"), code
        assert cells["Trust figure from"] == row["trust_source_level"], code
        assert cells["crimes per 1,000 residents"] == f"{row['value']:,.1f}", code
        assert cells["Trust (95% interval)"] == (f"{row['trust']:.0%} ({row['trust_lo']:.0%}–"
                                                 f"{row['trust_hi']:.0%})"), code
    page.locator('[data-testid="stTable"]').scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "drill-3-Compare-with-neighbour.png"), full_page=True)
    (ARTIFACTS / "browser-drill-down.json").write_text(json.dumps(
        {"interactions": len(you.steps), "steps": you.steps, "top": top, "neighbour": neighbour}, indent=1))

    # Back to the list from the menu: the borough is kept and the old row click does not reopen a profile.
    _act(page, lambda: page.get_by_role("link", name="Priority areas").click())
    page.wait_for_timeout(1500)
    assert page.locator("h1").first.inner_text().strip() == PAGES["Priority_areas"]
    assert parse_qs(urlsplit(page.url).query).get("borough") == [LAMBETH]


def _multiselect_choose(page, label: str, option: str) -> None:
    """Open a multiselect and click one option (its list stays open, as it does for a person)."""
    _widget(page, "stMultiSelect", label).locator("input").click()
    page.get_by_role("option", name=option, exact=True).click()


def _type_and_choose(page, key: str, text: str) -> None:
    """Click a selectbox (by its key), type the start of an option and press Enter."""
    page.locator(f".st-key-{key} input").first.click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def test_map_zooms_to_the_chosen_borough(page, server):
    from shapely.geometry import Point

    from data_sources.store.versions import open_snapshot

    _open(page, server, "Map", f"borough={LAMBETH}")
    _map_drawn(page, "Map-Lambeth")  # fails when the map stays blank
    view = page.evaluate(VIEW_JS)
    centre, zoom = (view["lon"], view["lat"]), view["zoom"]
    boroughs = open_snapshot(SNAPSHOT).read("boroughs_display").set_index("area_code")
    assert boroughs.loc[LAMBETH, "geometry"].contains(Point(centre)), centre
    assert zoom > 10.5, zoom   # London whole is 9.2
    page.screenshot(path=str(SHOTS / "Map-Lambeth.png"), full_page=True)


def test_stop_and_search_boroughs_normal_and_meeting_mode(page, server):
    _open(page, server, "Stop_and_search", "level=borough")
    _map_drawn(page, "Stop_and_search-boroughs")
    main = _texts(page)
    assert "Black/White ratio, London" in main and "a borough, not a person" in main
    page.screenshot(path=str(SHOTS / "Stop_and_search-boroughs.png"), full_page=True)
    page.get_by_text("Month by month: London").scroll_into_view_if_needed()
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    page.screenshot(path=str(SHOTS / "Stop_and_search-trend.png"))
    page.get_by_text("beside trust in the police, by borough").scroll_into_view_if_needed()
    page.locator('[data-testid="stVegaLiteChart"]').nth(1).wait_for()
    page.screenshot(path=str(SHOTS / "Stop_and_search-scatter.png"))
    _open(page, server, "Stop_and_search", "level=borough&meeting=1&ssfrom=2021-06&ssto=2025-04")
    _map_drawn(page, "Stop_and_search-meeting-mode")
    assert "cut short: covers 1-17 Dec only" in _texts(page)
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    page.screenshot(path=str(SHOTS / "Stop_and_search-meeting-mode.png"), full_page=True)
    page.get_by_text("Month by month: London").scroll_into_view_if_needed()
    page.locator('[data-testid="stVegaLiteChart"]').first.wait_for()
    page.wait_for_timeout(1000)
    page.screenshot(path=str(SHOTS / "Stop_and_search-meeting-trend-with-gaps.png"))
