"""Tests for analysis.progress on made-up areas computed by hand, and on the snapshot.

Burglary (police.uk) per month, the same each month of a year, residents in brackets:

| ward | 2021 | 2022 (baseline) | 2023 (latest) |
| --- | --- | --- | --- |
| W1 (1,000) | 2 | 4 | 3 |
| W2 (2,000) | 1 | 1 | 1 |
| W3 (1,000) | 0 | 0 | 1 |
| W4 (4,000) | 3 | 3 | 2 |
| W5 (2,000) | 1 | 2 | 2 |

Baseline rates per 1,000: 48, 6, 0, 9, 12. Crime at or above the 2/3 quantile (11.0) is W1
and W5; trust at or below the 1/3 quantile (0.6, borough B1) is W1-W3. So the cohort is W1,
W5 is as high in crime but not low in trust, and W2-W4 are the rest.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.priorities import FlagSettings, priority_table
from analysis.progress import ProgressSettings, plan_progress
from analysis.query import CrimeQuery
from analysis.tables import AnalysisTables
from core.errors import AnalysisInputError
from tests.tiny import W1, W2, W3, W4, W5, tiny_tables

Z = 1.959963984540054
PER_MONTH = {2021: {W1: 2, W2: 1, W3: 0, W4: 3, W5: 1}, 2022: {W1: 4, W2: 1, W3: 0, W4: 3, W5: 2},
             2023: {W1: 3, W2: 1, W3: 1, W4: 2, W5: 2}}
Q = CrimeQuery(source="police_uk", level="ward", crime_types=("Burglary",))


def progress_tables(extra: dict[str, dict[str, int]] | None = None) -> AnalysisTables:
    rows = [(ward, f"{year}-{m:02d}", "Burglary", "Burglary", n) for year, counts in PER_MONTH.items()
            for m in range(1, 13) for ward, n in counts.items() if n]
    rows += [(ward, month, "Burglary", "Burglary", n) for month, counts in (extra or {}).items()
             for ward, n in counts.items() if n]
    return tiny_tables(police_uk=rows)


@pytest.fixture(scope="module")
def progress():
    return plan_progress(progress_tables(), Q, FlagSettings())


def _ci(ratio: float, log_var: float) -> tuple[float, float]:
    return ratio * math.exp(-Z * math.sqrt(log_var)), ratio * math.exp(Z * math.sqrt(log_var))


def test_groups_at_launch(progress) -> None:
    group = progress.areas.set_index("area_code")["group"]
    assert group.to_dict() == {W1: "cohort", W5: "same_crime_other_trust", W2: "rest", W3: "rest", W4: "rest"}
    assert progress.latest == ("2023-01", "2023-12")


def test_cohort_is_what_export_priorities_flags_over_the_baseline(progress) -> None:
    tables = progress_tables()
    launch = priority_table(tables, CrimeQuery("police_uk", crime_types=("Burglary",), start="2022-01", end="2022-12"),
                            FlagSettings(trust_period="2022-12-31")).table
    assert set(launch.loc[launch["flagged"], "area_code"]) == {W1}
    assert set(progress.areas.loc[progress.areas["group"] == "cohort", "area_code"]) == {W1}


def test_group_changes_and_intervals_by_hand(progress) -> None:
    s = progress.summary.set_index("group")
    # Cohort W1: 48 → 36 crimes, one area (dispersion 1): log variance 1/36 + 1/48.
    assert s.loc["cohort", ["baseline_count", "latest_count", "change"]].tolist() == pytest.approx([48, 36, 0.75])
    assert (s.loc["cohort", "change_lo"], s.loc["cohort", "change_hi"]) == pytest.approx(_ci(0.75, 1 / 36 + 1 / 48))
    assert s.loc["cohort", "baseline_value"] == pytest.approx(48.0)  # per 1,000 of its 1,000 residents
    # Rest W2-W4: 48 → 48; areas moved 12→12, 0→12, 36→24: χ² = 0 + 36/3 + 36/15 = 14.4 on 2 df.
    assert s.loc["rest", "dispersion"] == pytest.approx(7.2)
    assert (s.loc["rest", "change_lo"], s.loc["rest", "change_hi"]) == pytest.approx(_ci(1.0, 7.2 * (2 / 48)))
    assert s.loc["rest", "baseline_value"] == pytest.approx(48 / 7000 * 1000)
    # The cohort against the rest: 0.75 / 1.0, variances added.
    vs = s.loc["cohort_vs_rest"]
    assert (vs["change"], vs["change_lo"], vs["change_hi"]) == pytest.approx((0.75, *_ci(0.75, 1 / 36 + 1 / 48 + 0.3)))
    assert s.loc["london", "areas"] == 5 and s.loc["london", "change"] == pytest.approx(108 / 120)  # all five wards


def test_trust_changes_and_intervals_by_hand(progress) -> None:
    s = progress.summary.set_index("group")
    v1 = (0.58 * 0.42 + 0.6 * 0.4) / 400  # borough B1, 400 interviews each year (assumed)
    v2 = (0.82 * 0.18 + 0.8 * 0.2) / 400  # borough B2
    cohort = s.loc["cohort"]
    assert (cohort["trust_baseline"], cohort["trust_latest"]) == pytest.approx((0.6, 0.58))
    assert (cohort["trust_change"], cohort["trust_change_lo"], cohort["trust_change_hi"]) == pytest.approx(
        (-2.0, -2.0 - 100 * Z * math.sqrt(v1), -2.0 + 100 * Z * math.sqrt(v1)))
    # Rest: W2, W3 in B1 (3,000 residents) and W4 in B2 (4,000): weights 3/7 and 4/7.
    assert s.loc["rest", "trust_baseline"] == pytest.approx(0.6 * 3 / 7 + 0.8 * 4 / 7)
    assert s.loc["rest", "trust_change"] == pytest.approx(100 * (-0.02 * 3 / 7 + 0.02 * 4 / 7))
    # Cohort against rest: borough weights differ by (4/7, -4/7); B1 is counted once.
    vs = s.loc["cohort_vs_rest"]
    half = 100 * Z * (4 / 7) * math.sqrt(v1 + v2)
    assert (vs["trust_change"], vs["trust_change_lo"], vs["trust_change_hi"]) == pytest.approx(
        (100 * 4 / 7 * (-0.04), 100 * 4 / 7 * (-0.04) - half, 100 * 4 / 7 * (-0.04) + half))


def test_area_rows_exact_intervals_and_flagged_now(progress) -> None:
    a = progress.areas.set_index("area_code")
    assert a.loc[W3, "change"] != a.loc[W3, "change"]  # 0 → 12: no ratio
    assert a.loc[W1, ["baseline_count", "latest_count", "change"]].tolist() == pytest.approx([48, 36, 0.75])
    assert a.loc[W1, "trust_change"] == pytest.approx(-2.0)
    # Latest year: rates 36, 6, 12, 6, 12 (cut 12.0 at the 2/3 quantile); trust B1 0.58 lowest → W1, W3.
    assert a["flagged_now"].to_dict() == {W1: True, W2: False, W3: True, W4: False, W5: False}


def test_series_pre_trend_and_regression_to_the_mean(progress) -> None:
    cohort = progress.crime_series[progress.crime_series["group"] == "cohort"].set_index("quarter")
    assert cohort.loc["2022Q1", "count"] == 12 and cohort.loc["2023Q4", "count"] == 9
    assert cohort.loc["2022Q1", "value"] == pytest.approx(12.0)  # crimes per 1,000 residents in the quarter
    assert len(cohort) == 12 and cohort["months"].eq(3).all()
    # Before the baseline both groups were flat (W1 2 a month; the rest 4): no diverging trend.
    assert progress.pre_trend.months == ("2021-01", "2021-12")
    assert progress.pre_trend.per_year == pytest.approx(1.0)
    # Regression to the mean expects the cohort (W1 doubled into 2022) to fall back relative to the rest.
    assert progress.rtm < 1.0
    trust = progress.trust_series[progress.trust_series["group"] == "cohort"]
    assert trust["trust"].round(4).tolist() == [0.6, 0.58]


def test_cohort_is_fixed_at_launch_when_months_are_added() -> None:
    # Six more months in which W2 becomes by far the highest: the cohort and the baseline do not move.
    later = {f"2024-{m:02d}": {W1: 1, W2: 30, W3: 1, W4: 1, W5: 1} for m in range(1, 7)}
    before, after = plan_progress(progress_tables(), Q, FlagSettings()), plan_progress(progress_tables(later), Q,
                                                                                    FlagSettings())
    groups = [p.areas.set_index("area_code")["group"].sort_index() for p in (before, after)]
    pd.testing.assert_series_equal(groups[0], groups[1])
    assert after.latest == ("2023-07", "2024-06")
    assert after.summary.set_index("group").loc["cohort", "baseline_count"] == 48
    assert after.areas.set_index("area_code").loc[W2, "flagged_now"]


@pytest.mark.parametrize(("q", "settings", "message"), [
    (CrimeQuery(source="mps_ward"), ProgressSettings(), "the baseline 2022-01 to 2022-12 is not in the data for source "
                                                        "'mps_ward' and these crime types \\(held: 2024-01–2024-04\\)"),
    (Q, ProgressSettings(baseline_start="2022-13"), "the baseline 2022-13 to 2022-12 is not in the data"),
    (Q, ProgressSettings(baseline_start="2023-01", baseline_end="2023-12"), "overlap the baseline"),
    (Q, ProgressSettings(trust_baseline="2021-06-30"), "no figure for the period ending 2021-06-30"),
])
def test_bad_settings_say_what_to_do(q: CrimeQuery, settings: ProgressSettings, message: str) -> None:
    with pytest.raises(AnalysisInputError, match=message):
        plan_progress(progress_tables(), q, FlagSettings(), settings)


# --- the snapshot ----------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["ward", "borough"])
def test_snapshot_cohort_matches_priorities_and_groups_add_up(snapshot_tables: AnalysisTables, level: str) -> None:
    q = CrimeQuery(source="police_uk", level=level, crime_types=("Burglary",))
    progress = plan_progress(snapshot_tables, q, FlagSettings())
    launch = priority_table(snapshot_tables, CrimeQuery("police_uk", level, ("Burglary",), start="2022-01",
                                                        end="2022-12"), FlagSettings(trust_period="2022-12-31")).table
    cohort = set(progress.areas.loc[progress.areas["group"] == "cohort", "area_code"])
    assert cohort == set(launch.loc[launch["flagged"], "area_code"]) and cohort
    s = progress.summary.set_index("group")
    parts = s.loc[["cohort", "same_crime_other_trust", "rest"]]
    assert parts["areas"].sum() == s.loc["london", "areas"] == len(progress.areas)
    assert parts["baseline_count"].sum() == s.loc["london", "baseline_count"]
    assert np.isfinite(s.loc["cohort_vs_rest", ["change", "change_lo", "change_hi"]].astype(float)).all()


def test_sentences_say_the_numbers_in_words(progress) -> None:
    from analysis.progress_words import sentences

    text = sentences(progress)
    # Cohort 0.75 (0.487–1.155 spans no change), rest 1.0 (0.342–2.926).
    assert text[0] == ("Since the plan began, burglary changed by -25% (95% interval -51% to +16%) in the 1 ward "
                       "flagged at launch, against a change of +0% (95% interval -66% to +193%) in the rest of London "
                       "(2022 against 2023).")
    assert text[1].startswith("Against the rest of London: no clear difference (ratio of changes 0.75")
    assert any(t.startswith("Before the baseline (2021) the flagged wards were not diverging") for t in text)
    assert text[-1].startswith("Trust ('Trust MPS') where the flagged wards are went from 60% to 58% (-2.0 points)")
