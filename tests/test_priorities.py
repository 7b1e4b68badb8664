"""Tests for analysis.priorities on the hand-made wards, plus timing and hot spots on the snapshot."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.hotspots import area_weights, hotspot_columns
from analysis.priorities import FlagSettings, flag_areas, priority_base, priority_table
from analysis.query import CrimeQuery
from analysis.tables import AnalysisTables
from core.errors import AnalysisInputError
from tests.tiny import BURGLARY, CITY, W1, W2, W3, W4, W5

FULL = CrimeQuery(crime_types=(BURGLARY,), start="2024-01", end="2024-04")
LAST_TWO = CrimeQuery(crime_types=(BURGLARY,), start="2024-03", end="2024-04")


def test_classes_flag_and_reason_hand_computed(tiny: AnalysisTables) -> None:
    # Rates W1..W5 = 8, 2, 0, 3, 1 (terciles cut at 1.33 and 2.67); trust 0.58 ×3, 0.82 ×2
    # (cuts 0.58 and 0.74). Only W1 is at or above the crime cut with trust at or below 0.58.
    t = priority_table(tiny, FULL, FlagSettings()).table.set_index("area_code")
    assert t.loc[[W1, W2, W3, W4, W5], "class_3x3"].tolist() == ["C3-T1", "C2-T1", "C1-T1", "C3-T3", "C1-T3"]
    assert t.loc[W1, "class_label"] == "high crime, low trust"
    assert t.loc[[W1, W2, W3, W4, W5], "crime_class"].tolist() == ["high", "mid", "low", "high", "low"]
    assert t["flagged"].tolist() == [True] + [False] * 5
    assert t.index[0] == W1 and t.loc[W1, "rank"] == 1
    assert t.loc[W1, "reason"] == ("Burglary in a dwelling 3.1× the London rate; 'Trust MPS' 58% "
                                   "(borough figure; 95% CI 53–63%) against London 71%")
    assert t.loc[CITY, "class_3x3"] == "n/a" and not t.loc[CITY, "flagged"]
    assert "not surveyed by MOPAC" in t.loc[CITY, "reason"]
    assert t.loc[W1, "trust_source_level"] == "borough"


def test_rank_orders_flagged_then_by_value(tiny: AnalysisTables) -> None:
    t = priority_table(tiny, FULL, FlagSettings()).table
    assert t["area_code"].tolist() == [W1, W4, W2, W5, W3, CITY]
    assert t["rank"].tolist() == [1, 2, 3, 4, 5, 6]


def test_robustness_over_periods_and_settings(tiny: AnalysisTables) -> None:
    # Mar-Apr rates 4, 1, 0, 1.5, 0; Jan-Feb rates 4, 1, 0, 1.5, 1: W1 is flagged in both, and
    # under all nine neighbouring thresholds.
    result = priority_table(tiny, LAST_TWO, FlagSettings())
    t = result.table.set_index("area_code")
    assert t.loc[W1, "flagged"]
    assert (t.loc[W1, "robust_periods_k"], t.loc[W1, "robust_periods_n"]) == (1, 1)
    assert t.loc[W1, "robustness_periods"] == "flagged in 1 of 1 earlier periods"
    assert t.loc[W1, "robustness_settings"] == "9 of 9"
    assert result.robustness_periods == (("2024-01", "2024-02"),)
    none_earlier = priority_table(tiny, FULL, FlagSettings()).table.set_index("area_code")
    assert none_earlier.loc[W1, "robustness_periods"] == "flagged in 0 of 0 earlier periods"


def test_interval_rule(tiny: AnalysisTables) -> None:
    # W1: rate interval 3.45-15.76 lies above London's 2.6 and trust's 0.531-0.627 below 0.71.
    # W4: rate 3.0 but its interval starts at 1.55, so chance could explain it.
    t = priority_table(tiny, FULL, FlagSettings(method="interval")).table.set_index("area_code")
    assert t["flagged"].sum() == 1 and t.loc[W1, "flagged"]
    # At 99% W1's rate interval starts at chi2(0.005, 16)/2 = 2.57 < 2.6: flagged at 90% and 95%
    # for crime, under all three trust levels, so 6 of 9.
    assert t.loc[W1, "robust_settings_m"] == 6
    with pytest.raises(AnalysisInputError, match="interval rule needs a measure with an interval"):
        priority_table(tiny, CrimeQuery(measure="harm"), FlagSettings(method="interval"))


@pytest.mark.parametrize(("settings", "message"), [
    (FlagSettings(method="vote"), "unknown flag method 'vote'"),
    (FlagSettings(crime_pct=1.5), "crime_pct must lie between 0 and 1"),
    (FlagSettings(trust_measure="nope"), "unknown trust measure 'nope'"),
    (FlagSettings(n_per_quarter=0), "n_per_quarter must be positive"),
])
def test_bad_settings(tiny: AnalysisTables, settings: FlagSettings, message: str) -> None:
    with pytest.raises(AnalysisInputError, match=message):
        priority_table(tiny, FULL, settings)


def test_a_threshold_change_reuses_the_base(tiny: AnalysisTables) -> None:
    base = priority_base(tiny, FULL, FlagSettings(crime_pct=0.5))
    for flags in (FlagSettings(), FlagSettings(crime_pct=0.5, trust_pct=0.7), FlagSettings(method="interval")):
        again = flag_areas(base, flags)
        whole = priority_table(tiny, FULL, flags)
        assert again.table.equals(whole.table) and again.flags == flags
    with pytest.raises(AnalysisInputError, match="need a new base"):
        flag_areas(base, FlagSettings(trust_measure="trust_mps", n_per_quarter=50))


def test_threshold_moves_the_flag(tiny: AnalysisTables) -> None:
    # With trust at or below the 70th percentile (0.724), W2 (rate 2, mid) still misses the crime cut,
    # but lowering crime_pct to 0.5 (cut 2.0) brings it in.
    t = priority_table(tiny, FULL, FlagSettings(crime_pct=0.5, trust_pct=0.7)).table.set_index("area_code")
    assert t.loc[W2, "flagged"] and t.loc[W1, "flagged"] and not t.loc[W4, "flagged"]



def test_real_table_after_threshold_and_filter_changes(snapshot_tables: AnalysisTables) -> None:
    """Speed is shown by benchmarks/bench_priorities.py; here, the table's shape on real data."""
    q = CrimeQuery(source="mps_ward", start="2023-07", end="2025-06")
    table = priority_table(snapshot_tables, q, FlagSettings()).table
    assert len(table) == 680 and table["flagged"].iloc[0]
    looser = priority_table(snapshot_tables, q, FlagSettings(crime_pct=0.6)).table
    assert looser["flagged"].sum() >= table["flagged"].sum()
    burglary = priority_table(snapshot_tables, CrimeQuery(source="mps_ward", start="2024-07", end="2025-06",
                                                          crime_groups=("BURGLARY",)), FlagSettings()).table
    assert len(burglary) == 680 and not burglary["count"].equals(table["count"])


def test_hotspot_columns_on_real_wards(snapshot_tables: AnalysisTables) -> None:
    table = priority_table(snapshot_tables, CrimeQuery(source="mps_ward"), FlagSettings()).table
    spots = hotspot_columns(table, area_weights(snapshot_tables.wards_display), permutations=99)
    assert list(spots.columns) == ["gi_z", "gi_q", "hotspot", "lisa_quadrant", "lisa_label"]
    assert spots.index.equals(table.index)
    assert set(spots["hotspot"]) <= {"hot", "cold", "not significant", "no data", "no neighbours"}
    assert (spots["hotspot"] == "hot").any()
    city = table.index[table["area_code"] == CITY][0]
    assert spots.loc[city, "hotspot"] == "no data"
    assert np.isfinite(spots["gi_z"]).sum() >= 670
