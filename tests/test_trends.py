"""Tests for analysis.trends on the hand-made wards: London, a borough, a ward, and several areas at once."""

from __future__ import annotations

import pytest

from analysis.query import CrimeQuery
from analysis.tables import AnalysisTables
from analysis.trends import area_trends, monthly_trend, monthly_trend_by_type, profile_codes
from core.errors import UnknownAreaError
from tests.tiny import B1, B2, BURGLARY, LONDON, W1, W2

Q = CrimeQuery(crime_types=(BURGLARY,), start="2024-01", end="2024-04")


def test_monthly_trend(tiny: AnalysisTables) -> None:
    q = CrimeQuery(crime_types=(BURGLARY,), start="2024-01", end="2024-04")
    london = monthly_trend(tiny, q)
    assert london["count"].tolist() == [8, 6, 6, 6]
    assert london["rate"].tolist() == pytest.approx([0.8, 0.6, 0.6, 0.6])
    borough = monthly_trend(tiny, q, B2)
    assert borough["count"].tolist() == [5, 3, 3, 3]
    assert monthly_trend(tiny, q, W1)["rate"].tolist() == pytest.approx([2.0] * 4)
    with pytest.raises(UnknownAreaError, match="unknown area code"):
        monthly_trend(tiny, q, "E05999999")


def test_area_trends_and_profile_codes(tiny: AnalysisTables) -> None:
    assert profile_codes(tiny, W2) == (W2, B1, LONDON)
    assert profile_codes(tiny, B2) == (B2, LONDON)
    long = area_trends(tiny, Q, profile_codes(tiny, W1))
    assert long["area"].unique().tolist() == ["Ward One", "Borough One", "London"]
    assert long.loc[long["area"] == "London", "count"].tolist() == monthly_trend(tiny, Q)["count"].tolist()


@pytest.mark.parametrize("call", [
    lambda t: monthly_trend(t, Q, "E05999999"),
    lambda t: monthly_trend_by_type(t, Q, "E05999999"),
    lambda t: area_trends(t, Q, ("E05999999",)),
])
def test_unknown_area_is_one_error_class_everywhere(tiny: AnalysisTables, call) -> None:
    with pytest.raises(UnknownAreaError, match="unknown area code 'E05999999'"):
        call(tiny)
