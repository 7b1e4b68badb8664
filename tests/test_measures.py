"""Tests for analysis.measures on five hand-made wards in two boroughs (plus the City), and on the snapshot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import AnalysisInputError
from analysis.measures import (
    AnalysisTables,
    CrimeQuery,
    crime_measures,
    london_row,
    make_tables,
    monthly_trend,
    months_available,
    period_presets,
)
from analysis.stats import empirical_bayes_rates

REPO = Path(__file__).resolve().parent.parent
SNAPSHOT = REPO / "data" / "snapshot"
B1, B2, CITY, LONDON = "E09000002", "E09000003", "E09000001", "E12000007"
W1, W2, W3, W4, W5 = (f"E0500000{i}" for i in range(1, 6))
BURGLARY, ROBBERY, NFIB = "BURGLARY IN A DWELLING", "ROBBERY OF PERSONAL PROPERTY", "NFIB"


def _counts(rows: list[tuple[str, str, str, str, int]], source: str) -> pd.DataFrame:
    borough = {W1: B1, W2: B1, W3: B1, W4: B2, W5: B2, CITY: CITY}
    return pd.DataFrame({
        "area_code": [r[0] for r in rows], "area_name": [r[0] for r in rows],
        "borough_code": [borough[r[0]] for r in rows], "month": [r[1] for r in rows], "source": source,
        "crime_type": [r[2] for r in rows], "crime_group": [r[3] for r in rows], "count": [r[4] for r in rows]})


def tiny_tables() -> AnalysisTables:
    """Five wards (W1-W3 in B1, W4-W5 in B2) and the City; Met data Jan-Apr 2024, police.uk Jan-Feb 2022.

    Burglary per month (Met): W1 2, W2 1, W3 0, W4 3; W5 2 in January only. Robbery: W1 1 in
    April, W4 2 in February. NFIB fraud: W2 1 in March. Residents: W1 1000, W2 2000, W3 1000,
    W4 4000, W5 2000, City 500. Trust MPS: B1 0.58, B2 0.82, London 0.71 (Dec 2023).
    """
    ward_rows = [(W1, "Ward One", B1, "Borough One", 1.0), (W2, "Ward Two", B1, "Borough One", 2.0),
                 (W3, "Ward Three", B1, "Borough One", 1.0), (W4, "Ward Four", B2, "Borough Two", 4.0),
                 (W5, "Ward Five", B2, "Borough Two", 2.0), (CITY, "City of London", CITY, "City of London", 1.0)]
    areas = pd.DataFrame(
        [(c, n, "ward", b, bn, k) for c, n, b, bn, k in ward_rows]
        + [(B1, "Borough One", "borough", B1, "Borough One", 4.0),
           (B2, "Borough Two", "borough", B2, "Borough Two", 6.0),
           (CITY, "City of London", "borough", CITY, "City of London", 1.0),
           (LONDON, "London", "london", None, None, 11.0)],
        columns=["area_code", "area_name", "area_level", "borough_code", "borough_name", "area_km2"])
    pops = {W1: 1000, W2: 2000, W3: 1000, W4: 4000, W5: 2000}
    population = pd.DataFrame(
        [(c, "ward", p) for c, p in pops.items()] + [(CITY, "ward", 500), (B1, "borough", 4000),
                                                     (B2, "borough", 6000), (CITY, "borough", 500),
                                                     (LONDON, "london", 10500)],
        columns=["area_code", "area_level", "population"])
    months = ["2024-01", "2024-02", "2024-03", "2024-04"]
    mps = [(W1, m, BURGLARY, "BURGLARY", 2) for m in months] + [(W2, m, BURGLARY, "BURGLARY", 1) for m in months]
    mps += [(W4, m, BURGLARY, "BURGLARY", 3) for m in months] + [(W5, "2024-01", BURGLARY, "BURGLARY", 2)]
    mps += [(W1, "2024-04", ROBBERY, "ROBBERY", 1), (W4, "2024-02", ROBBERY, "ROBBERY", 2),
            (W2, "2024-03", NFIB, "NFIB FRAUD", 1)]
    puk = [(w, m, "Burglary", "Burglary", n) for m in ("2022-01", "2022-02")
           for w, n in ((W1, 1), (W2, 2), (W3, 1), (W4, 2), (W5, 1))]
    puk += [(CITY, "2022-02", "Burglary", "Burglary", 3), (CITY, "2022-02", "Anti-social behaviour",
                                                           "Anti-social behaviour", 4)]
    trust_rows = []
    for period, values in (("2022-12-31", {B1: 0.6, B2: 0.8, LONDON: 0.7}),
                           ("2023-12-31", {B1: 0.58, B2: 0.82, LONDON: 0.71})):
        for code, p in values.items():
            trust_rows.append((code, "london" if code == LONDON else "borough", pd.Timestamp(period), "trust_mps",
                               "Trust MPS", p, pd.NA, "PAS"))
    trust = pd.DataFrame(trust_rows, columns=["area_code", "area_level", "period_end", "measure_id", "measure_label",
                                              "proportion", "sample_size", "source_file"])
    harm = pd.DataFrame([("cchi", "police_uk_crime_type", "Burglary", 244.68),
                         ("cchi", "ho_subgroup", "Residential burglary", 273.5),
                         ("cchi", "ho_subgroup", "Robbery of personal property", 365.0)],
                        columns=["scheme", "applies_to", "category", "weight"])
    manifest = {"code_version": "test", "sources": {"police_uk_street": {"files": [
        {"path": "crime/sample/2022-02-city-of-london-street.csv"}]}}}
    return make_tables(areas=areas, population=population, trust=trust, harm_weights=harm,
                       counts_police_uk=_counts(puk, "police_uk"), counts_mps_ward=_counts(mps, "mps_ward"),
                       manifest=manifest, data_label="tiny test tables")


def _by_code(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("area_code")



def test_counts_rates_and_density_hand_computed(tiny: AnalysisTables) -> None:
    q = CrimeQuery(crime_types=(BURGLARY,), start="2024-01", end="2024-04")
    t = _by_code(crime_measures(tiny, q))
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
    london = london_row(tiny, q).iloc[0]
    assert (london["count"], london["population"], london["rate"]) == pytest.approx((26, 10000, 2.6))


def test_borough_level_sums_wards(tiny: AnalysisTables) -> None:
    q = CrimeQuery(level="borough", crime_types=(BURGLARY,), start="2024-01", end="2024-04")
    t = _by_code(crime_measures(tiny, q))
    assert t.loc[[B1, B2], "count"].tolist() == [12, 14]
    assert t.loc[[B1, B2], "rate"].tolist() == pytest.approx([3.0, 14 / 6])
    assert np.isnan(t.loc[CITY, "count"])
    assert t["rate_eb"].isna().all()


def test_harm_weights_and_unweighted_types(tiny: AnalysisTables) -> None:
    t = _by_code(crime_measures(tiny, CrimeQuery(start="2024-01", end="2024-04", measure="harm")))
    assert t.loc[W1, "count"] == 9
    assert t.loc[W1, "harm"] == pytest.approx(8 * 273.5 + 365.0)
    # NFIB fraud is counted but has no weight: left out of harm.
    assert t.loc[W2, "count"] == 5 and t.loc[W2, "harm"] == pytest.approx(4 * 273.5)
    assert t.loc[W1, "harm_rate"] == pytest.approx((8 * 273.5 + 365.0) / 1000 * 1000)
    assert "NFIB" in t.attrs["harm_note"]


def test_groups_select_their_types(tiny: AnalysisTables) -> None:
    by_group = crime_measures(tiny, CrimeQuery(crime_groups=("ROBBERY",), start="2024-01", end="2024-04"))
    by_type = crime_measures(tiny, CrimeQuery(crime_types=(ROBBERY,), start="2024-01", end="2024-04"))
    assert by_group["count"].tolist()[:5] == by_type["count"].tolist()[:5] == [1, 0, 0, 2, 0]


def test_empirical_bayes_matches_stats_within_borough(tiny: AnalysisTables) -> None:
    t = crime_measures(tiny, CrimeQuery(crime_types=(BURGLARY,), start="2024-01", end="2024-04", smoothed=True))
    expected = empirical_bayes_rates(t["count"], t["population"], t["borough_code"], per=1000)
    np.testing.assert_allclose(t["rate_eb"], expected, equal_nan=True)
    np.testing.assert_allclose(t["value"], t["rate_eb"], equal_nan=True)


def test_changes_and_missing_comparisons(tiny: AnalysisTables) -> None:
    t = _by_code(crime_measures(tiny, CrimeQuery(crime_types=(BURGLARY,), start="2024-03", end="2024-04")))
    # Previous two months: W1 4 → 4 (no change), W4 6 → 6, W5 2 → 0.
    assert t.loc[[W1, W4, W5], "change_prev"].tolist() == pytest.approx([0.0, 0.0, -1.0])
    # A year before and 2022 are not in the Met data: NaN rather than a made-up zero.
    assert t["change_year_ago"].isna().all() and t["change_vs_2022"].isna().all()


def test_police_uk_city_covered_only_in_its_own_months(tiny: AnalysisTables) -> None:
    both = _by_code(crime_measures(tiny, CrimeQuery("police_uk", crime_types=("Burglary",),
                                                      start="2022-01", end="2022-02")))
    assert np.isnan(both.loc[CITY, "count"]) and both.loc[W2, "count"] == 4
    february = _by_code(crime_measures(tiny, CrimeQuery("police_uk", crime_types=("Burglary",),
                                                          start="2022-02", end="2022-02")))
    assert february.loc[CITY, "count"] == 3
    assert february.loc[W1, "harm"] == pytest.approx(244.68)


def test_anti_social_behaviour_is_not_a_published_met_type(tiny: AnalysisTables) -> None:
    assert months_available(tiny, "police_uk") == ["2022-01", "2022-02"]
    assert months_available(tiny, "police_uk", ["Anti-social behaviour"]) == []
    assert "Anti-social behaviour" not in crime_measures(tiny, CrimeQuery("police_uk")).attrs["crime_types"]


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
    t = crime_measures(tiny, CrimeQuery(crime_types=(BURGLARY,)))
    assert (t.attrs["start"], t.attrs["end"]) == ("2024-01", "2024-04")


def test_straddles_connect_and_daytime_caveat(tiny: AnalysisTables) -> None:
    t = _by_code(crime_measures(tiny, CrimeQuery(start="2024-01", end="2024-04")))
    assert t["straddles_connect"].all()
    assert t.loc[CITY, "daytime_caveat"] and not t.loc[W1, "daytime_caveat"]
    assert not crime_measures(tiny, CrimeQuery(start="2024-03", end="2024-04"))["straddles_connect"].any()


def test_monthly_trend(tiny: AnalysisTables) -> None:
    q = CrimeQuery(crime_types=(BURGLARY,), start="2024-01", end="2024-04")
    london = monthly_trend(tiny, q)
    assert london["count"].tolist() == [8, 6, 6, 6]
    assert london["rate"].tolist() == pytest.approx([0.8, 0.6, 0.6, 0.6])
    borough = monthly_trend(tiny, q, B2)
    assert borough["count"].tolist() == [5, 3, 3, 3]
    assert monthly_trend(tiny, q, W1)["rate"].tolist() == pytest.approx([2.0] * 4)
    with pytest.raises(AnalysisInputError, match="unknown area code"):
        monthly_trend(tiny, q, "E05999999")


def test_period_presets() -> None:
    months = [f"{y}-{m:02d}" for y in (2023, 2024, 2025) for m in range(1, 13)][6:30]  # Jul 2023 - Jun 2025
    presets = period_presets(months)
    assert presets["Latest month (2025-06)"] == ("2025-06", "2025-06")
    assert presets["Last 3 months"] == ("2025-04", "2025-06")
    assert presets["Last 12 months"] == ("2024-07", "2025-06")
    assert presets["Financial year 2024/25"] == ("2024-04", "2025-03")
    assert "Financial year 2023/24" not in presets  # April-June 2023 missing
    assert "Calendar year 2022" not in presets


# --- real data (the committed snapshot) ------------------------------------------------------------


def test_population_totals_equal_census(snapshot_tables: AnalysisTables) -> None:
    assert snapshot_tables.london_population == 8_799_710
    assert snapshot_tables.boroughs["population"].sum() == 8_799_710
    assert len(snapshot_tables.wards) == 680


def test_ward_sums_equal_published_london_totals(snapshot_tables: AnalysisTables) -> None:
    q = CrimeQuery(source="mps_ward", start="2024-07", end="2025-06", measure="count")
    placed = crime_measures(snapshot_tables, q)["count"].sum()
    totals = snapshot_tables.london_totals
    totals = totals[(totals["source"] == "mps_ward") & totals["month"].between("2024-07", "2025-06")]
    assert placed == totals["count"].sum() - totals["unplaced"].sum()
