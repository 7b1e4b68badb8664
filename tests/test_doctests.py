"""Run the Examples sections of the analysis modules as doctests."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from analysis import classify, hotspots, stats


@pytest.mark.parametrize("module", [stats, hotspots, classify], ids=lambda module: module.__name__)
def test_module_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module.__name__} has no examples"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {module.__name__}"
