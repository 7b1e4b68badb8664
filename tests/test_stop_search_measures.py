"""Stop-and-search measures on hand-made counts: rates, ratios with exact intervals, shares, gaps, trend."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from analysis.stop_search import StopSearchQuery, area_row, ethnic_group, gap_note, measure_areas
from analysis.stop_search_data import StopSearchData, default_period, period_months
from analysis.stop_search_views import monthly_trend
from core.errors import AnalysisInputError
from tests.tiny import B1, B2, CITY, LONDON, W1, W2, W4, tiny_tables

MET, COL = "metropolitan", "city-of-london"
S23 = "Misuse of Drugs Act 1971 (section 23)"


def _rows(ward: str | None, borough: str | None, force: str, month: str, n: int, eth: str, outcome: str,
          legislation: str = S23) -> list[tuple]:
    """The count rows of ``n`` identical searches in every dimension the measures read."""
    return [(ward, borough, force, month, dim, cat, n) for dim, cat in (
        ("all", "all"), ("officer_defined_ethnicity", eth), ("outcome", outcome), ("legislation", legislation),
        ("self_defined_ethnicity", {"Black": "Black/African/Caribbean/Black British - African",
                                    "White": "White - Any other White background"}.get(eth, "(not recorded)")),
        ("outcome_linked", "(not recorded)"))]


def tiny_stop_search() -> StopSearchData:
    """B1 (W1, W2) and B2 (W4): Met Jan-Mar 2024 with February a gap (cut short); the City Jan-Mar.

    January, B1: 20 searches of Black people (4 arrests), 10 of White (all NFA), in W1; B2: 5 Black, 5 White
    (W4, 1 by section 60); 7 searches without coordinates (White). February: 100 in W1 (left out by default).
    March: 6 in W2 (Asian). City: 2 each month.
    """
    rows = [*_rows(W1, B1, MET, "2024-01", 4, "Black", "Arrest"),
            *_rows(W1, B1, MET, "2024-01", 16, "Black", "A no further action disposal"),
            *_rows(W1, B1, MET, "2024-01", 10, "White", "A no further action disposal"),
            *_rows(W4, B2, MET, "2024-01", 5, "Black", "Community resolution"),
            *_rows(W4, B2, MET, "2024-01", 4, "White", "A no further action disposal"),
            *_rows(W4, B2, MET, "2024-01", 1, "White", "Arrest",
                   "Criminal Justice and Public Order Act 1994 (section 60)"),
            *_rows(None, None, MET, "2024-01", 7, "White", "A no further action disposal"),
            *_rows(W1, B1, MET, "2024-02", 100, "White", "Arrest"),
            *_rows(W2, B1, MET, "2024-03", 6, "Asian", "Arrest")]
    rows += [r for m in ("2024-01", "2024-02", "2024-03")
             for r in _rows(CITY, CITY, COL, m, 2, "White", "A no further action disposal")]
    counts = pd.DataFrame(rows, columns=["ward_code", "borough_code", "force", "month", "dimension", "category",
                                         "count"])
    split = {str(d): g.drop(columns="dimension").reset_index(drop=True) for d, g in counts.groupby("dimension")}
    months = pd.DataFrame({
        "force": [MET] * 3 + [COL] * 3, "month": ["2024-01", "2024-02", "2024-03"] * 2,
        "searches": [47, 100, 6, 2, 2, 2], "no_location": [7, 0, 0, 0, 0, 0], "outside_london": 0,
        "first_day": 1, "last_day": [31, 10, 31, 31, 29, 31], "dataset": "bulk_csv",
        "gap": [False, True, False, False, False, False],
        "gap_reason": [None, "cut short: covers 1-10 Feb only", None, None, None, None]})
    census = pd.DataFrame([
        (code, name, cover, group, group, n) for code, name, cover, per in (
            (B1, "Borough One", B1, {"white": 2000, "black": 500, "asian": 1000, "mixed": 200, "other": 300}),
            (B2, "Borough Two", B2, {"white": 4000, "black": 1000, "asian": 500, "mixed": 250, "other": 250}),
            (CITY, "City", CITY, {"white": 400, "black": 50, "asian": 30, "mixed": 10, "other": 10}),
            (LONDON, "London", LONDON, {"white": 6400, "black": 1550, "asian": 1530, "mixed": 460, "other": 560}))
        for group, n in per.items()],
        columns=["area_code", "area_name", "covers", "ethnic_group", "detailed_group", "residents"])
    return StopSearchData(split, months, census, {})


@pytest.fixture(scope="module")
def tables():
    return tiny_tables()


@pytest.fixture(scope="module")
def data():
    return tiny_stop_search()


def test_rates_a_year_leave_the_gap_out(tables, data):
    result = measure_areas(tables, data, StopSearchQuery(start="2024-01", end="2024-03"))
    b1 = area_row(result, B1)
    # 30 + 6 searches in the two counted months, a year: 36 / 2 * 12 = 216 per 4,000 residents
    assert (b1["searches"], b1["months"]) == (36, 2)
    assert b1["searches_per_1000"] == pytest.approx(216 / 4000 * 1000)
    assert "2024-02 (Metropolitan Police: cut short: covers 1-10 Feb only)" in gap_note(result)
    included = area_row(measure_areas(tables, data, StopSearchQuery(start="2024-01", end="2024-03",
                                                                    include_gaps=True)), B1)
    assert (included["searches"], included["months"]) == (136, 3)
    assert area_row(result, CITY)["months"] == 3  # the City's own force has no gap


def test_black_white_ratio_and_its_exact_interval(tables, data):
    b1 = area_row(measure_areas(tables, data, StopSearchQuery(start="2024-01", end="2024-03")), B1)
    # 20 searches of 500 Black residents against 10 of 2,000 White: (20/500) / (10/2000) = 8
    assert b1["ratio_black_white"] == pytest.approx(8.0)
    ci = binomtest(20, 30).proportion_ci(method="exact")  # the conditional binomial, computed independently
    assert b1["ratio_black_white_lo"] == pytest.approx(ci.low / (1 - ci.low) * 2000 / 500)
    assert b1["ratio_black_white_hi"] == pytest.approx(ci.high / (1 - ci.high) * 2000 / 500)
    assert b1["ratio_black_white_small"]  # 30 searches < 50
    assert b1["rate_black"] == pytest.approx(20 / 2 * 12 / 500 * 1000)
    assert b1["ratio_asian_white"] == pytest.approx((6 / 1000) / (10 / 2000))
    assert b1["residents_other"] == 500  # officer 'Other' = Census Mixed + Other


def test_shares_with_exact_intervals(tables, data):
    result = measure_areas(tables, data, StopSearchQuery(start="2024-01", end="2024-03", min_searches=10))
    b1, b2 = area_row(result, B1), area_row(result, B2)
    assert b1["arrest_share"] == pytest.approx(10 / 36) and b1["nfa_share"] == pytest.approx(26 / 36)
    ci = binomtest(10, 36).proportion_ci(method="exact")
    assert (b1["arrest_share_lo"], b1["arrest_share_hi"]) == pytest.approx((ci.low, ci.high))
    assert b2["s60_share"] == pytest.approx(0.1) and b2["drugs_share"] == pytest.approx(0.9)
    assert np.isnan(b1["linked_share"])  # nothing reported
    assert not b1["ratio_black_white_small"]


def test_london_counts_searches_without_coordinates(tables, data):
    london = measure_areas(tables, data, StopSearchQuery(start="2024-01", end="2024-03")).london
    assert london["searches"] == 47 + 6 + 2 * 2  # February, a gap for the Met, is a gap for London
    # officer White: 10 + 4 + 1 + 7 in January and the City's 4; Black: 20 + 5
    assert (london["searches_white"], london["searches_black"]) == (26, 25)
    assert london["ratio_black_white"] == pytest.approx((25 / 1550) / (26 / 6400))
    assert london["unlocated_share"] == pytest.approx(7 / 57)


def test_self_defined_ethnicity_uses_the_matching_groups(tables, data):
    b1 = area_row(measure_areas(tables, data, StopSearchQuery(start="2024-01", end="2024-01", ethnicity="self")),
                  B1)
    assert b1["searches_black"] == 20 and b1["residents_mixed"] == 200
    assert b1["ethnicity_unknown_share"] == pytest.approx(0.0)
    assert ethnic_group(pd.Series(["Other ethnic group - Not stated"]), "self").isna().all()


def test_trend_breaks_at_gaps(tables, data):
    trend = monthly_trend(tables, data, StopSearchQuery(start="2024-01", end="2024-03"), W1).set_index("month")
    assert trend["searches"].tolist() == [30, 100, 0]
    assert np.isnan(trend.loc["2024-02", "value"]) and trend.loc["2024-02", "gap"]
    assert trend.loc["2024-01", "value"] == pytest.approx(30 / 1000 * 1000)
    kept = monthly_trend(tables, data, StopSearchQuery(start="2024-01", end="2024-03", include_gaps=True), W1)
    assert kept["value"].notna().all() and kept["gap"].sum() == 1


def test_periods_and_bad_queries(data):
    assert default_period(data, 2) == ("2024-02", "2024-03")
    assert period_months(data, "2024-01", "2024-03", (COL,)).gaps == ()
    with pytest.raises(AnalysisInputError, match="no stop-and-search data"):
        period_months(data, "2019-01", "2019-03", (MET,))
    with pytest.raises(AnalysisInputError, match="ethnicity must be"):
        StopSearchQuery(ethnicity="perceived")
    assert B2 in set(measure_areas(tiny_tables(), data, StopSearchQuery(level="ward")).table["borough_code"])


def _city_months(data: StopSearchData, held: dict[str, int]) -> StopSearchData:
    """``data`` with the City's months replaced: month → searches (0: a month inside its run with nothing held)."""
    met = data.months[data.months["force"] == MET]
    city = pd.DataFrame({"force": COL, "month": list(held), "searches": list(held.values()), "no_location": 0,
                         "outside_london": 0, "first_day": 1, "last_day": 28, "dataset": "bulk_csv",
                         "gap": [n == 0 for n in held.values()],
                         "gap_reason": [None if n else "no data held" for n in held.values()]})
    kept = {m for m, n in held.items() if n}
    counts = {dim: rows[(rows["force"] != COL) | rows["month"].isin(kept)].reset_index(drop=True)
              for dim, rows in data.counts.items()}
    return replace(data, counts=counts, months=pd.concat([met, city], ignore_index=True), _cubes={})


