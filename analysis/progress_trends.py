"""Were the groups already diverging before the baseline? A trend test for every comparison.

A before/after comparison assumes the two groups would have moved alike without the plan.
Before the baseline that can be checked: each comparison's monthly totals get a log-linear
trend difference (``analysis.change.trend_difference``, quasi-Poisson with t intervals), and
its interval is carried over the follow-up (from the middle of the baseline to the middle of
the latest window): a drift anywhere in that range cannot be ruled out, so an observed change
inside it could be the old trend going on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.change import TrendTest, trend_difference
from analysis.progress_groups import COMPARISONS

#: Months before the baseline needed for the trend test.
MIN_TREND_MONTHS = 6


@dataclass(frozen=True)
class PreTrend:
    """One comparison's pre-baseline trend and the drift it allows over the follow-up."""

    test: TrendTest
    follow_up_months: int

    @property
    def diverging(self) -> bool:
        """True when the interval of the yearly trend ratio leaves out 1."""
        return not (self.test.lo <= 1 <= self.test.hi)

    @property
    def drift(self) -> tuple[float, float, float]:
        """The trend carried over the follow-up: (value, lo, hi) as ratios."""
        years = self.follow_up_months / 12
        return self.test.per_year ** years, self.test.lo ** years, self.test.hi ** years


def pre_trends(monthly: np.ndarray, members: dict[str, np.ndarray], months: list[str], held: set[str],
               baseline_start: str, follow_up_months: int) -> dict[str, PreTrend]:
    """Each comparison's trend difference over the held months before the baseline (none without 6 months)."""
    before = [k for k, m in enumerate(months) if m < baseline_start and m in held]
    if len(before) < MIN_TREND_MONTHS:
        return {}
    out = {}
    for name, (first, second) in COMPARISONS.items():
        a = np.nansum(monthly[members[first]][:, before], axis=0)
        b = np.nansum(monthly[members[second]][:, before], axis=0)
        if a.sum() > 0 and b.sum() > 0:
            out[name] = PreTrend(trend_difference(a, b, [months[k] for k in before]), follow_up_months)
    return out
