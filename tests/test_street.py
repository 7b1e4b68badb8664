"""Tests for analysis.street: squares of individual crimes and the outcome mix, with no Streamlit."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.street import NO_OUTCOME, outcome_counts, outcome_mix, street_bins

ROWS = pd.DataFrame({"ward_code": ["W1", "W1", "W1", "W2", "W2"], "borough_code": ["B1"] * 5,
                     "crime_type": ["Burglary", "Burglary", "Robbery", "Burglary", "Robbery"],
                     "last_outcome": ["Under investigation", None, "Under investigation", "Local resolution", ""]})


def test_outcome_counts_name_missing_outcomes() -> None:
    counts = outcome_counts(ROWS)
    assert counts["n"].sum() == len(ROWS)
    assert counts.loc[counts["last_outcome"] == NO_OUTCOME, "n"].sum() == 2  # None and "" alike


@pytest.mark.parametrize(("area", "types", "expected", "total"), [
    ("W1", (), {"Under investigation": 2}, 3),
    ("W2", (), {"Local resolution": 1}, 2),
    ("B1", ("Burglary",), {"Under investigation": 1, "Local resolution": 1}, 3),
])
def test_outcome_mix_shares_of_known_outcomes(area: str, types: tuple[str, ...], expected: dict[str, int],
                                               total: int) -> None:
    frame, note = outcome_mix(outcome_counts(ROWS), area, "2024-01–2024-01", types)
    assert dict(zip(frame["outcome"], frame["crimes"], strict=True)) == expected
    assert frame["share"].sum() == pytest.approx(1.0)
    assert f"{sum(expected.values())} of {total} have an outcome" in note


def test_outcome_mix_without_any_outcome_says_so() -> None:
    rows = ROWS.assign(last_outcome=None)
    frame, note = outcome_mix(outcome_counts(rows), "W1", "2024-01–2024-02")
    assert frame is None
    assert note == "No police.uk crime here in 2024-01–2024-02 has an outcome recorded (3 crimes)."


def test_street_bins_count_located_crimes_per_square() -> None:
    rows = pd.DataFrame({"longitude": [-0.1000, -0.0985, -0.0500, float("nan")],
                         "latitude": [51.4980, 51.4985, 51.5200, 51.5]})
    bins = street_bins(rows).sort_values("n", ascending=False, ignore_index=True)
    assert bins["n"].tolist() == [2, 1]  # the crime without a location is left out
    assert bins[["lon", "lat"]].iloc[0].tolist() == pytest.approx([-0.098, 51.498])
    assert bins["rank"].tolist() == [1.0, 0.5]
