"""Tests for analysis.trust: Wilson intervals from the assumed sample, borough figures for wards, the City."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.tables import AnalysisTables
from analysis.trust import (
    CITY_NOTE,
    assumed_sample,
    london_trust,
    measures_available,
    trust_for_areas,
    trust_table,
)
from core.errors import AnalysisInputError
from tests.tiny import B1, B2, CITY, LONDON, W1, W4

PAS_TOTAL = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "trust" / "PAS_Total.csv"


def wilson_reference(p: float, n: float, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson (1927) as written by Newcombe (1998), method 3: the closed form with r = p·n."""
    r = p * n
    a = 2 * r + z * z
    b = z * math.sqrt(z * z + 4 * r * (1 - p))
    c = 2 * (n + z * z)
    return (a - b) / c, (a + b) / c


def test_newcombe_worked_example() -> None:
    # Newcombe (1998), Table I: 81/263 gives the Wilson interval 0.2553 to 0.3662.
    lo, hi = wilson_reference(81 / 263, 263)
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)


@pytest.mark.parametrize(("level", "n"), [("borough", 400.0), ("ward", 400.0), ("london", 12800.0)])
def test_assumed_sample(level: str, n: float) -> None:
    assert assumed_sample(level) == n
    assert assumed_sample(level, 50) == n / 2


def test_borough_table_hand_computed(tiny: AnalysisTables) -> None:
    t = trust_table(tiny, "trust_mps").set_index(["area_code", "period_end"])
    row = t.loc[(B1, pd.Timestamp("2023-12-31"))]
    assert row["sample_n"] == 400
    assert (row["lo"], row["hi"]) == pytest.approx(wilson_reference(0.58, 400), abs=1e-12)
    assert row["baseline_proportion"] == 0.6
    assert row["change_since_plan"] == pytest.approx(-0.02)
    assert row["london_proportion"] == 0.71
    assert row["diff_vs_london"] == pytest.approx(-0.13)
    assert (row["london_lo"], row["london_hi"]) == pytest.approx(wilson_reference(0.71, 12800), abs=1e-12)


def test_n_per_quarter_is_adjustable(tiny: AnalysisTables) -> None:
    t = trust_table(tiny, "trust_mps", n_per_quarter=25)
    row = t[(t["area_code"] == B2) & (t["period_end"] == "2023-12-31")].iloc[0]
    assert row["sample_n"] == 100
    assert (row["lo"], row["hi"]) == pytest.approx(wilson_reference(0.82, 100), abs=1e-12)


def test_wards_take_their_boroughs_figure_and_say_so(tiny: AnalysisTables) -> None:
    t = trust_for_areas(tiny, "trust_mps").set_index("area_code")
    assert t.loc[W1, "trust"] == 0.58 and t.loc[W4, "trust"] == 0.82
    assert t.loc[W1, "trust_source_level"] == "borough"
    assert "borough figure" in t.loc[W1, "trust_note"]
    assert t.loc[W1, "trust_period_end"] == pd.Timestamp("2023-12-31")
    assert t.loc[W1, "london_trust"] == 0.71


def test_city_of_london_is_not_imputed(tiny: AnalysisTables) -> None:
    for level in ("ward", "borough"):
        t = trust_for_areas(tiny, "trust_mps", level=level).set_index("area_code")
        assert np.isnan(t.loc[CITY, "trust"]) and np.isnan(t.loc[CITY, "trust_lo"])
        assert t.loc[CITY, "trust_note"] == CITY_NOTE
        assert pd.isna(t.loc[CITY, "trust_source_level"])


def test_ward_rows_are_used_when_loaded(tiny: AnalysisTables) -> None:
    extra = pd.DataFrame([(W1, "ward", pd.Timestamp("2023-12-31"), "trust_mps", "Trust MPS", 0.4, 150, "ward file")],
                         columns=tiny.trust.columns)
    from dataclasses import replace

    tables = replace(tiny, trust=pd.concat([tiny.trust, extra], ignore_index=True))
    t = trust_for_areas(tables, "trust_mps").set_index("area_code")
    assert t.loc[W1, "trust"] == 0.4 and t.loc[W1, "trust_source_level"] == "ward"
    assert t.loc[W1, "trust_n"] == 150  # a published sample size beats the assumption
    assert t.loc["E05000002", "trust_source_level"] == "borough"


def test_period_choice_and_errors(tiny: AnalysisTables) -> None:
    t = trust_for_areas(tiny, "trust_mps", "2022-12-31", "borough").set_index("area_code")
    assert t.loc[B1, "trust"] == 0.6
    with pytest.raises(AnalysisInputError, match="no figure for the period ending 2021-12-31"):
        trust_for_areas(tiny, "trust_mps", "2021-12-31")
    with pytest.raises(AnalysisInputError, match="unknown trust measure 'trust'"):
        trust_table(tiny, "trust")
    assert london_trust(tiny, "trust_mps")[0] == 0.71
    assert measures_available(tiny) == (("trust_mps", "Trust MPS"),)


def test_london_values_equal_published_pas_total(snapshot_tables: AnalysisTables) -> None:
    if not PAS_TOTAL.is_file():
        pytest.skip("../shared/data is absent")
    published = pd.read_csv(PAS_TOTAL, sep=";", decimal=",")
    published["period_end"] = pd.to_datetime(published["Date"], format="%d/%m/%Y")
    labels = dict((label, mid) for mid, label in measures_available(snapshot_tables))
    assert len(labels) == 8
    trust_mps = published[(published["Measure"] == "Trust MPS") & (published["Date"] == "31/12/2023")]
    assert london_trust(snapshot_tables, "trust_mps", "2023-12-31")[0] == trust_mps["Proportion"].iloc[0]
    for label, rows in published.groupby("Measure"):
        ours = trust_table(snapshot_tables, labels[label], level="london").set_index("period_end")["proportion"]
        expected = rows.set_index("period_end")["Proportion"]
        assert len(expected) >= 30
        assert ours.loc[expected.index].tolist() == expected.tolist(), label


def test_real_wards_all_use_borough_figures(snapshot_tables: AnalysisTables) -> None:
    t = trust_for_areas(snapshot_tables, "trust_mps")
    assert len(t) == 680
    assert (t["trust_source_level"] == "borough").sum() == 679
    assert t.loc[t["area_code"] == CITY, "trust"].isna().all()
    assert LONDON not in set(t["area_code"])



def test_publications_say_which_figures_come_from_where(tiny: AnalysisTables) -> None:
    from dataclasses import replace

    from analysis.trust import publications

    assert publications(tiny, "trust_mps") == [("MOPAC Public Attitude Survey", pd.Timestamp("2022-12-31"),
                                                pd.Timestamp("2023-12-31"))]
    labelled = tiny.trust.assign(publication=np.where(tiny.trust["period_end"] < "2023-06-30", "MOPAC PAS workbook",
                                                      "MOPAC dashboard (extracted)"))
    tables = replace(tiny, trust=labelled)
    assert [p[0] for p in publications(tables, "trust_mps")] == ["MOPAC PAS workbook", "MOPAC dashboard (extracted)"]
