"""Many users: 20 browser sessions at once against one server on 127.0.0.1.

One headless Chromium, 20 contexts (separate Streamlit sessions), each opening the Priority
areas page with its own filters in the URL (opened four at a time: the browser itself parses
Streamlit's JavaScript per tab, which on 2 cores would otherwise dominate), then doing three
timed actions: switch the area level (radio), switch the flag rule (radio) and download the
CSV. A single session does the same first, in the same run, as the baseline. An action's
time runs from the action to the app being idle again (the script-run state on ``stApp``
back to ``notRunning`` after a run that started after the action; for the download, until
the file has arrived).

Two ways of being 20 at once, each with 20 fresh sessions:

- **paced** (the issue's bound, in the default test run): like people, each session reads
  for a while before each action (``THINK_S``, drawn per session from a seeded generator),
  so the 20 act at overlapping, not identical, moments;
- **burst** (only in ``benchmarks/bench_concurrency.py``, a load test that takes minutes):
  all 20 act at the same instant, back to back. On this 2-core machine the 20 Chromium tabs
  themselves take about three quarters of the CPU, so a burst queues behind the load
  generator.

The test asserts what must always hold (no errors, every session completes, no exception
box or server traceback, no request leaving 127.0.0.1, bounded memory); the speed ratios
(the 20-user median against the single-user one, measured in the same run) are reported,
not asserted: speed is shown by benchmarks, and a timed assertion on a shared machine is
flaky.

The server's RSS and CPU, and the whole machine's CPU, are sampled from /proc. Everything is
bounded: 20 sessions × 3 actions per phase, 180 s per phase. Figures go to
``test-artifacts/concurrency.json``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import pytest

from tests.browser_server import (
    ARTIFACTS,
    BROWSER_TEST_MARKS,
    CHROMIUM,
    CHROMIUM_ARGS,
    IDLE_SELECTOR,
    WATCH_RUNS_JS,
    Server,
    cpu_s,
    rss_kb,
    running_app,
)

pytestmark = BROWSER_TEST_MARKS
async_api = pytest.importorskip("playwright.async_api")

USERS = 20
OVERALL_S = 180
ACTION_TIMEOUT_MS = 90_000
#: Each session's filters (URL) differ a little, so the shared caches see several queries.
URLS = ["measure=rate", "measure=count", "measure=count&cpct=0.75", "measure=rate&tpct=0.25&groups=BURGLARY"]
#: Paced use: seconds a person reads before each action (uniform, seeded per session). A
#: planner reading a priority table takes longer; 5-15 s keeps all 20 busy at once.
THINK_S = (5.0, 15.0)
#: The target for the paced phase, reported in the result: 20-user median within 2× the single-user median.
ISSUE_FACTOR = 2.0
#: Memory a session may add on the server (its session state, widget values, the page's
#: deltas). The big tables are cached once (st.cache_resource) and must not be copied.
PER_SESSION_MB = 12


#: Done when the run the action caused has written its result into the URL and the app is idle.
#: (Under load React can batch running → notRunning into one render, so the state alone can miss
#: a run; the URL parameter is written by the script run itself.)
URL_DONE_JS = """(part) => location.search.includes(part) &&
  document.querySelector('[data-testid="stApp"]').getAttribute('data-test-script-state') === 'notRunning'"""


async def _timed_run(page, action, url_part: str) -> float:
    started = time.perf_counter()
    await action()
    await page.wait_for_function(URL_DONE_JS, arg=url_part, timeout=ACTION_TIMEOUT_MS)
    return time.perf_counter() - started


async def _open(browser, server: Server, i: int, gate: asyncio.Semaphore, out: dict):
    """Open one user's session on the Priority areas page with filters in the URL."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = await context.new_page()
    page.on("request", lambda r: r.url.startswith((server.url, "data:", "blob:")) or out["outside"].append(r.url))
    # (Streamlit's frontend first probes /<page>/_stcore/... for a base path; those 404s are normal.)
    page.on("response", lambda r: r.status < 400 or "/_stcore/" in r.url
            or out["bad_responses"].append(f"{r.status} {r.url}"))
    page.on("requestfailed", lambda r: out["bad_responses"].append(f"failed {r.failure} {r.url}"))
    async with gate:  # the browser parses Streamlit's JavaScript per tab: a few at a time on 2 cores
        started = time.perf_counter()
        await page.goto(f"{server.url}/Priority_areas?{URLS[i % len(URLS)]}")
        await page.locator("h1").first.wait_for()
        await page.wait_for_selector(IDLE_SELECTOR)
        await page.locator('[data-testid="stCaptionContainer"]').filter(has_text="Data: the ").first.wait_for()
        out["open_s"].append(time.perf_counter() - started)
    await page.evaluate(WATCH_RUNS_JS)
    return context, page


