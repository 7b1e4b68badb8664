"""Tests for analysis.query: a query is checked and resolved once, and nothing below resolves it again."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import analysis.query as query_mod
from analysis.crime import crime_measures
from analysis.priorities import FlagSettings, area_flags, priority_base, priority_table
from analysis.progress import plan_progress
from analysis.query import (
    CrimeQuery,
    Period,
    ResolvedQuery,
    ResolvedSelection,
    resolve,
    resolve_selection,
    resolved,
    selected,
)
from analysis.tables import AnalysisTables
from analysis.trends import area_trends, monthly_trend, monthly_trend_by_type
from core.errors import AnalysisInputError, CrimeTrustError
from tests.test_progress import Q as PROGRESS_Q
from tests.test_progress import progress_tables
from tests.tiny import B1, BURGLARY, CITY, LONDON, NFIB, ROBBERY, W1, W4, tiny_tables

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("q", "message"), [
    # the period
    (CrimeQuery(start="2024-03", end="2024-01"), "start month 2024-03 is after end month 2024-01"),
    (CrimeQuery(start="2023-11", end="2024-02"),
     r"month 2023-11 is outside the data for source 'mps_ward' and the selected crime types \(available: "),
    (CrimeQuery(start="2024-13", end="2024-13"), "start month '2024-13' is not YYYY-MM"),
    (CrimeQuery(start="2024-01", end="April"), "end month 'April' is not YYYY-MM"),
    (CrimeQuery("police_uk", crime_types=("Anti-social behaviour",)),
     "source 'police_uk' has no month with all of the selected crime types"),
    # the crime selection
    (CrimeQuery(crime_types=("Burglary",)), r"unknown crime type 'Burglary' for source 'mps_ward'; choose from \["),
    (CrimeQuery(crime_groups=("THEFT",)), r"unknown crime group 'THEFT' for source 'mps_ward'; choose from \["),
    # the measure, level and source
    (CrimeQuery(measure="per_head"), r"unknown measure 'per_head'; choose from \['count', 'rate'"),
    (CrimeQuery(level="lsoa"), r"unknown level 'lsoa'; choose from \['ward', 'borough'\]"),
    (CrimeQuery(source="api"), r"unknown source 'api'; choose from \['police_uk', 'mps_ward'\]"),
    # several things wrong: the first in the documented order is named
    (CrimeQuery(level="lsoa", measure="per_head", crime_types=("NOPE",)), "unknown level 'lsoa'"),
    (CrimeQuery(crime_types=("NOPE",), start="2030-01", end="2030-02"), "unknown crime type 'NOPE'"),
])
def test_resolve_refuses_bad_input_with_the_named_error(tiny: AnalysisTables, q: CrimeQuery, message: str) -> None:
    with pytest.raises(AnalysisInputError, match=message) as caught:
        resolve(tiny, q)
    assert isinstance(caught.value, CrimeTrustError)  # the project's hierarchy, which pages and the CLI catch


@pytest.mark.parametrize(("q", "types", "mask", "period", "available"), [
    # every published type; no period: the latest 12 months, cut to the first month held
    (CrimeQuery(), (BURGLARY, NFIB, ROBBERY), [True, True, True], Period("2024-01", "2024-04", 0, 3),
     ("2024-01", "2024-02", "2024-03", "2024-04")),
    (CrimeQuery(crime_groups=("ROBBERY",), start="2024-02", end="2024-03"), (ROBBERY,), [False, False, True],
     Period("2024-02", "2024-03", 1, 2), ("2024-01", "2024-02", "2024-03", "2024-04")),
    # a type and a group add up
    (CrimeQuery(crime_types=(NFIB,), crime_groups=("BURGLARY",), end="2024-02"), (BURGLARY, NFIB),
     [True, True, False], Period("2024-01", "2024-02", 0, 1), ("2024-01", "2024-02", "2024-03", "2024-04")),
    # police.uk: anti-social behaviour is not a published Met type, so 'all' leaves it out
    (CrimeQuery("police_uk"), ("Burglary",), [False, True], Period("2022-01", "2022-02", 0, 1),
     ("2022-01", "2022-02")),
])
def test_resolve_works_out_types_months_and_period(tiny: AnalysisTables, q: CrimeQuery, types: tuple[str, ...],
                                                   mask: list[bool], period: Period,
                                                   available: tuple[str, ...]) -> None:
    r = resolve(tiny, q)
    assert r.query is q and r.source == q.source and r.level == q.level
    assert r.cube is tiny.cubes[q.source]
    assert r.crime_types == types
    assert r.mask.tolist() == mask and not r.mask.flags.writeable
    assert r.count_weights.tolist() == [float(m) for m in mask]
    assert r.period == period and r.available == available


def test_resolve_harm_weights_comparisons_and_spans(tiny: AnalysisTables) -> None:
    r = resolve(tiny, CrimeQuery(start="2024-03", end="2024-04", measure="harm"))
    # Met subgroups → Home Office weights; NFIB fraud has none, so it counts 0 towards harm.
    assert r.harm_weights.tolist() == [273.5, 0.0, 365.0]
    assert r.measure.id == "harm" and r.measure.basis == "harm"
    assert r.comparisons == {"prev": ("2024-01", "2024-02"), "year_ago": ("2023-03", "2023-04"),
                             "vs_2022": ("2022-03", "2022-04")}
    assert r.span("2024-01", "2024-02") == Period("2024-01", "2024-02", 0, 1)
    assert r.span("2023-03", "2023-04") is None  # the Met data starts in 2024
    gap = tiny_tables(manifest_extra={"currency": {"mps_ward": {"gaps": [
        {"month": "2024-02", "count": 3, "expected": 8, "reason": "short", "missing": True}]}}})
    assert resolve(gap, CrimeQuery(start="2024-03", end="2024-04")).span("2024-01", "2024-02") is None


def test_resolve_level_population_smoothing_and_label(tiny: AnalysisTables) -> None:
    ward = resolve(tiny, CrimeQuery(smoothed=True, crime_groups=("ROBBERY",)))
    assert ward.smoothed and ward.index is tiny.wards
    assert ward.population.tolist() == tiny.wards["population"].tolist()
    assert ward.crime_label == "Robbery of personal property"
    borough = resolve(tiny, CrimeQuery(level="borough", smoothed=True))
    # No measure is refused at a level; smoothing is a ward-level method, so it is not applied to boroughs.
    assert not borough.smoothed and borough.index is tiny.boroughs
    assert borough.population.tolist() == [500.0, 4000.0, 6000.0]  # City, B1, B2 (by code)
    assert borough.area_km2.tolist() == [1.0, 4.0, 6.0]
    assert borough.crime_label == "All crime"
    assert not resolve(tiny, CrimeQuery(measure="harm", smoothed=True)).smoothed


def test_resolved_passes_a_resolved_query_through_and_refuses_other_tables(tiny: AnalysisTables) -> None:
    r = resolve(tiny, CrimeQuery())
    assert resolved(tiny, r) is r
    with pytest.raises(AnalysisInputError, match="made from other tables"):
        resolved(tiny_tables(), r)


@pytest.mark.parametrize("run", [
    lambda t, q: crime_measures(t, q).areas,
    lambda t, q: priority_table(t, q, FlagSettings()).table,
    lambda t, q: priority_table(t, q, FlagSettings(method="interval")).table,
    lambda t, q: priority_base(t, q, FlagSettings()).crime.areas,
    lambda t, q: pd.DataFrame({"flagged": area_flags(t, q, FlagSettings()).flagged}),
    lambda t, q: monthly_trend(t, q, B1),
    lambda t, q: area_trends(t, q, (W1, B1, LONDON)),
    lambda t, q: monthly_trend_by_type(t, q, W4),
])
def test_entry_points_take_a_resolved_query_with_the_same_result(tiny: AnalysisTables,
                                                                 run: Callable[[AnalysisTables, Any], Any]) -> None:
    q = CrimeQuery(crime_types=(BURGLARY, ROBBERY), start="2024-02", end="2024-04", measure="count")
    pd.testing.assert_frame_equal(run(tiny, q), run(tiny, resolve(tiny, q)))


def _count_calls(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[int]:
    calls = [0]
    original = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


@pytest.mark.parametrize("run", [
    lambda t, q: priority_table(t, q, FlagSettings()),
    lambda t, q: priority_table(t, q, FlagSettings(method="interval", robustness_periods=3)),
    lambda t, q: area_trends(t, q, (W1, W4, CITY, B1, LONDON)),
])
def test_the_query_is_resolved_once_per_call(tiny: AnalysisTables, monkeypatch: pytest.MonkeyPatch,
                                             run: Callable[[AnalysisTables, Any], Any]) -> None:
    """Counted where no import can bypass it: the class's constructor and the tables' cube lookup."""
    made = _count_calls(monkeypatch, ResolvedQuery, "__init__")
    cubes = _count_calls(monkeypatch, AnalysisTables, "cube")
    checks = _count_calls(monkeypatch, query_mod, "check_query")
    masks = _count_calls(monkeypatch, query_mod, "type_mask")
    q = CrimeQuery(crime_types=(BURGLARY,), start="2024-03", end="2024-04", measure="count")
    run(tiny, q)
    assert (made[0], cubes[0], checks[0], masks[0]) == (1, 1, 1, 1)
    r = resolve(tiny, replace(q, measure="rate"))
    run(tiny, r)  # already resolved: nothing is resolved again
    assert (made[0], cubes[0], checks[0], masks[0]) == (2, 2, 2, 2)


def test_plan_progress_resolves_its_selection_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """One selection, then one resolved query per window (baseline, latest, the placebo's), none resolved again."""
    tables = progress_tables()
    selections = _count_calls(monkeypatch, ResolvedSelection, "__init__")
    windows = _count_calls(monkeypatch, ResolvedQuery, "__init__")
    cubes = _count_calls(monkeypatch, AnalysisTables, "cube")
    checks = _count_calls(monkeypatch, query_mod, "check_query")
    masks = _count_calls(monkeypatch, query_mod, "type_mask")
    progress = plan_progress(tables, PROGRESS_Q, FlagSettings())
    assert progress.placebo is not None  # three windows: the baseline, the latest and the placebo's
    assert (selections[0], windows[0], cubes[0], checks[0], masks[0]) == (1, 3, 1, 1, 1)
    plan_progress(tables, PROGRESS_Q, FlagSettings(), effects=False)
    assert (selections[0], windows[0], cubes[0], checks[0], masks[0]) == (2, 5, 2, 2, 2)
    selection = resolve_selection(tables, replace(PROGRESS_Q, measure="count"))
    again = plan_progress(tables, selection, FlagSettings())  # already resolved: only its windows are made
    assert (selections[0], windows[0], cubes[0], checks[0], masks[0]) == (3, 8, 3, 3, 3)
    assert again.query is selection.query


@pytest.mark.parametrize("measure_id", ["rate", "count", "harm", "density"])
def test_plan_progress_takes_a_resolved_selection_with_the_same_result(measure_id: str) -> None:
    tables, q = progress_tables(), replace(PROGRESS_Q, measure=measure_id)
    asked, given = (plan_progress(tables, x, FlagSettings()) for x in (q, resolve_selection(tables, q)))
    for name in ("areas", "summary", "crime_series", "trust_series"):
        pd.testing.assert_frame_equal(getattr(asked, name), getattr(given, name))
    assert (asked.query, asked.crime_words, asked.latest) == (given.query, given.crime_words, given.latest)


def test_for_period_is_resolve_with_that_period(tiny: AnalysisTables) -> None:
    q = CrimeQuery(crime_types=(BURGLARY, ROBBERY), measure="count")
    selection = resolve_selection(tiny, q)
    assert not isinstance(selection, ResolvedQuery) and selection.available == resolve(tiny, q).available
    window = selection.for_period("2024-02", "2024-04")
    direct = resolve(tiny, replace(q, start="2024-02", end="2024-04"))
    assert window.query == direct.query and window.period == direct.period
    assert window.comparisons == direct.comparisons and window.cube is selection.cube
    assert window.mask is selection.mask and window.population is selection.population
    assert selection.for_period(None, None).query is q  # the query's own period: the query as asked
    pd.testing.assert_frame_equal(crime_measures(tiny, window).areas, crime_measures(tiny, direct).areas)
    with pytest.raises(AnalysisInputError, match="month 2023-11 is outside the data for source 'mps_ward'"):
        selection.for_period("2023-11", "2024-02")
    with pytest.raises(AnalysisInputError, match="start month 2024-03 is after end month 2024-01"):
        selection.for_period("2024-03", "2024-01")


def test_selected_passes_a_selection_through_and_refuses_other_tables(tiny: AnalysisTables) -> None:
    selection = resolve_selection(tiny, CrimeQuery())
    window = selection.for_period(None, None)
    assert selected(tiny, selection) is selection and selected(tiny, window) is window
    with pytest.raises(AnalysisInputError, match="made from other tables"):
        selected(tiny_tables(), selection)
    with pytest.raises(AnalysisInputError, match="unknown crime type 'Nonsense'"):
        selected(tiny, CrimeQuery(crime_types=("Nonsense",)))


#: Modules below the entry points: they take a ResolvedQuery (plan progress: a ResolvedSelection) and must
#: not resolve a query themselves.
BELOW = ("analysis/crime.py", "analysis/priorities.py", "analysis/trends.py",
         *sorted(str(p.relative_to(REPO)) for p in (REPO / "analysis").glob("progress*.py")))
RESOLVING = re.compile(r"\b(check_query|type_mask|months_available|crime_label\(tables|\.cube\()")


@pytest.mark.parametrize("path", BELOW)
def test_modules_below_the_entry_points_do_not_resolve_again(path: str) -> None:
    found = RESOLVING.findall((REPO / path).read_text(encoding="utf-8"))
    assert not found, f"{path} resolves a query itself ({found}); take a ResolvedQuery from analysis.query.resolve"


def test_resolved_arrays_cannot_be_changed_by_a_caller(tiny: AnalysisTables) -> None:
    r = resolve(tiny, CrimeQuery())
    for name in ("mask", "count_weights", "harm_weights", "population", "area_km2"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(r, name)[0] = 0
    assert not np.shares_memory(r.population, tiny.wards["population"].to_numpy())  # a copy, not the tables' column
