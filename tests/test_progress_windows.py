"""Tests for analysis.progress_windows: the latest crime window and the survey years aligned with windows."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.periods import month_range
from analysis.progress_windows import aligned_survey_year, gap_months, latest_window, survey_overlap
from core.errors import AnalysisInputError

HELD = month_range("2021-01", "2025-02")
QUARTERS = pd.to_datetime(["2024-03-31", "2024-06-30", "2024-09-30", "2024-12-31", "2025-03-31", "2025-06-30"])


@pytest.mark.parametrize(("start", "end", "window"), [
    (None, None, ("2024-03", "2025-02")),      # the newest 12 months held
    ("2023-04", None, ("2023-04", "2024-03")),  # --from alone: 12 months from it
    (None, "2023-12", ("2023-01", "2023-12")),  # --to alone: 12 months to it
    ("2023-01", "2023-12", ("2023-01", "2023-12")),
])
def test_latest_window_follows_the_baseline_length(start, end, window) -> None:
    assert latest_window(HELD, 12, start, end) == window


@pytest.mark.parametrize(("start", "end", "message"), [
    ("2023-01", "2023-06", "has 6 months but the baseline has 12"),
    (None, "2025-06", "not all in the data \\(missing 2025-03–2025-06"),
    ("2023-1", None, "'2023-1' is not a month"),
])
def test_latest_window_refuses_what_it_cannot_compare(start, end, message) -> None:
    with pytest.raises(AnalysisInputError, match=message):
        latest_window(HELD, 12, start, end)


@pytest.mark.parametrize(("window", "end", "months"), [
    (("2024-03", "2025-02"), "2025-03-31", 11),  # the year Apr 2024 – Mar 2025
    (("2024-03", "2025-02"), "2024-12-31", 10),  # Jan – Dec 2024
    (("2024-03", "2025-02"), "2025-06-30", 8),   # Jul 2024 – Jun 2025
    (("2022-01", "2022-12"), "2022-12-31", 12),
    (("2022-01", "2022-12"), "2023-12-31", 0),
])
def test_survey_overlap_counts_shared_months(window, end, months) -> None:
    assert survey_overlap(window, pd.Timestamp(end)) == months


def test_aligned_survey_year_takes_the_most_overlap_and_ties_go_to_the_earlier() -> None:
    assert aligned_survey_year(("2024-03", "2025-02"), QUARTERS) == ("2025-03-31", True)
    # Feb 2024 – Jan 2025: the years to Dec 2024 and to Mar 2025 share 11 months each with it; the earlier wins.
    assert survey_overlap(("2024-02", "2025-01"), pd.Timestamp("2024-12-31")) == 11
    assert survey_overlap(("2024-02", "2025-01"), pd.Timestamp("2025-03-31")) == 10
    assert aligned_survey_year(("2024-02", "2025-01"), QUARTERS) == ("2024-12-31", True)
    # a six-month window inside two years equally: Jul – Dec 2024 lies in the years to Dec 2024 and to Mar 2025
    tie = aligned_survey_year(("2024-07", "2024-12"), QUARTERS[3:5])
    assert tie == ("2024-12-31", True)


def test_aligned_survey_year_override_and_nearest() -> None:
    assert aligned_survey_year(("2024-03", "2025-02"), QUARTERS, "2024-06-30") == ("2024-06-30", True)
    with pytest.raises(AnalysisInputError, match="no survey year ends on '2024-05-31'"):
        aligned_survey_year(("2024-03", "2025-02"), QUARTERS, "2024-05-31")
    # no survey year overlaps 2021: the nearest (the earliest here), flagged as not overlapping
    assert aligned_survey_year(("2021-01", "2021-12"), QUARTERS) == ("2024-03-31", False)


def test_gap_months_is_the_follow_up() -> None:
    assert gap_months(("2022-01", "2022-12"), ("2024-03", "2025-02")) == 26
    assert gap_months(("2021-01", "2021-12"), ("2022-01", "2022-12")) == 12
