"""Which stop-and-search months are coverage gaps: missing, cut short, or far below the months before them.

police.uk's stop-and-search record has three kinds of hole, each of which would read as a
real fall in searches if drawn as it is: a month with no file (the Met's January 2022), a
month published cut short (the Met's December 2022 covers 1-17 December), and a run of
months that a partial feed holds at about a third of the usual volume (the Met's API
answers for September 2024 to April 2025). One rule per force finds them all:

    A month is a **gap** when nothing is held for it; when its searches start after day
    :data:`LATE_START_DAY` or stop before the last :data:`EARLY_END_DAYS` days of the month;
    or when it holds fewer than :data:`GAP_SHARE` of the median of the up to
    :data:`TRAILING` months before it that are not gaps themselves (at least
    :data:`MIN_TRAILING` of them, and that median at least :data:`MIN_EXPECTED` searches).

Comparing with the months *before* (and skipping earlier gaps) is what finds a long
partial run: each month of it is judged against the last normal months, not against its
equally short neighbours. A real fall of more than half in one month would be flagged too:
the gap is named, never hidden, and users can include it.
"""

from __future__ import annotations

import calendar

import numpy as np
import pandas as pd

# The crime rule's two thresholds serve here too (a gap is below half of its reference median,
# judged only from 50 expected): the partial API months hold ~35%.
from data_sources.coverage import GAP_SHARE, MIN_EXPECTED, month_range

#: Months before a month that make its reference.
TRAILING = 6
#: Fewer non-gap months before it and a month is judged against its neighbours on both sides.
MIN_TRAILING = 3
#: Searches starting after this day of the month mean the month was published cut short.
LATE_START_DAY = 4
#: Searches ending more than this many days before the month's end mean it was cut short.
EARLY_END_DAYS = 4


def _day_reason(month: str, first: int, last: int) -> str | None:
    days = calendar.monthrange(int(month[:4]), int(month[5:]))[1]
    if first > LATE_START_DAY or last < days - EARLY_END_DAYS:
        return f"cut short: covers {first}-{last} {calendar.month_abbr[int(month[5:])]} only"
    return None


def judge_months(held: pd.DataFrame) -> pd.DataFrame:
    """Add ``gap`` and ``gap_reason`` to one force's months, filling the months with nothing held.

    Parameters
    ----------
    held
        One force: ``month, searches, first_day, last_day, dataset`` (plus any columns, kept),
        one row per month that has searches.

    Returns
    -------
    DataFrame
        Every month from the first to the last held, in order; months with nothing held
        have zero counts and ``dataset`` ''.

    Examples
    --------
    >>> held = pd.DataFrame({"month": ["2024-01", "2024-02", "2024-03", "2024-05", "2024-06"],
    ...                      "searches": [900, 1000, 950, 300, 320], "first_day": 1,
    ...                      "last_day": [31, 29, 31, 31, 30], "dataset": "bulk_csv"})
    >>> judge_months(held)[["month", "gap_reason"]].to_numpy().tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['2024-01', <NA>], ['2024-02', <NA>], ['2024-03', <NA>], ['2024-04', 'no data held'],
     ['2024-05', '32% of the months before it'], ['2024-06', '34% of the months before it']]
    """
    months = month_range(str(held["month"].min()), str(held["month"].max()))
    table = held.set_index("month").reindex(months)
    table = table.fillna({c: 0 for c in table.columns if c != "dataset"}).fillna({"dataset": ""})
    counts = table["searches"].to_numpy(dtype="float64")
    reasons: list[str | None] = []
    for i, month in enumerate(months):
        reason = None
        if counts[i] == 0:
            reason = "no data held"
        else:
            reason = _day_reason(month, int(table["first_day"].iloc[i]), int(table["last_day"].iloc[i]))
        if reason is None:
            before = [j for j in range(max(0, i - 2 * TRAILING), i) if reasons[j] is None][-TRAILING:]
            if len(before) < MIN_TRAILING:  # too early in the run: neighbours on both sides
                before = [j for j in range(max(0, i - 3), min(len(months), i + 4))
                          if j != i and counts[j] > 0 and (j > i or reasons[j] is None)]
            expected = float(np.median(counts[before])) if before else 0.0
            if expected >= MIN_EXPECTED and counts[i] < GAP_SHARE * expected:
                reason = f"{counts[i] / expected:.0%} of the months before it"
        if reason is not None and table["dataset"].iloc[i] == "api" and "months" in reason:
            reason += " (partial API feed)"
        reasons.append(reason)
    out = table.reset_index()
    out["gap"] = [r is not None for r in reasons]
    out["gap_reason"] = pd.array(reasons, dtype="string")
    return out
