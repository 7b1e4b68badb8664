"""Plan progress windows: which crime months are compared, and which survey years go with them.

Crime is compared over two windows of whole months (the baseline and the latest); trust
must describe the same stretch of time, or a trust change is set against a crime change a
year apart. The MOPAC survey publishes rolling years (four quarters ending at a quarter
end), so for each crime window the survey year that shares most months with it is used
(ties go to the earlier year, the one published first), unless the user names one.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.periods import is_month, month_range, month_runs, months_between, shift_month
from core.errors import AnalysisInputError


def latest_window(available: Sequence[str], months: int, start: str | None = None,
                  end: str | None = None) -> tuple[str, str]:
    """Return the latest crime window: as long as the baseline, ending at ``end`` (default the newest month held).

    Either end may be given; the other follows from the baseline's length, so the two
    windows always cover the same number of months (and, for 12 months, every season once).

    Raises
    ------
    AnalysisInputError
        For a month that is not 'YYYY-MM', a window of another length than the baseline, or
        months the data lacks.

    Examples
    --------
    >>> latest_window(month_range("2021-01", "2025-02"), 12)
    ('2024-03', '2025-02')
    >>> latest_window(month_range("2021-01", "2025-02"), 12, start="2023-01")
    ('2023-01', '2023-12')
    """
    for name, month in (("--from", start), ("--to", end)):
        if month is not None and not is_month(month):
            raise AnalysisInputError(f"the latest window's {name} {month!r} is not a month; write it as YYYY-MM")
    if start is None:
        end = end or available[-1]
        start = shift_month(end, -(months - 1))
    elif end is None:
        end = shift_month(start, months - 1)
    if len(month_range(start, end)) != months:
        raise AnalysisInputError(f"the latest window {start} to {end} has {len(month_range(start, end))} months but "
                                 f"the baseline has {months}; choose a window as long as the baseline (give only "
                                 "--from or only --to and the other follows)")
    missing = [m for m in month_range(start, end) if m not in set(available)]
    if missing:
        raise AnalysisInputError(f"the latest window {start} to {end} is not all in the data (missing "
                                 f"{month_runs(missing)}; held: {month_runs(list(available)) or 'no months'}); "
                                 "choose months inside the data")
    return start, end


def survey_overlap(window: tuple[str, str], survey_end: pd.Timestamp) -> int:
    """Return how many months of a crime window a survey year ending at ``survey_end`` covers.

    Examples
    --------
    >>> survey_overlap(("2024-03", "2025-02"), pd.Timestamp("2025-03-31")), \
survey_overlap(("2024-03", "2025-02"), pd.Timestamp("2024-12-31"))
    (11, 10)
    """
    end = pd.Timestamp(survey_end)
    last = end.year * 12 + end.month - 1
    first, final = (int(m[:4]) * 12 + int(m[5:7]) - 1 for m in window)
    return max(0, min(final, last) - max(first, last - 11) + 1)


def aligned_survey_year(window: tuple[str, str], survey_ends: Sequence[pd.Timestamp],
                        chosen: str | None = None) -> tuple[str, bool]:
    """Return the survey year (its end, 'YYYY-MM-DD') for a crime window, and whether it overlaps the window.

    ``chosen`` (the user's override) wins when given and published. Otherwise the year
    sharing most months with the window, ties to the earlier; if none overlaps, the nearest
    year (the caller says so).

    Raises
    ------
    AnalysisInputError
        When ``chosen`` is not a published survey year, or there is none.

    Examples
    --------
    >>> ends = pd.to_datetime(["2024-12-31", "2025-03-31", "2025-06-30"])
    >>> aligned_survey_year(("2024-03", "2025-02"), ends)
    ('2025-03-31', True)
    >>> aligned_survey_year(("2024-02", "2025-01"), pd.to_datetime(["2024-12-31", "2025-03-31"]))
    ('2024-12-31', True)
    """
    ends = sorted(pd.Timestamp(e) for e in survey_ends)
    if not ends:
        raise AnalysisInputError("no survey years are held for this trust measure; choose another measure")
    if chosen is not None:
        if pd.Timestamp(chosen) not in ends:
            held = ", ".join(str(e.date()) for e in ends[-8:])
            raise AnalysisInputError(f"no survey year ends on {chosen!r} for this trust measure; choose one of "
                                     f"the years held (the latest: {held})")
        return str(pd.Timestamp(chosen).date()), survey_overlap(window, pd.Timestamp(chosen)) > 0
    overlaps = [survey_overlap(window, e) for e in ends]
    best = max(overlaps)
    if best > 0:
        return str(ends[overlaps.index(best)].date()), True
    middle = pd.Period(window[0], "M").start_time + (pd.Period(window[1], "M").end_time
                                                     - pd.Period(window[0], "M").start_time) / 2
    nearest = min(ends, key=lambda e: (abs(e - middle), e))
    return str(nearest.date()), False


def window_words(start: str, end: str) -> str:
    """'2022' for a calendar year, else 'Mar 2024 to Feb 2025'.

    Examples
    --------
    >>> window_words("2022-01", "2022-12"), window_words("2024-03", "2025-02")
    ('2022', 'Mar 2024 to Feb 2025')
    """
    if start.endswith("-01") and end.endswith("-12") and start[:4] == end[:4]:
        return start[:4]
    return f"{pd.Period(start, 'M'):%b %Y} to {pd.Period(end, 'M'):%b %Y}"


def survey_words(end: str) -> str:
    """'year to Mar 2025' for the survey year ending 2025-03-31.

    Examples
    --------
    >>> survey_words("2022-12-31")
    'year to Dec 2022'
    """
    return f"year to {pd.Timestamp(end):%b %Y}"


def gap_months(baseline: tuple[str, str], latest: tuple[str, str]) -> int:
    """Months from the middle of the baseline to the middle of the latest window (the follow-up).

    Examples
    --------
    >>> gap_months(("2022-01", "2022-12"), ("2024-03", "2025-02"))
    26
    """
    return months_between(baseline[0], latest[0]) - 1
