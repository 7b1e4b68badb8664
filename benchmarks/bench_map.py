"""Benchmark: the map in headless Chromium (software graphics), the app against a bare pydeck page.

In one run, alternating round by round (the machine is shared and noisy; medians reported):

- **app**: the app's Map page (``ui/area_map.py``, Canvas 2D component);
- **pydeck**: ``benchmarks/pydeck_page.py``, a bare Streamlit page drawing the same ward and
  borough shapes with ``st.pydeck_chart`` (the floor of the old map's stack);
- **before** (with ``--before DIR``, a checkout of the app before the component): its Map page.

For each, in a fresh browser context: **first draw**, from ``page.goto`` to pixels settled,
then **redraw** after a crime-type change (the app: BURGLARY in Offence groups; pydeck:
Burglary in its Crime type box), from the option's click to pixels settled. Settled means:
the map box's screenshot is not blank (colour variance > 200, > 20
colours), differs from the one before the change, nothing covers its centre or four inner
points, and three screenshots in a row over at least 0.5 s are identical, the last taken
after the script finished; the time reported is the end of the first of those (the rest of
the page may still be updating then; the time to the script's end is reported beside it).
Screenshots are JPEG clips of the page (about 0.05 s each
here, the resolution; identical pixels give identical bytes). Bytes are
the WebSocket frames the browser received in that span. The Overview's time to a settled
map (app, and before) is measured the same way. One unmeasured warm-up visit per target,
with its crime-type change, comes first (a running server with its caches filled).

Writes ``benchmarks/out/bench_map.json``.

Run: ``.venv/bin/python benchmarks/bench_map.py [--rounds 5] [--before /tmp/map-before]``
(make ``--before`` with ``git archive <commit> | tar -x -C /tmp/map-before``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser_server import RUN_DONE_JS, WATCH_RUNS_JS, chromium, flat_colour_stats, running_app  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
VIEWPORT = {"width": 1400, "height": 1200}
TARGETS = {"first_vs_pydeck": 0.6, "redraw_vs_pydeck": 0.2, "redraw_s": 0.6, "redraw_kb": 100}
IDLE_JS = """() => { const a = document.querySelector('[data-testid="stApp"]');
  return !!a && a.getAttribute('data-test-script-state') === 'notRunning'; }"""
#: True when the element's centre and four inner points show the element itself (through shadow roots).
UNCOVERED_JS = """el => { const r = el.getBoundingClientRect();
  return [[.5, .5], [.25, .25], [.75, .25], [.25, .75], [.75, .75]].every(([fx, fy]) => {
    const x = r.left + r.width * fx, y = r.top + r.height * fy;
    let hit = document.elementFromPoint(x, y);
    while (hit && hit.shadowRoot) { const inner = hit.shadowRoot.elementFromPoint(x, y);
      if (!inner || inner === hit) break; hit = inner; }
    return !!hit && (hit === el || el.contains(hit));
  }); }"""
DECK = '[data-testid="stDeckGlJsonChart"]'


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    box: str            # the map box's selector
    change: str         # how the crime type is changed: "groups" (the app) or "type" (the pydeck page)


def _settle(page, box: str, t0: float, *, differs_from: bytes | None = None, run_mark: int | None = None,
            timeout_s: float = 120) -> tuple[float, float, bytes]:
    """Seconds from ``t0`` until the map box's pixels settled and until the script was idle, and the picture.

    Pixels count as settled only if they stay so until the script has finished (the rest of
    the page may still be updating when they settle). With ``run_mark`` (``WATCH_RUNS_JS``'s
    count before the action), finished means a run started after the mark has ended.
    """
    run: list[tuple[float, bytes]] = []
    idle_at = None
    locator = page.locator(box).first
    locator.wait_for()
    while True:
        locator.scroll_into_view_if_needed()
        png = page.screenshot(clip=locator.bounding_box(), type="jpeg", quality=80)
        t = time.perf_counter() - t0
        variance, colours = flat_colour_stats(png)
        ok = variance > 200 and colours > 20 and png != differs_from and locator.evaluate(UNCOVERED_JS)
        if idle_at is None and (page.evaluate(IDLE_JS) if run_mark is None else
                                page.evaluate(RUN_DONE_JS, run_mark)):
            idle_at = time.perf_counter() - t0
        run = ([*run, (t, png)] if run and png == run[-1][1] else [(t, png)]) if ok else []
        if len(run) >= 3 and run[-1][0] - run[0][0] >= 0.5 and idle_at is not None:
            return run[0][0], idle_at, png
        if t > timeout_s:
            OUT.mkdir(exist_ok=True)
            page.screenshot(path=str(OUT / "bench_map-not-settled.png"), full_page=True)
            raise RuntimeError(f"{page.url}: the map did not settle in {timeout_s:.0f} s (last: variance "
                               f"{variance:.0f}, {colours} colours, same as before {png == differs_from}, "
                               f"uncovered {locator.evaluate(UNCOVERED_JS)}, idle {idle_at})")
        page.wait_for_timeout(30)


def _change(page, how: str) -> float:
    """Open the crime filter, click the option; return the perf_counter of the click (the clock starts there).

    The option is located first and clicked with the mouse at its centre, so the clock does
    not include Playwright's checks before a click (scrolling, waiting for a stable element).
    """
    if how == "groups":
        page.locator('[data-testid="stMultiSelect"]').filter(has_text="Offence groups").locator("input").click()
        option = page.get_by_role("option", name="BURGLARY", exact=True)
    else:
        page.get_by_role("combobox", name="Crime type", exact=True).click()
        option = page.get_by_role("option", name="Burglary", exact=True)
    option.wait_for()
    box = option.bounding_box()   # where to click, found before the clock starts (no actionability waits after it)
    t0 = time.perf_counter()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.keyboard.press("Escape")
    page.mouse.move(5, 5)
    return t0


def _visit(browser, target: Target, *, redraw: bool) -> dict:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    frames: list[tuple[float, int]] = []
    outside: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append((time.perf_counter(), len(p)))))
    page.on("request", lambda r: outside.append(r.url) if "127.0.0.1" not in r.url and
            not r.url.startswith(("data:", "blob:")) else None)

    def received(since: float, until: float) -> int:
        return sum(n for t, n in frames if since <= t <= until)

    t0 = time.perf_counter()
    page.goto(target.url)
    page.mouse.move(5, 5)
    first_s, idle_s, png = _settle(page, target.box, t0)
    out = {"first_s": round(first_s, 3), "first_idle_s": round(idle_s, 3), "first_bytes": received(t0, t0 + first_s)}
    if redraw:
        page.wait_for_timeout(500)
        mark = page.evaluate(WATCH_RUNS_JS)
        t1 = _change(page, target.change)
        redraw_s, idle_s, _ = _settle(page, target.box, t1, differs_from=png, run_mark=mark)
        out |= {"redraw_s": round(redraw_s, 3), "redraw_idle_s": round(idle_s, 3),
                "redraw_bytes": received(t1, t1 + max(redraw_s, idle_s) + 0.5)}
    context.close()
    if outside:
        raise RuntimeError(f"requests left 127.0.0.1: {outside[:3]}")
    return out


def _median(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if key in r]
    return round(statistics.median(values), 3) if values else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--before", type=Path, help="a checkout of the app before the map component")
    args = parser.parse_args()
    started = datetime.now(UTC)
    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-map-") as tmp, ExitStack() as stack:
        store = Path(tmp) / "no-store"   # an empty store folder: the committed snapshot, as a fresh clone
        app = stack.enter_context(running_app(store, log_dir=Path(tmp) / "app"))
        floor = stack.enter_context(running_app(store, log_dir=Path(tmp) / "pydeck",
                                                script="benchmarks/pydeck_page.py"))
        targets = [Target("app", f"{app.url}/Map", ".map", "groups"),
                   Target("pydeck", floor.url, DECK, "type"),
                   Target("app_overview", app.url, ".map", "")]
        if args.before:
            old = stack.enter_context(running_app(store, log_dir=Path(tmp) / "before", root=args.before))
            targets += [Target("before", f"{old.url}/Map", DECK, "groups"),
                        Target("before_overview", old.url, DECK, "")]
        browser = stack.enter_context(chromium())
        for target in targets:   # warm-up: caches filled, as a running server is
            _visit(browser, target, redraw=bool(target.change))
        for i in range(args.rounds):
            for target in targets:
                row = _visit(browser, target, redraw=bool(target.change))
                results.setdefault(target.name, []).append(row)
                print(f"round {i + 1} {target.name}: {row}", flush=True)
    keys = ("first_s", "first_idle_s", "first_bytes", "redraw_s", "redraw_idle_s", "redraw_bytes")
    summary = {name: {k: _median(rows, k) for k in keys} for name, rows in results.items()}
    a, p = summary["app"], summary["pydeck"]
    ratios = {"first_vs_pydeck": round(a["first_s"] / p["first_s"], 3),
              "redraw_vs_pydeck": round(a["redraw_s"] / p["redraw_s"], 3),
              "redraw_s": a["redraw_s"], "redraw_kb": round(a["redraw_bytes"] / 1000, 1)}
    met = {k: ratios[k] <= TARGETS[k] for k in TARGETS}
    result = {"date_utc": started.isoformat(timespec="seconds"), "machine": {
        "cpus": os.cpu_count(), "cpu": _cpu_model(), "python": platform.python_version(),
        "chromium": "/usr/bin/chromium headless, --disable-gpu (software graphics)",
        "loadavg_after": Path("/proc/loadavg").read_text().split()[:3]},
        "rounds": args.rounds, "summary": summary, "ratios": ratios, "targets": TARGETS, "met": met, "raw": results}
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_map.json").write_text(json.dumps(result, indent=1))
    print(json.dumps({"summary": summary, "ratios": ratios, "met": met}, indent=1))


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


if __name__ == "__main__":
    main()
