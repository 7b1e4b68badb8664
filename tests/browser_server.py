"""Run the dashboard as a real ``streamlit run`` server on 127.0.0.1 for browser tests.

``running_app(store_dir)`` starts ``streamlit run app.py`` on a free local port with
``CRIME_TRUST_STORE`` pointing at ``store_dir`` (an empty folder makes the app use the
committed snapshot), waits for ``/_stcore/health``, yields a :class:`Server` and kills the
process group at the end. The server's stderr is captured to a file; ``Server.tracebacks()``
returns any Python traceback found in it, and leaving the block raises if there was one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
#: ``pytestmark`` for a module of browser tests: marked (browser tests are slow, so they stay out of
#: the quick tier), and skipped where Chromium is absent.
BROWSER_TEST_MARKS = [pytest.mark.browser, pytest.mark.slow,
                      pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not installed")]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running Streamlit server: its URL, process and captured stderr."""

    url: str
    process: subprocess.Popen
    stderr_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def tracebacks(self) -> list[str]:
        """Return each Python traceback the server printed (empty when none)."""
        text = self.stderr()
        return [chunk for chunk in text.split("Traceback (most recent call last):")[1:]]

    def rss_kb(self) -> int:
        """Resident memory of the server process in kB (from /proc)."""
        return rss_kb(self.pid)


def rss_kb(pid: int) -> int:
    """Return VmRSS of a process in kB, read from /proc (no psutil needed)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_s(pid: int | None = None) -> float:
    """CPU seconds (user + system) used so far by process ``pid``, or by the whole machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    if pid is None:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        return (sum(int(v) for v in fields) - int(fields[3]) - int(fields[4])) / ticks  # all but idle and iowait
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def running_app(store_dir: Path, *, log_dir: Path | None = None, timeout_s: float = 60,
                script: str = "app.py", root: Path = ROOT) -> Iterator[Server]:
    """Start the app (or another ``script``) against ``store_dir``, yield the server, stop it, fail on a traceback.

    ``root`` is the checkout to run from (another one lets a benchmark compare versions).
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_dir = log_dir or store_dir.parent
    log_dir.mkdir(parents=True, exist_ok=True)
    stderr_path = log_dir / f"streamlit-{port}.stderr.log"
    env = {**os.environ, "CRIME_TRUST_STORE": str(store_dir), "PYTHONUNBUFFERED": "1",
           # A local stub for the live API, so nothing can reach the internet by accident.
           "POLICE_API_URL": os.environ.get("POLICE_API_URL", "http://127.0.0.1:9/api")}
    cmd = [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    with open(stderr_path, "wb") as err:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True)
    server = Server(url, proc, stderr_path)
    try:
        deadline = time.monotonic() + timeout_s
        while not _healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{server.stderr()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit not healthy after {timeout_s:.0f} s:\n{server.stderr()[-3000:]}")
            time.sleep(0.2)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    found = server.tracebacks()
    if found:
        raise AssertionError(f"the server printed {len(found)} traceback(s):\n"
                             + "Traceback (most recent call last):" + found[0][-3000:])


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """Launch Debian's headless Chromium through Playwright (sync API); close it at the end."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# --- shared browser helpers (JavaScript run in the page) ------------------------------------------

#: Record every change of the app's script state (``data-test-script-state`` on ``stApp``:
#: initial / running / notRunning / rerunRequested …) with a timestamp, so a test can wait for
#: "a run started after my action and has finished" without racing the first rerun.
WATCH_RUNS_JS = """() => {
  if (window.__runs) return window.__runs.length;
  window.__runs = [];
  const app = document.querySelector('[data-testid="stApp"]');
  const rec = () => window.__runs.push([performance.now(), app.getAttribute('data-test-script-state')]);
  rec();
  new MutationObserver(rec).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  return window.__runs.length;
}"""

#: True once a run that started after ``mark`` (an index into __runs) has finished.
RUN_DONE_JS = """(mark) => {
  const runs = (window.__runs || []).slice(mark);
  const started = runs.findIndex(r => r[1] === 'running');
  if (started < 0) return false;
  const app = document.querySelector('[data-testid="stApp"]');
  return runs.slice(started).some(r => r[1] === 'notRunning')
         && app.getAttribute('data-test-script-state') === 'notRunning';
}"""

IDLE_SELECTOR = '[data-testid="stApp"][data-test-script-state="notRunning"]'

#: The first area map on the page (ui/area_map.js registers each in ``window.__lctAreaMaps``).
MAP_JS = "() => [...(window.__lctAreaMaps || [])].find(m => m.areas && m.wrap.isConnected)"
#: The pixel (from the map's top left) where the first area map draws a lon/lat, or null.
PROJECT_JS = "([lon, lat]) => { const m = (" + MAP_JS + ")(); return m ? m.project(lon, lat) : null; }"
#: The first area map's view: centre lon/lat, zoom and how many times it has drawn.
VIEW_JS = "() => { const m = (" + MAP_JS + ")(); return m ? m.view() : null; }"
MAP_SELECTOR = ".map canvas"


def flat_colour_stats(png: bytes) -> tuple[float, int]:
    """Return (pixel variance over RGB, number of distinct colours) of a PNG screenshot."""
    import io

    from PIL import Image, ImageStat

    img = Image.open(io.BytesIO(png)).convert("RGB")
    variance = sum(ImageStat.Stat(img).var) / 3
    colours = img.getcolors(maxcolors=1 << 20)
    return variance, len(colours) if colours else 1 << 20


def cli_args_from_url(params: dict[str, list[str]]) -> list[str]:
    """Translate the app's URL query parameters into ``python -m analysis export priorities`` flags.

    The app writes every setting into the URL; the CLI has its own defaults, so every value is
    passed explicitly. Thresholds are canonical fractions ('2/3') or decimals in the URL.
    """
    from fractions import Fraction

    def one(key: str, default: str | None = None) -> str | None:
        return params.get(key, [default])[0]

    def threshold(key: str, default: str) -> str:
        value = Fraction(one(key, default) or default)
        if value > 1:  # an old link's whole percent
            value /= 100
        return repr(float(value))

    args = ["--level", one("level", "ward"), "--source", one("src", "mps_ward"), "--measure", one("measure", "rate"),
            "--trust-measure", one("trust", "trust_mps"), "--method", one("method", "percentile"),
            "--crime-pct", threshold("cpct", "2/3"), "--trust-pct", threshold("tpct", "1/3")]
    if one("start"):
        args += ["--from", one("start")]
    if one("end"):
        args += ["--to", one("end")]
    for t in params.get("types", []):
        args += ["--crime-type", t]
    for g in params.get("groups", []):
        args += ["--crime-group", g]
    if one("eb") == "1" and one("measure", "rate") == "rate" and one("level", "ward") == "ward":
        args.append("--smoothed")
    return args
