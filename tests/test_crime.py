"""Tests for analysis.crime (via analysis.query) on the hand-made wards, and on the snapshot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.crime import crime_measures
from analysis.query import CrimeQuery, months_available
from analysis.stats import empirical_bayes_rates
from analysis.tables import AnalysisTables
from core.errors import AnalysisInputError
from tests.tiny import B1, B2, BURGLARY, CITY, ROBBERY, W1, W2, W3, W4, W5


def _by_code(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("area_code")


def test_counts_rates_and_density_hand_computed(tiny: AnalysisTables) -> None:
    q = CrimeQuery(crime_types=(BURGLARY,), start="2024-01", end="2024-04")
    t = _by_code(crime_measures(tiny, q).areas)
    assert t.loc[[W1, W2, W3, W4, W5], "count"].tolist() == [8, 4, 0, 12, 2]
    assert t.loc[[W1, W2, W3, W4, W5], "rate"].tolist() == pytest.approx([8.0, 2.0, 0.0, 3.0, 1.0])
    assert t.loc[W2, "per_km2"] == pytest.approx(2.0)
    assert t.loc[W1, "value"] == t.loc[W1, "rate"]
    # Garwood exact 95% interval for 8 events: 3.4538 to 15.7632 (per 1,000 of 1,000 residents).
    assert (t.loc[W1, "rate_lo"], t.loc[W1, "rate_hi"]) == pytest.approx((3.4538, 15.7632), abs=1e-4)
    # The Met's ward table does not cover the City of London: NaN, never zero.
    assert np.isnan(t.loc[CITY, "count"]) and np.isnan(t.loc[CITY, "rate"])
    # London: 26 crimes over 10,500 - 500 (City uncovered) residents.
    assert t.loc[W1, "london_rate"] == pytest.approx(2.6)
    assert t.loc[W1, "rate_ratio"] == pytest.approx(8 / 2.6)
    london = crime_measures(tiny, q).london
    assert (london["count"], london["population"], london["rate"]) == pytest.approx((26, 10000, 2.6))


def test_borough_level_sums_wards(tiny: AnalysisTables) -> None:
    q = CrimeQuery(level="borough", crime_types=(BURGLARY,), start="2024-01", end="2024-04")
    t = _by_code(crime_measures(tiny, q).areas)
    assert t.loc[[B1, B2], "count"].tolist() == [12, 14]
    assert t.loc[[B1, B2], "rate"].tolist() == pytest.approx([3.0, 14 / 6])
    assert np.isnan(t.loc[CITY, "count"])
    assert t["rate_eb"].isna().all()


def test_harm_weights_and_unweighted_types(tiny: AnalysisTables) -> None:
    result = crime_measures(tiny, CrimeQuery(start="2024-01", end="2024-04", measure="harm"))
    t = _by_code(result.areas)
    assert t.loc[W1, "count"] == 9
    assert t.loc[W1, "harm"] == pytest.approx(8 * 273.5 + 365.0)
    # NFIB fraud is counted but has no weight: left out of harm.
    assert t.loc[W2, "count"] == 5 and t.loc[W2, "harm"] == pytest.approx(4 * 273.5)
    assert t.loc[W1, "harm_rate"] == pytest.approx((8 * 273.5 + 365.0) / 1000 * 1000)
    assert "NFIB" in result.meta.harm_note


def test_groups_select_their_types(tiny: AnalysisTables) -> None:
    by_group = crime_measures(tiny, CrimeQuery(crime_groups=("ROBBERY",), start="2024-01", end="2024-04")).areas
    by_type = crime_measures(tiny, CrimeQuery(crime_types=(ROBBERY,), start="2024-01", end="2024-04")).areas
    assert by_group["count"].tolist()[:5] == by_type["count"].tolist()[:5] == [1, 0, 0, 2, 0]


def test_empirical_bayes_matches_stats_within_borough(tiny: AnalysisTables) -> None:
    t = crime_measures(tiny, CrimeQuery(crime_types=(BURGLARY,), start="2024-01", end="2024-04", smoothed=True)).areas
    expected = empirical_bayes_rates(t["count"], t["population"], t["borough_code"], per=1000)
    np.testing.assert_allclose(t["rate_eb"], expected, equal_nan=True)
    np.testing.assert_allclose(t["value"], t["rate_eb"], equal_nan=True)


def test_changes_and_missing_comparisons(tiny: AnalysisTables) -> None:
    t = _by_code(crime_measures(tiny, CrimeQuery(crime_types=(BURGLARY,), start="2024-03", end="2024-04")).areas)
    # Previous two months: W1 4 → 4 (no change), W4 6 → 6, W5 2 → 0.
    assert t.loc[[W1, W4, W5], "change_prev"].tolist() == pytest.approx([0.0, 0.0, -1.0])
    # A year before and 2022 are not in the Met data: NaN rather than a made-up zero.
    assert t["change_year_ago"].isna().all() and t["change_vs_2022"].isna().all()


def test_police_uk_city_covered_only_in_its_own_months(tiny: AnalysisTables) -> None:
    both = _by_code(crime_measures(tiny, CrimeQuery("police_uk", crime_types=("Burglary",),
                                                      start="2022-01", end="2022-02")).areas)
    assert np.isnan(both.loc[CITY, "count"]) and both.loc[W2, "count"] == 4
    february = _by_code(crime_measures(tiny, CrimeQuery("police_uk", crime_types=("Burglary",),
                                                          start="2022-02", end="2022-02")).areas)
    assert february.loc[CITY, "count"] == 3
    assert february.loc[W1, "harm"] == pytest.approx(244.68)


def test_anti_social_behaviour_is_not_a_published_met_type(tiny: AnalysisTables) -> None:
    assert months_available(tiny, "police_uk") == ["2022-01", "2022-02"]
    assert months_available(tiny, "police_uk", ["Anti-social behaviour"]) == []
    assert "Anti-social behaviour" not in crime_measures(tiny, CrimeQuery("police_uk")).meta.crime_types


@pytest.mark.parametrize(("query", "message"), [
    (CrimeQuery(crime_types=("NOPE",)), "unknown crime type 'NOPE'"),
    (CrimeQuery(crime_groups=("NOPE",)), "unknown crime group 'NOPE'"),
    (CrimeQuery(start="2023-01", end="2024-02"), "month 2023-01 is outside the data"),
    (CrimeQuery(start="2024-03", end="2024-01"), "after end month"),
    (CrimeQuery(measure="harmful"), "unknown measure 'harmful'"),
    (CrimeQuery(level="street"), "unknown level 'street'"),
    (CrimeQuery(source="api"), "unknown source 'api'"),
])
def test_bad_queries_name_the_bad_value(tiny: AnalysisTables, query: CrimeQuery, message: str) -> None:
    with pytest.raises(AnalysisInputError, match=message):
        crime_measures(tiny, query)


def test_default_period_is_latest_twelve_months_or_fewer(tiny: AnalysisTables) -> None:
    meta = crime_measures(tiny, CrimeQuery(crime_types=(BURGLARY,))).meta
    assert (meta.start, meta.end, meta.months) == ("2024-01", "2024-04", 4)


def test_straddles_connect_and_daytime_caveat(tiny: AnalysisTables) -> None:
    t = _by_code(crime_measures(tiny, CrimeQuery(start="2024-01", end="2024-04")).areas)
    assert t["straddles_connect"].all()
    assert t.loc[CITY, "daytime_caveat"] and not t.loc[W1, "daytime_caveat"]
    assert not crime_measures(tiny, CrimeQuery(start="2024-03", end="2024-04")).areas["straddles_connect"].any()


# --- real data (the committed snapshot) ------------------------------------------------------------


def test_population_totals_equal_census(snapshot_tables: AnalysisTables) -> None:
    assert snapshot_tables.london_population == 8_799_710
    assert snapshot_tables.boroughs["population"].sum() == 8_799_710
    assert len(snapshot_tables.wards) == 680


def test_ward_sums_equal_published_london_totals(snapshot_tables: AnalysisTables) -> None:
    q = CrimeQuery(source="mps_ward", start="2024-07", end="2025-06", measure="count")
    placed = crime_measures(snapshot_tables, q).areas["count"].sum()
    totals = snapshot_tables.london_totals
    totals = totals[(totals["source"] == "mps_ward") & totals["month"].between("2024-07", "2025-06")]
    assert placed == totals["count"].sum() - totals["unplaced"].sum()


def test_a_gap_month_is_missing_not_a_drop() -> None:
    """A month the build found short (here 2024-02) is never summed into a period as if crime fell."""
    from analysis.trends import monthly_trend
    from tests.tiny import tiny_tables

    tables = tiny_tables(manifest_extra={"currency": {"mps_ward": {"gaps": [
        {"month": "2024-02", "count": 3, "expected": 8, "reason": "far below its neighbours", "missing": True}]}}})
    assert months_available(tables, "mps_ward") == ["2024-01", "2024-03", "2024-04"]
    with pytest.raises(AnalysisInputError, match="month 2024-02 is outside the data"):
        crime_measures(tables, CrimeQuery(start="2024-01", end="2024-04"))
    assert crime_measures(tables, CrimeQuery(start="2024-03", end="2024-04")).areas["count"].notna().any()
    # A reported gap that an earlier release covered ('missing': false) stays in.
    covered = tiny_tables(manifest_extra={"currency": {"mps_ward": {"gaps": [{"month": "2024-02", "missing": False}]}}})
    assert monthly_trend(covered, CrimeQuery(start="2024-01", end="2024-04"))["month"].tolist()[1] == "2024-02"


@pytest.mark.parametrize(("level", "borough", "expected"), [
    ("ward", B1, [W1, W2, W3]),
    ("ward", B2, [W4, W5]),
    ("ward", CITY, [CITY]),             # the City is one area at both levels
    ("borough", B2, [B2]),              # at borough level, the borough itself
    ("ward", "E09999999", []),          # unknown: none (links are checked in ui/state.py)
])
def test_areas_in_a_borough(tiny: AnalysisTables, level: str, borough: str, expected: list) -> None:
    assert tiny.areas_in(level, borough) == expected
