"""Lint, type and layering checks, so CI fails on them like on any other test.

ruff (with pydocstyle's numpy convention) over the whole project; mypy over the pure
packages (core, data_sources, geo, analysis), as configured in pyproject.toml; imports read
with ``ast`` so that every import goes down the layers (pages → ui → analysis →
data_sources → geo → core, and inside data_sources fetch → build → store → read), and no
module grows past 500 lines.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("command", [["ruff", "check", "."], ["mypy"]], ids=["ruff", "mypy"])
def test_clean(command: list[str]) -> None:
    if shutil.which(command[0], path=str(Path(sys.executable).parent)) is None:
        pytest.skip(f"{command[0]} is not installed in this environment")
    run = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


PURE_PACKAGES = ("core", "data_sources", "geo", "analysis")


def _sources(*folders: str) -> list[Path]:
    return [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", _sources(*PURE_PACKAGES), ids=_name)
def test_pure_packages_neither_draw_nor_cache(path: Path) -> None:
    """Streamlit and caching live in ui/ only: a notebook or a job imports the rest unchanged."""
    text = path.read_text()
    assert "import streamlit" not in text
    assert not re.search(r"@(functools\.)?(lru_cache|cache)\b|import .*\blru_cache\b", text)


@pytest.mark.parametrize("path", [ROOT / "app.py", *_sources("pages")], ids=_name)
def test_pages_change_url_and_session_only_through_state(path: Path) -> None:
    text = path.read_text()
    for forbidden in ("st.query_params[", "st.session_state[", "del st.query_params", "st.switch_page("):
        assert forbidden not in text, f"{path.name} uses {forbidden}; add a helper to ui/state.py"


#: Top-level layers, lowest first: a module imports only from its own layer or a lower one.
LAYERS = ("core", "geo", "data_sources", "analysis", "ui", "pages")
#: data_sources' sub-packages, lowest first; its shared top modules (settings, schemas,
#: coverage) sit below them all, and its entry points (counts, cli) above.
SUBLAYERS = ("read", "store", "build", "fetch")
ENTRY_POINTS = ("counts", "cli", "__main__")
LAYERED = [ROOT / "app.py", *_sources(*LAYERS)]
#: The layers above data_sources, which use it through its sub-packages' re-exports.
ABOVE_DATA_SOURCES = [ROOT / "app.py", *_sources("analysis", "ui", "pages")]


def _imports(path: Path) -> list[str]:
    """Every module an ``import`` or ``from ... import`` names, dotted (relative imports resolved)."""
    names = []
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            # ``from package import module`` names the module: keep both levels.
            names += [module, *(f"{module}.{alias.name}" for alias in node.names)]
    return names


def _rank(parts: tuple[str, ...]) -> tuple[int, int]:
    """A module's place: its layer, and inside data_sources its sub-layer."""
    layer = LAYERS.index(parts[0]) if parts[0] in LAYERS else len(LAYERS)  # app.py is a page
    if parts[0] != "data_sources" or len(parts) < 2:
        return layer, 0
    if parts[1] in SUBLAYERS:
        return layer, 1 + SUBLAYERS.index(parts[1])
    return layer, (1 + len(SUBLAYERS) if parts[1] in ENTRY_POINTS else 0)


@pytest.mark.parametrize("path", LAYERED, ids=_name)
def test_imports_go_down_the_layers(path: Path) -> None:
    """pages → ui → analysis → data_sources → geo → core; inside data_sources fetch → build → store → read."""
    own = path.relative_to(ROOT).with_suffix("").parts
    upward = sorted({name for name in _imports(path) if name.split(".")[0] in LAYERS
                     and _rank(tuple(name.split("."))) > _rank(own)})
    assert not upward, f"{_name(path)} imports from a higher layer: {upward}"


@pytest.mark.parametrize("path", _sources(*PURE_PACKAGES), ids=_name)
def test_pure_packages_never_import_streamlit(path: Path) -> None:
    assert not [name for name in _imports(path) if name.split(".")[0] == "streamlit"]


def _reexports() -> set[str]:
    """``data_sources.<sub>.<name>`` for every name a sub-package's ``__all__`` lists."""
    names = set()
    for sub in SUBLAYERS:
        tree = ast.parse((ROOT / "data_sources" / sub / "__init__.py").read_text())
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
                names |= {f"data_sources.{sub}.{ast.literal_eval(e)}" for e in node.value.elts}  # type: ignore[attr-defined]
    return names


@pytest.mark.parametrize("path", ABOVE_DATA_SOURCES, ids=_name)
def test_other_layers_use_data_sources_packages_not_their_modules(path: Path) -> None:
    """Outside data_sources, a sub-package is imported by what its ``__init__`` re-exports."""
    deep = sorted({name for name in _imports(path) if name.split(".")[:1] == ["data_sources"]
                   and len(name.split(".")) > 2 and name.split(".")[1] in SUBLAYERS})
    deep = [name for name in deep if ".".join(name.split(".")[:3]) not in _reexports()]
    assert not deep, f"{_name(path)} reaches into {deep}; import from the sub-package"


def test_every_reexport_is_used_by_another_layer() -> None:
    """A sub-package's ``__init__`` lists only what analysis, ui or the pages import from it."""
    used = {name for path in ABOVE_DATA_SOURCES for name in _imports(path)}
    assert _reexports(), "no sub-package re-exports anything"
    assert not sorted(_reexports() - used)


@pytest.mark.parametrize("path", [*LAYERED, *_sources("benchmarks", "tools")], ids=_name)
def test_no_module_over_500_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 500, f"{_name(path)}: split it by job"
