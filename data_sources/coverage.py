"""Find months whose data is missing or far below their neighbours, so coverage is never silent.

A header-only street file, an API month that came back with a fraction of the usual
crimes, a month with no input at all inside a source's range: each would otherwise show
as a real drop in crime. One rule finds them all, applied to each source's monthly totals:

    A month is a **gap** when, over the crime types that every non-empty neighbouring
    month has, it holds fewer than :data:`GAP_SHARE` of the median of those neighbours'
    totals, the neighbours being up to :data:`NEIGHBOURS` months on each side within the
    source's range, and that median being at least :data:`MIN_EXPECTED` crimes.

Comparing only the types every neighbour has keeps changes of coverage from looking like
gaps (the shared police.uk files hold burglary only outside 2022, all types in 2022).
Empty neighbours are skipped, so two empty months in a row are both found. A gap is
recorded, never filled: the month is reported by name and charts should show it as
missing, not as zero (``data_sources.build.currency.gap_months``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

#: A month below this share of its neighbours' median is a gap (the Met's stub months hold
#: 1-10% of a normal month; real month-to-month swings in London are within ±25%).
GAP_SHARE = 0.5
#: Neighbouring months looked at on each side.
NEIGHBOURS = 3
#: Below this many expected crimes a month is not judged (too few to tell a gap from noise).
MIN_EXPECTED = 50


@dataclass(frozen=True)
class Gap:
    """A month found empty or far below its neighbours.

    ``count`` and ``expected`` are over the crime types its neighbours all have;
    ``reason`` is plain words ("no rows", "header-only file", "4% of its neighbours").
    """

    month: str
    count: int
    expected: int
    reason: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def month_range(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last``, as YYYY-MM.

    Examples
    --------
    >>> month_range("2024-11", "2025-02")
    ['2024-11', '2024-12', '2025-01', '2025-02']
    """
    return [str(p) for p in pd.period_range(first, last, freq="M")]


def find_gaps(counts: pd.DataFrame, months: list[str] | None = None, *, share: float = GAP_SHARE,
              neighbours: int = NEIGHBOURS, min_expected: int = MIN_EXPECTED) -> list[Gap]:
    """Apply the gap rule to one source's counts.

    Parameters
    ----------
    counts
        ``month, crime_type, count`` (any extra columns are summed over).
    months
        The months the source should cover (default: every month from its first to its
        last with rows, so a month with no rows inside the range is judged too).

    Returns
    -------
    list of Gap
        In month order.

    Examples
    --------
    >>> c = pd.DataFrame({"month": ["2024-01", "2024-02", "2024-04", "2024-05"],
    ...                   "crime_type": "Burglary", "count": [4800, 4700, 4900, 5000]})
    >>> [(g.month, g.reason) for g in find_gaps(c)]
    [('2024-03', 'no rows')]
    """
    if counts.empty:
        return []
    table = counts.groupby(["month", "crime_type"], observed=True)["count"].sum().unstack(fill_value=0)
    table.index = table.index.astype(str)
    months = months or month_range(str(table.index.min()), str(table.index.max()))
    table = table.reindex(months, fill_value=0)
    values = table.to_numpy(dtype=np.int64)
    present = values > 0
    totals = values.sum(axis=1)
    gaps = []
    for i, month in enumerate(months):
        around = [j for j in range(max(0, i - neighbours), min(len(months), i + neighbours + 1))
                  if j != i and totals[j] > 0]
        if not around:
            continue
        common = present[around].all(axis=0)
        if not common.any():
            continue
        expected = float(np.median(values[around][:, common].sum(axis=1)))
        observed = int(values[i, common].sum())
        if expected >= min_expected and observed < share * expected:
            reason = "no rows" if totals[i] == 0 else f"{observed / expected:.0%} of its neighbours"
            gaps.append(Gap(month, observed, round(expected), reason))
    return gaps
