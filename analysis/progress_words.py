"""The plan-progress findings in plain words, and what the figures cannot show.

The page shows these sentences first (the headline, then the comparisons, what selection
alone and the placebo give, the pre-baseline trends and trust) and the export writes them
into its metadata, so both say the same thing. Every number comes from ``Progress.summary``.
None of them claims a cause: the comparison groups are the closer comparison, not a control.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.progress import Progress
from analysis.progress_groups import COMPARISONS
from analysis.progress_windows import survey_words, window_words

CAVEATS = (
    "This describes what happened; it is not an evaluation of what the plan caused.",
    "The comparison groups are the closer comparison, not a control: nobody chose the cohort at random, and areas "
    "picked for high crime tend to fall back even if nothing is done (regression to the mean), which is why the "
    "page shows what selection alone and the placebo give.",
    "At ward level, trust is the borough's figure: no ward-level survey results are published.",
)
#: Interviews per borough per survey year in MOPAC's design (100 a quarter; UK Data Service study 7048).
DESIGN_WORDS = ("{n:g} interviews per borough a year (MOPAC's design: 100 a quarter; an unweighted count, no "
                "design effect is published) divided by a design effect of {deff:g}")


def _movement(change: float, lo: float, hi: float, *, noun: bool = False) -> str:
    """'fell 6% (95% interval 2–11%)' (or 'a fall of 6% …' with ``noun``); signed when the interval spans 0."""
    if not np.isfinite(change):
        return "no comparable figure"
    known = bool(np.isfinite(lo) and np.isfinite(hi))
    if known and lo < 1 < hi:
        words = "a change of" if noun else "changed by"
        return f"{words} {change - 1:+.0%} (95% interval {lo - 1:+.0%} to {hi - 1:+.0%})"
    low, high = sorted((abs(lo - 1), abs(hi - 1))) if known else (0.0, 0.0)
    span = f" (95% interval {low * 100:.0f}–{high * 100:.0f}%)" if known else " (no interval)"
    if noun:
        return f"{'a fall' if change < 1 else 'a rise'} of {abs(change - 1):.0%}{span}"
    return f"{'fell' if change < 1 else 'rose'} {abs(change - 1):.0%}{span}"


def _comparison(ratio: float, lo: float, hi: float) -> str:
    """How one group's change compares with another's, in words, as a ratio of changes and what it cannot rule out."""
    figure = f"ratio of changes {ratio:.2f}, 95% interval {lo:.2f}–{hi:.2f}"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"ratio of changes {ratio:.2f} (no interval: too few boroughs to estimate one)"
    if lo <= 1 <= hi:
        widest = max(1 - lo, hi - 1)
        return f"no clear difference ({figure}): differences of up to about {widest:.0%} either way cannot be ruled out"
    if hi < 1:
        return f"the flagged areas' crime fell more or rose less ({figure})"
    return f"the flagged areas' crime rose more or fell less ({figure})"


def _selection_verdict(ratio: float, lo: float, hi: float) -> str:
    """Whether an observed ratio lies beyond what selection alone would produce."""
    if ratio < lo:
        return f"a bigger fall than selection alone would produce (its 95% range {lo:.2f}–{hi:.2f})"
    if ratio > hi:
        return f"less of a fall than selection alone would produce (its 95% range {lo:.2f}–{hi:.2f})"
    return f"within what selection alone would produce (95% range {lo:.2f}–{hi:.2f})"


def sentences(progress: Progress) -> list[str]:
    """The findings in plain words, headline first (numbers from ``progress.summary``).

    Examples
    --------
    >>> _movement(0.88, 0.85, 0.91), _movement(1.04, 1.02, 1.07, noun=True)
    ('fell 12% (95% interval 9–15%)', 'a rise of 4% (95% interval 2–7%)')
    >>> _movement(0.97, 0.92, 1.02)
    'changed by -3% (95% interval -8% to +2%)'
    >>> _comparison(0.99, 0.93, 1.06)
    'no clear difference (ratio of changes 0.99, 95% interval 0.93–1.06): differences of up to about 7% either \
way cannot be ruled out'
    >>> _selection_verdict(0.92, 0.91, 1.03)
    'within what selection alone would produce (95% range 0.91–1.03)'
    """
    s = progress.summary.set_index("group")
    labels = progress.labels
    areas = "wards" if progress.query.level == "ward" else "boroughs"

    def counted(n: float) -> str:
        return f"{int(n)} {areas if int(n) != 1 else areas[:-1]}"

    what = progress.crime_words.lower() if progress.crime_words != "All crime" else "recorded crime"
    cohort, other, main = s.loc["cohort"], s.loc["all_other"], s.loc["cohort_vs_all_other"]
    when = (f"{window_words(progress.settings.baseline_start, progress.settings.baseline_end)} against "
            f"{window_words(*progress.latest)}")
    headline = (f"Since the plan began ({when}), {what} "
                f"{_movement(cohort['change'], cohort['change_lo'], cohort['change_hi'])} in the "
                f"{counted(cohort['areas'])} flagged at launch, against "
                f"{_movement(other['change'], other['change_lo'], other['change_hi'], noun=True)} in "
                f"{labels['all_other']}")
    if "selection_alone" in s.index and np.isfinite(main["change"]):
        sel = s.loc["selection_alone"]
        verdict = _selection_verdict(main["change"], sel["change_lo"], sel["change_hi"])
        headline += f": a ratio of {main['change']:.2f}, {verdict}"
    out = [headline + "."]
    whom = {"all_other": lambda n: f"{labels['all_other']} ({n}, the main comparison)",
            "same_crime_other_trust": lambda n: f"the {counted(n)} as high in crime at launch but not low in trust "
                                                "(the closer comparison, not a control)",
            "lower_crime": lambda n: f"the {counted(n)} with lower crime at launch"}
    for name in ("cohort_vs_all_other", "cohort_vs_same_crime_other_trust", "cohort_vs_lower_crime"):
        second = COMPARISONS[name][1]
        if s.loc[second, "areas"] and np.isfinite(s.loc[name, "change"]):
            row, group = s.loc[name], s.loc[second]
            out.append(f"Against {whom[second](int(group['areas']))}, which saw "
                       f"{_movement(group['change'], group['change_lo'], group['change_hi'], noun=True)}: "
                       f"{_comparison(row['change'], row['change_lo'], row['change_hi'])}.")
    out += _selection_sentences(progress, s)
    out += _trend_sentences(progress, areas)
    out += _trust_sentences(progress, s, areas)
    return out


def _selection_sentences(progress: Progress, s: pd.DataFrame) -> list[str]:
    out = []
    labels = progress.labels
    if progress.selection is not None:
        sel = s.loc["selection_alone"]
        out.append(f"Selection alone, with no real change anywhere, would give a ratio of about {sel['change']:.2f} "
                   f"against {labels['all_other']} (95% range {sel['change_lo']:.2f}–{sel['change_hi']:.2f}, from each "
                   "area's persistent level, its year-to-year spells and chance); the observed ratio is "
                   f"{s.loc['cohort_vs_all_other', 'change']:.2f}.")
    if progress.placebo is not None:
        p = progress.placebo
        verb = "fell" if p.change.value < 1 else "rose"
        interval = (f", 95% interval {p.change.lo:.2f}–{p.change.hi:.2f}" if np.isfinite(p.change.lo) else "")
        areas = "wards" if progress.query.level == "ward" else "boroughs"
        out.append(f"Placebo: the same rule applied to {window_words(*p.baseline)} flags {p.areas} {areas}; over "
                   f"{window_words(*p.follow_up)}, before the plan, their crime {verb} against {labels['all_other']} "
                   f"by a ratio of {p.change.value:.2f}{interval}: what selection and chance alone produced, with no "
                   "plan yet.")
    return out


def _trend_sentences(progress: Progress, areas: str) -> list[str]:
    labels = progress.labels
    main = progress.pre_trends.get("cohort_vs_all_other")
    if main is None:
        return ["There are too few months before the baseline to test whether the groups were already diverging."]
    t = main.test
    drift = main.drift
    out = [f"Before the baseline ({window_words(*t.months)}) the flagged {areas} "
           f"{'were already' if main.diverging else 'were not clearly'} diverging from {labels['all_other']} "
           f"(trend ratio {t.per_year:.2f} a year, 95% interval {t.lo:.2f}–{t.hi:.2f}); carried over the "
           f"{main.follow_up_months} months between the windows, a drift anywhere from {drift[1]:.2f} to "
           f"{drift[2]:.2f} cannot be ruled out, so this test cannot exclude a drift as large as the change it "
           "guards against."]
    for name, trend in progress.pre_trends.items():
        if name != "cohort_vs_all_other" and trend.diverging:
            first, second = COMPARISONS[name]
            out.append(f"Already diverging before the baseline: {labels[first]} against {labels[second]} (trend "
                       f"ratio {trend.test.per_year:.2f} a year, 95% interval {trend.test.lo:.2f}–"
                       f"{trend.test.hi:.2f}, p = {trend.test.p:.3f}); comparisons with them carry that drift.")
    return out


def _trust_sentences(progress: Progress, s: pd.DataFrame, areas: str) -> list[str]:
    cohort, other, vs = s.loc["cohort"], s.loc["all_other"], s.loc["cohort_vs_all_other"]
    if not np.isfinite(cohort["trust_change"]):
        return []
    years = progress.trust_years
    where = "in the boroughs of the flagged wards" if areas == "wards" else "in the flagged boroughs"
    out = [f"Trust ('{progress.now.trust_label}', survey {survey_words(years.baseline)} against "
           f"{survey_words(years.latest)}): {where} it went from {cohort['trust_baseline']:.0%} to "
           f"{cohort['trust_latest']:.0%} ({cohort['trust_change']:+.1f} points, 95% interval "
           f"{cohort['trust_change_lo']:+.1f} to {cohort['trust_change_hi']:+.1f}), against "
           f"{other['trust_change']:+.1f} points in {progress.labels['all_other']}: a difference of "
           f"{vs['trust_change']:+.1f} points (95% interval {vs['trust_change_lo']:+.1f} to "
           f"{vs['trust_change_hi']:+.1f}). Survey intervals assume "
           + DESIGN_WORDS.format(n=progress.flags.n_per_quarter * 4, deff=progress.settings.design_effect) + "."
           + (" With the interval rule the design effect also decides which areas are flagged, at launch and now."
              if progress.flags.method == "interval" else "")]
    if not (years.baseline_overlaps and years.latest_overlaps):
        out.append("No survey year overlaps one of the crime windows: the nearest was used, so trust and crime "
                   "describe different times.")
    return out