def test_months_before_the_city_s_run_are_named_not_gaps_for_london(tables, data):
    late_city = _city_months(data, {"2024-02": 2, "2024-03": 2})  # the City's data starts in February
    london = period_months(late_city, "2024-01", "2024-03", (MET, COL))
    assert london.counted == ("2024-01", "2024-03") and [(g.month, g.force) for g in london.gaps] == [
        ("2024-02", MET)]  # the Met's cut-short February stays a gap
    assert london.not_held_text == ("City of London Police not held before Feb 2024 (2024-01): London figures for "
                                    "those months are the Met's")
    assert [g.reason for g in period_months(late_city, "2024-01", "2024-03", (COL,)).gaps] == ["no data held"]
    result = measure_areas(tables, late_city, StopSearchQuery(start="2024-01", end="2024-03"))
    assert gap_note(result).endswith("City of London Police not held before Feb 2024 (2024-01): London figures for "
                                     "those months are the Met's.")
    assert result.london["searches"] == 47 + 6 + 2  # January (the Met's) and March (both forces)
    ended = period_months(_city_months(data, {"2024-01": 2}), "2024-01", "2024-03", (MET, COL))
    assert ended.counted == ("2024-01", "2024-03") and "not held after Jan 2024 (2024-02 to 2024-03)" in \
        ended.not_held_text


def test_a_city_gap_inside_its_run_is_a_london_gap(data):
    holed = _city_months(data, {"2024-01": 2, "2024-02": 0, "2024-03": 2})
    london = period_months(holed, "2024-01", "2024-03", (MET, COL))
    assert ("2024-02", COL, "no data held") in [(g.month, g.force, g.reason) for g in london.gaps]
    assert london.not_held == () and london.not_held_text == "none"
    one_month = _city_months(data, {"2024-01": 2, "2024-02": 2, "2024-03": 2})
    assert period_months(one_month, "2024-01", "2024-03", (MET, COL)).counted == ("2024-01", "2024-03")