async def _actions(page, i: int, out: dict, think: tuple[float, float] | None) -> None:
    """Three timed actions: two widget changes (level, flag rule) and the CSV download.

    With ``think``, the session first reads for a random while before each action.
    """
    rng = random.Random(i)
    times: dict[str, float] = {}
    try:
        if think:
            await asyncio.sleep(rng.uniform(*think))
        times["level_radio"] = await _timed_run(page, lambda: page.get_by_text("Boroughs", exact=True).click(),
                                             "level=borough")
        if think:
            await asyncio.sleep(rng.uniform(*think))
        times["rule_radio"] = await _timed_run(
            page, lambda: page.get_by_text("Compare with London beyond the 95% intervals").click(), "method=interval")
        if think:
            await asyncio.sleep(rng.uniform(*think))
        started = time.perf_counter()
        async with page.expect_download() as info:
            await page.get_by_role("button", name="Download CSV").click()
        download = await info.value
        out["sizes"].append(Path(await download.path()).stat().st_size)
        times["download_csv"] = time.perf_counter() - started
        out["exceptions"] += await page.locator('[data-testid="stException"]').count()
        out["times"].append(times)
    except Exception as e:  # counted and reported, never swallowed silently
        out["errors"].append(f"session {i}: {type(e).__name__}: {str(e)[:300]}")


def _bucket() -> dict:
    return {"times": [], "errors": [], "exceptions": 0, "outside": [], "sizes": [], "open_s": [],
            "server_cpu_s": 0.0, "machine_cpu_s": 0.0, "bad_responses": []}


async def _run_users(browser, server: Server, n: int, out: dict, *, offset: int = 0,
                     think: tuple[float, float] | None = None) -> float:
    """Open ``n`` sessions, then run their actions together; return the wall time of the actions."""
    gate = asyncio.Semaphore(4)
    opened = await asyncio.gather(*(_open(browser, server, offset + i, gate, out) for i in range(n)))
    started, server_cpu, machine_cpu = time.perf_counter(), cpu_s(server.pid), cpu_s()
    tasks = [asyncio.create_task(_actions(page, offset + i, out, think)) for i, (_, page) in enumerate(opened)]
    _, pending = await asyncio.wait(tasks, timeout=OVERALL_S)
    for t in pending:
        t.cancel()
    out["errors"].extend(f"timed out after {OVERALL_S} s" for _ in pending)
    wall = time.perf_counter() - started
    out["server_cpu_s"] += cpu_s(server.pid) - server_cpu
    out["machine_cpu_s"] += cpu_s() - machine_cpu
    for context, _ in opened:
        await context.close()
    return wall


