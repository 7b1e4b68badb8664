"""Months and periods: arithmetic on 'YYYY-MM', period menus, comparisons, and the plan's dates.

Every other module asks here when a question is about time: which periods a result is
compared with, whether a period spans the Met's CRIS→CONNECT switch, when the plan was
launched and what its baseline is, and how a list of months reads in a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")

#: The Met moved from CRIS to CONNECT on 28 Feb 2024; a period containing that month mixes both.
CONNECT_MONTH = "2024-02"
CONNECT_NOTE = ("This period spans the Met's move from CRIS to CONNECT (28 Feb 2024); some categories were renamed "
                "and counts may shift.")


@dataclass(frozen=True)
class PlanDates:
    """When "A New Met for London 2023-2025" began, and the baseline it is judged against.

    Attributes
    ----------
    launch_month
        The plan was launched in January/February 2023.
    baseline_year
        The calendar year before the launch: crime is compared with the same months of it.
    trust_baseline
        The survey year ending 31 December 2022, the last figure before the launch.
    """

    launch_month: str = "2023-01"
    baseline_year: int = 2022
    trust_baseline: pd.Timestamp = field(default_factory=lambda: pd.Timestamp("2022-12-31"))

    @property
    def launch_date(self) -> pd.Timestamp:
        """The last day of the launch month, where charts mark the launch."""
        return pd.Period(self.launch_month, "M").end_time.normalize()

    @property
    def baseline(self) -> tuple[str, str]:
        """The baseline crime period, e.g. ('2022-01', '2022-12')."""
        return f"{self.baseline_year}-01", f"{self.baseline_year}-12"


PLAN = PlanDates()


def is_month(text: object) -> bool:
    """Tell whether ``text`` is a 'YYYY-MM' month.

    Examples
    --------
    >>> is_month("2024-02"), is_month("2024-13"), is_month(None)
    (True, False, False)
    """
    return isinstance(text, str) and _MONTH.fullmatch(text) is not None


def shift_month(month: str, k: int) -> str:
    """Return the month ``k`` months after ``month`` ('YYYY-MM').

    Examples
    --------
    >>> shift_month("2024-01", -1), shift_month("2023-11", 14)
    ('2023-12', '2025-01')
    """
    y, m = int(month[:4]), int(month[5:7])
    index = y * 12 + (m - 1) + k
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(start: str, end: str) -> int:
    """Count the months from ``start`` to ``end`` inclusive.

    Examples
    --------
    >>> months_between("2023-04", "2024-03")
    12
    """
    return (int(end[:4]) - int(start[:4])) * 12 + int(end[5:7]) - int(start[5:7]) + 1


def month_range(start: str, end: str) -> list[str]:
    """Every month from ``start`` to ``end`` inclusive.

    Examples
    --------
    >>> month_range("2023-11", "2024-02")
    ['2023-11', '2023-12', '2024-01', '2024-02']
    """
    return [shift_month(start, k) for k in range(months_between(start, end))]


def month_runs(months: Sequence[str]) -> str:
    """Compress months into runs for a sentence, e.g. '2021-01–2021-03, 2022-05'.

    Evenly spaced months (the survey's quarter ends) make one run too.

    Examples
    --------
    >>> month_runs(["2021-01", "2021-02", "2021-03", "2022-05"])
    '2021-01–2021-03, 2022-05'
    >>> month_runs(["2023-03", "2023-06", "2023-09", "2023-12"])
    '2023-03–2023-12, quarterly'
    """
    index = sorted({pd.Period(m, "M").ordinal: m for m in months}.items())
    runs: list[tuple[list[str], int]] = []  # (months, step in months)
    previous = None
    for ordinal, m in index:
        if runs and previous is not None:
            step = ordinal - previous
            got, run_step = runs[-1]
            if (len(got) == 1 and step in (1, 3)) or step == run_step:
                runs[-1] = ([*got, m], step)
                previous = ordinal
                continue
        runs.append(([m], 0))
        previous = ordinal
    words = {1: "", 3: ", quarterly"}
    return ", ".join(got[0] if len(got) == 1 else f"{got[0]}–{got[-1]}{words[step]}" for got, step in runs)


def period_presets(months: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Named periods that lie wholly within ``months``: the menu of a period picker.

    Parameters
    ----------
    months
        Available months 'YYYY-MM' (e.g. from ``analysis.query.months_available``).

    Returns
    -------
    dict
        Label → (start, end), newest first: latest month, last 3 and 12 months, each full
        financial year (April-March), the plan's baseline year and all months.

    Examples
    --------
    >>> p = period_presets([f"2022-{m:02d}" for m in range(1, 13)] + ["2023-01", "2023-02", "2023-03"])
    >>> p["Latest month (2023-03)"], p["Last 12 months"], p["Financial year 2022/23"]
    (('2023-03', '2023-03'), ('2022-04', '2023-03'), ('2022-04', '2023-03'))
    >>> p["Calendar year 2022"]
    ('2022-01', '2022-12')
    """
    have = set(months)
    if not have:
        return {}
    latest, first = max(have), min(have)

    def whole(start: str, end: str) -> bool:
        return all(m in have for m in month_range(start, end))

    presets: dict[str, tuple[str, str]] = {f"Latest month ({latest})": (latest, latest)}
    for n in (3, 12):
        start = shift_month(latest, -(n - 1))
        if whole(start, latest):
            presets[f"Last {n} months"] = (start, latest)
    for year in range(int(latest[:4]), int(first[:4]) - 2, -1):
        start, end = f"{year}-04", f"{year + 1}-03"
        if whole(start, end):
            presets[f"Financial year {year}/{(year + 1) % 100:02d}"] = (start, end)
    if whole(*PLAN.baseline):
        presets[f"Calendar year {PLAN.baseline_year}"] = PLAN.baseline
    if whole(first, latest):
        presets["All months"] = (first, latest)
    return presets


def comparison_periods(start: str, end: str) -> dict[str, tuple[str, str] | None]:
    """Return the periods a result is compared with: previous, a year before, the same months of 2022.

    The 2022 comparison shifts the period by whole years so it starts in the plan's baseline
    year; it is None for periods longer than 12 months.

    Examples
    --------
    >>> comparison_periods("2024-04", "2025-03")["vs_2022"]
    ('2022-04', '2023-03')
    >>> comparison_periods("2024-01", "2024-03")["prev"]
    ('2023-10', '2023-12')
    """
    n = months_between(start, end)
    years = int(start[:4]) - PLAN.baseline_year
    return {
        "prev": (shift_month(start, -n), shift_month(end, -n)),
        "year_ago": (shift_month(start, -12), shift_month(end, -12)),
        "vs_2022": (shift_month(start, -12 * years), shift_month(end, -12 * years)) if n <= 12 else None,
    }


def straddles_connect(source: str, start: str, end: str) -> bool:
    """Tell whether a Met ward-data period contains the CRIS→CONNECT switch (28 Feb 2024).

    Examples
    --------
    >>> straddles_connect("mps_ward", "2023-07", "2024-06"), straddles_connect("mps_ward", "2024-03", "2025-02")
    (True, False)
    """
    return source == "mps_ward" and start <= CONNECT_MONTH <= end
