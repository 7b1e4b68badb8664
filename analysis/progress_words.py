"""The plan-progress findings in plain words, and what the figures cannot show.

The page shows these sentences first (the headline, then the comparisons, regression to
the mean, the pre-launch trend and trust) and the export writes them into its metadata,
so both say the same thing. Every number comes from ``Progress.summary``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.progress import Progress

CAVEATS = (
    "This describes what happened; it is not an evaluation of what the plan caused.",
    "Areas picked for high crime tend to fall back even if nothing is done (regression to the mean): compare "
    "the cohort with the areas as high in crime but not low in trust, and see what selection alone predicts.",
    "At ward level, trust is the borough's figure: no ward-level survey results are published.",
)


def _movement(change: float, lo: float, hi: float, *, noun: bool = False) -> str:
    """'fell 6% (95% interval 2–11%)' (or 'a fall of 6% …' with ``noun``); signed when the interval spans 0."""
    if not np.isfinite(change):
        return "no comparable figure"
    known = bool(np.isfinite(lo) and np.isfinite(hi))
    if known and lo < 1 < hi:
        words = "a change of" if noun else "changed by"
        return f"{words} {change - 1:+.0%} (95% interval {lo - 1:+.0%} to {hi - 1:+.0%})"
    low, high = sorted((abs(lo - 1), abs(hi - 1))) if known else (0.0, 0.0)
    span = f" (95% interval {low * 100:.0f}–{high * 100:.0f}%)" if known else ""
    if noun:
        return f"{'a fall' if change < 1 else 'a rise'} of {abs(change - 1):.0%}{span}"
    return f"{'fell' if change < 1 else 'rose'} {abs(change - 1):.0%}{span}"


def _comparison(ratio: float, lo: float, hi: float) -> str:
    """How the cohort's change compares with another group's, in words and as a ratio of changes."""
    figure = f"ratio of changes {ratio:.2f}, 95% interval {lo:.2f}–{hi:.2f}"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"ratio of changes {ratio:.2f}"
    if lo <= 1 <= hi:
        return f"no clear difference ({figure})"
    if hi < 1:
        return f"better: crime fell more or rose less ({figure})"
    return f"worse: crime rose more or fell less ({figure})"


def _months_words(start: str, end: str) -> str:
    """'2022' for a calendar year, else 'Mar 2024 to Feb 2025'."""
    if start.endswith("-01") and end.endswith("-12") and start[:4] == end[:4]:
        return start[:4]
    return f"{pd.Period(start, 'M'):%b %Y} to {pd.Period(end, 'M'):%b %Y}"


def sentences(progress: Progress) -> list[str]:
    """The findings in plain words, headline first (numbers from ``progress.summary``).

    Examples
    --------
    >>> _movement(0.88, 0.85, 0.91), _movement(1.04, 1.02, 1.07, noun=True)
    ('fell 12% (95% interval 9–15%)', 'a rise of 4% (95% interval 2–7%)')
    >>> _movement(0.97, 0.92, 1.02)
    'changed by -3% (95% interval -8% to +2%)'
    >>> _comparison(0.99, 0.93, 1.06)
    'no clear difference (ratio of changes 0.99, 95% interval 0.93–1.06)'
    >>> _months_words("2022-01", "2022-12"), _months_words("2024-03", "2025-02")
    ('2022', 'Mar 2024 to Feb 2025')
    """
    s = progress.summary.set_index("group")
    areas = "wards" if progress.query.level == "ward" else "boroughs"

    def counted(n: float) -> str:
        return f"{int(n)} {areas if int(n) != 1 else areas[:-1]}"

    what = progress.crime_words.lower() if progress.crime_words != "All crime" else "recorded crime"
    cohort, rest, same = s.loc["cohort"], s.loc["rest"], s.loc["same_crime_other_trust"]
    when = (f"{_months_words(progress.settings.baseline_start, progress.settings.baseline_end)} against "
            f"{_months_words(*progress.latest)}")
    out = [f"Since the plan began, {what} {_movement(cohort['change'], cohort['change_lo'], cohort['change_hi'])} "
           f"in the {counted(cohort['areas'])} flagged at launch, against "
           f"{_movement(rest['change'], rest['change_lo'], rest['change_hi'], noun=True)} in the rest of London "
           f"({when})."]
    vs_rest = s.loc["cohort_vs_rest"]
    out.append("Against the rest of London: "
               f"{_comparison(vs_rest['change'], vs_rest['change_lo'], vs_rest['change_hi'])}.")
    if same["areas"]:
        vs = s.loc["cohort_vs_same_crime_other_trust"]
        out.append(f"Against the {counted(same['areas'])} as high in crime at launch but not low in trust, which "
                   f"saw {_movement(same['change'], same['change_lo'], same['change_hi'], noun=True)}: "
                   f"{_comparison(vs['change'], vs['change_lo'], vs['change_hi'])}.")
    if np.isfinite(progress.rtm):
        out.append(f"Regression to the mean alone, with no real change anywhere, would give a ratio of about "
                   f"{progress.rtm:.2f} against the rest of London.")
    if progress.pre_trend is not None:
        t = progress.pre_trend
        diverging = not (t.lo <= 1 <= t.hi)
        out.append(f"Before the baseline ({_months_words(*t.months)}) the flagged {areas} were "
                   f"{'already' if diverging else 'not'} diverging from the rest (trend ratio {t.per_year:.2f} a "
                   f"year, 95% interval {t.lo:.2f}–{t.hi:.2f}).")
    if np.isfinite(cohort["trust_change"]):
        out.append(f"Trust ('{progress.now.trust_label}') where the flagged {areas} are went from "
                   f"{cohort['trust_baseline']:.0%} to {cohort['trust_latest']:.0%} ({cohort['trust_change']:+.1f} "
                   f"points), against {rest['trust_change']:+.1f} points in the rest of London: a difference of "
                   f"{vs_rest['trust_change']:+.1f} points (95% interval {vs_rest['trust_change_lo']:+.1f} to "
                   f"{vs_rest['trust_change_hi']:+.1f}).")
    return out