async def _sample_rss(pid: int, samples: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(rss_kb(pid))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _median(rows: list[dict], key: str | None = None) -> float:
    values = [v for r in rows for k, v in r.items() if key is None or k == key]
    return statistics.median(values) if values else float("nan")


ACTIONS = ["level_radio", "rule_radio", "download_csv"]


def _summary(bucket: dict, sessions: int, wall: float | None = None) -> dict:
    """Medians per action, spread, errors and CPU per session for one phase."""
    values = [v for r in bucket["times"] for v in r.values()]
    return {"median_s": _median(bucket["times"]), **{a: _median(bucket["times"], a) for a in ACTIONS},
            "p90_s": statistics.quantiles(values, n=10)[-1] if len(values) > 1 else None,
            "max_s": max(values, default=None), "sessions_completed": len(bucket["times"]),
            "actions_wall_s": wall, "open_median_s": _med(bucket["open_s"]),
            "errors": bucket["errors"], "exception_boxes": bucket["exceptions"],
            "bad_responses": bucket["bad_responses"],
            "server_cpu_s_per_session": bucket["server_cpu_s"] / sessions,
            "machine_cpu_s_per_session": bucket["machine_cpu_s"] / sessions,
            "times": {a: [round(r[a], 3) for r in bucket["times"]] for a in ACTIONS}}


async def scenario(server: Server, *, with_burst: bool = False) -> dict:
    """Warm the caches, time a single user, then 20 paced sessions (and 20 at one instant with ``with_burst``)."""
    result: dict = {"users": USERS, "think_s": THINK_S}
    async with async_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        # Warm the server's shared caches for every session's filters, then one user alone with
        # each (same run, same machine), so both sides compare warm caches.
        warm, single, paced, burst = _bucket(), _bucket(), _bucket(), _bucket()
        for i in range(len(URLS)):
            await _run_users(browser, server, 1, warm, offset=i)
        for i in range(len(URLS)):
            await _run_users(browser, server, 1, single, offset=i)
        baseline_kb = rss_kb(server.pid)
        samples: list[int] = []
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample_rss(server.pid, samples, stop))
        paced_wall = await _run_users(browser, server, USERS, paced, think=THINK_S)
        burst_wall = await _run_users(browser, server, USERS, burst, offset=USERS) if with_burst else None
        stop.set()
        await sampler
        await asyncio.sleep(2)
        after_kb = rss_kb(server.pid)
        await browser.close()
    sessions = USERS * (2 if with_burst else 1)
    result.update({
        "single_user": _summary(single, len(URLS)) | {"errors": single["errors"] + warm["errors"]},
        "paced": _summary(paced, USERS, paced_wall),
        "rss_mb": {"baseline": baseline_kb / 1024, "peak": max(samples, default=0) / 1024, "after": after_kb / 1024,
                   "peak_minus_baseline": (max(samples, default=0) - baseline_kb) / 1024, "sessions": sessions},
        "csv_sizes": sorted(set(paced["sizes"] + burst["sizes"])),
        "outside_requests": paced["outside"] + burst["outside"] + single["outside"],
    })
    single_median = result["single_user"]["median_s"]
    result["paced_ratio"] = result["paced"]["median_s"] / single_median
    result["paced_ratio_per_action"] = {a: result["paced"][a] / result["single_user"][a] for a in ACTIONS}
    result["issue_bound_met"] = result["paced_ratio"] <= ISSUE_FACTOR
    if with_burst:
        result["burst"] = _summary(burst, USERS, burst_wall)
        result["burst_ratio"] = result["burst"]["median_s"] / single_median
        result["burst_cancelled_downloads"] = sum("Download.path: canceled" in e for e in burst["errors"])
    return result


def run(out_name: str, *, with_burst: bool = False) -> dict:
    """Serve the app on 127.0.0.1, run the scenario, write the figures to ``test-artifacts/<out_name>``."""
    with tempfile.TemporaryDirectory(prefix="concurrency-") as tmp, \
            running_app(Path(tmp) / "no-store", log_dir=Path(tmp)) as server:
        started_load = Path("/proc/loadavg").read_text().split()[:3]
        result = asyncio.run(scenario(server, with_burst=with_burst))
        result["loadavg_before"] = started_load
        result["loadavg_after"] = Path("/proc/loadavg").read_text().split()[:3]
        result["server_tracebacks"] = len(server.tracebacks())
        result["server_log_tail"] = server.stderr()[-3000:]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / out_name).write_text(json.dumps(result, indent=1, default=str))
    return result


def burst_problems(result: dict) -> list[str]:
    """What went wrong in a burst beyond the one known limit (empty: nothing).

    In a burst, Streamlit's media manager can delete a download's file before the browser
    fetches it (a 404 on /media/, seen in about one run in six): counted, reported in
    RELIABILITY.md, and the only error allowed there.
    """
    burst = result["burst"]
    cancelled = [e for e in burst["errors"] if "Download.path: canceled" in e]
    problems = [e for e in burst["errors"] if e not in cancelled]
    if burst["sessions_completed"] + len(cancelled) != USERS:
        problems.append(f"{burst['sessions_completed']} sessions completed and {len(cancelled)} downloads "
                        f"cancelled, of {USERS}")
    problems += [f"HTTP {r}" for r in burst["bad_responses"] if not (r.startswith("404 ") and "/media/" in r)]
    if burst["exception_boxes"]:
        problems.append(f"{burst['exception_boxes']} exception boxes")
    return problems


def test_twenty_concurrent_sessions():
    result = run("concurrency.json")
    print(json.dumps(result, indent=1, default=str))
    assert not result["single_user"]["errors"], result["single_user"]["errors"]
    paced = result["paced"]
    assert not paced["errors"] and not paced["bad_responses"], (paced["errors"], paced["bad_responses"])
    assert paced["sessions_completed"] == USERS
    assert paced["exception_boxes"] == 0
    assert result["server_tracebacks"] == 0
    assert not result["outside_requests"], result["outside_requests"][:5]
    # The speed ratio is reported (test-artifacts/concurrency.json, BENCHMARKS.md), not asserted:
    # speed belongs to benchmarks, and a shared 2-core machine makes a timed assertion flaky.
    print(f"paced 20-user median {result['paced_ratio']:.2f}× the single-user median")
    assert result["rss_mb"]["peak_minus_baseline"] < USERS * PER_SESSION_MB, result["rss_mb"]
