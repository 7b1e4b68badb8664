"""Tests for analysis.periods: period menus and month runs (its doctests run in test_doctests.py)."""

from __future__ import annotations

import pytest

from analysis.periods import PLAN, comparison_periods, month_runs, period_presets


def test_period_presets() -> None:
    months = [f"{y}-{m:02d}" for y in (2023, 2024, 2025) for m in range(1, 13)][6:30]  # Jul 2023 - Jun 2025
    presets = period_presets(months)
    assert presets["Latest month (2025-06)"] == ("2025-06", "2025-06")
    assert presets["Last 3 months"] == ("2025-04", "2025-06")
    assert presets["Last 12 months"] == ("2024-07", "2025-06")
    assert presets["Financial year 2024/25"] == ("2024-04", "2025-03")
    assert "Financial year 2023/24" not in presets  # April-June 2023 missing
    assert "Calendar year 2022" not in presets


@pytest.mark.parametrize(("months", "runs"), [
    ([], ""), (["2021-01"], "2021-01"), (["2021-12", "2022-01"], "2021-12–2022-01"),
    (["2021-01", "2021-02", "2021-03", "2022-05"], "2021-01–2021-03, 2022-05"),
    (["2014-12", "2015-03", "2015-06", "2015-09"], "2014-12–2015-09, quarterly"),
    (["2021-01", "2021-02", "2021-05", "2021-08"], "2021-01–2021-02, 2021-05–2021-08, quarterly")])
def test_month_runs(months, runs):
    assert month_runs(months) == runs


def test_plan_dates_are_one_definition() -> None:
    assert PLAN.baseline == ("2022-01", "2022-12")
    assert str(PLAN.trust_baseline.date()) == "2022-12-31" and str(PLAN.launch_date.date()) == "2023-01-31"
    assert comparison_periods("2025-01", "2025-12")["vs_2022"] == PLAN.baseline
