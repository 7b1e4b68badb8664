"""The build on the real shared data: row accounting, coverage and reconciliation.

These run only where ``../shared/data`` exists (CI has it). Figures asserted here are
the issue's acceptance bounds, not the measured values, which the build reports.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_sources.counts import counts_table
from data_sources.store.versions import open_store

pytestmark = pytest.mark.slow


def test_every_row_is_accounted_for(real_store: tuple[Path, dict]) -> None:
    _, manifest = real_store
    for name, src in manifest["sources"].items():
        assert src["rows_kept"] + sum(src["dropped"].values()) == src["rows_read"], name
    street = manifest["sources"]["police_uk_street"]
    assert street["rows_read"] == 223_982 + 709  # Met burglary files + City of London month
    assert set(street["dropped"]) <= {"outside_london", "superseded_month", "duplicate_file"}
    assert len(street["months"]) == 50
    points = manifest["sources"]["police_uk_points_2022"]
    assert points["rows_read"] == 849_409
    assert 95 <= points["dropped"]["outside_london"] <= 110  # the 100 planted crimes


def test_store_tables_match_manifest(real_store: tuple[Path, dict]) -> None:
    store, manifest = real_store
    handle = open_store(store)
    kept = sum(len(handle.read_street([m])) for m in handle.street_months())
    assert kept == manifest["sources"]["police_uk_street"]["rows_kept"] + \
        manifest["sources"]["police_uk_points_2022"]["rows_kept"]


def test_every_met_ward_has_polygon_name_borough_population(real_store: tuple[Path, dict], shared_data: Path) -> None:
    handle = open_store(real_store[0])
    met = pd.read_csv(shared_data / "crime/mps_ward_recorded_crime/MPS Ward Level Crime (most recent 24 months).csv",
                      usecols=["WardCode"])["WardCode"].unique()
    assert len(met) == 679
    areas = handle.read("areas").set_index("area_code")
    pop = handle.read("population").set_index("area_code")["population"]
    wards = handle.read("wards").set_index("ward_code")
    for code in met:
        assert code in wards.index and not wards.loc[code, "geometry"].is_empty
        assert areas.loc[code, "area_name"] and areas.loc[code, "borough_code"].startswith("E09")
        assert pop[code] > 0
    assert areas.loc["E05013570", "borough_name"] == "Hillingdon"  # Heathrow, not 'Aviation Security'


def test_population_totals_equal_census(real_store: tuple[Path, dict]) -> None:
    pop = open_store(real_store[0]).read("population")
    assert pop.loc[pop["area_level"] == "borough", "population"].sum() == 8_799_710
    assert pop.loc[pop["area_level"] == "london", "population"].item() == 8_799_710
    assert len(pop[pop["area_level"] == "ward"]) == 680
    # Ward sums come from perturbed LSOA counts: within 0.01% of the published total.
    assert abs(pop.loc[pop["area_level"] == "ward", "population"].sum() - 8_799_710) < 880


def monthly_burglary(handle) -> pd.DataFrame:
    lt = handle.read("london_totals")
    pu = lt[(lt["source"] == "police_uk") & (lt["crime_type"] == "Burglary")].set_index("month")["count"]
    mw = lt[(lt["source"] == "mps_ward") & lt["crime_type"].str.startswith("BURGLARY")].groupby("month")["count"].sum()
    both = pd.concat([pu.rename("police_uk"), mw.rename("mps_ward")], axis=1, join="inner")
    return both.assign(diff_pct=(both["police_uk"] - both["mps_ward"]) / both["mps_ward"] * 100)


def test_monthly_burglary_reconciles_with_met(real_store: tuple[Path, dict]) -> None:
    table = monthly_burglary(open_store(real_store[0]))
    assert len(table) == 20  # Jul 2023 – Feb 2025 overlap
    assert table["diff_pct"].abs().median() <= 0.5
    # The worst month is Oct 2023, whose police.uk file holds ~380 crimes without a location
    # (usually ~20) and 135 repeated Crime IDs; every other month is within 2%.
    assert table["diff_pct"].abs().drop("2023-10").max() <= 2.0


@pytest.mark.parametrize(("start", "end"), [("2023-07", "2024-06"), ("2024-03", "2025-02")])
def test_ward_burglary_totals_correlate_with_met(real_store: tuple[Path, dict], start: str, end: str) -> None:
    handle = open_store(real_store[0])
    pu = handle.read("counts_police_uk")
    mw = handle.read("counts_mps_ward")
    a = pu[(pu["crime_type"] == "Burglary") & pu["month"].between(start, end)].groupby("area_code")["count"].sum()
    b = mw[(mw["crime_group"] == "BURGLARY") & mw["month"].between(start, end)].groupby("area_code")["count"].sum()
    both = pd.concat([a.rename("a"), b.rename("b")], axis=1).fillna(0).drop(index="E09000001", errors="ignore")
    assert len(both) == 679
    assert np.corrcoef(both["a"], both["b"])[0, 1] >= 0.98


def test_pas_values_are_the_published_ones(real_store: tuple[Path, dict], shared_data: Path) -> None:
    trust = open_store(real_store[0]).read("trust")
    raw = pd.read_csv(shared_data / "trust/PAS_buroughs.csv", sep=";", decimal=",")
    raw_london = pd.read_csv(shared_data / "trust/PAS_Total.csv", sep=";", decimal=",")
    book = trust[trust["publication"] == "MOPAC PAS workbook"]
    assert len(book) == len(raw) + len(raw_london)  # every workbook figure, none superseded
    westminster = trust[(trust["area_code"] == "E09000033") & (trust["measure_id"] == "trust_mps")
                        & (trust["period_end"] == "2023-12-31")]["proportion"].item()
    published = raw[(raw["Borough"] == "City of Westminster") & (raw["Measure"] == "Trust MPS")
                    & (raw["Date"] == "31/12/2023")]["Proportion"].item()
    assert westminster == published
    # The borough file's MPS column is London's figure: it must equal the London sheet.
    london = trust[trust["area_level"] == "london"].set_index(["period_end", "measure_label"])["proportion"]
    raw["period_end"] = pd.to_datetime(raw["Date"], format="%d/%m/%Y")
    for (date, label), mps in raw.groupby(["period_end", "Measure"])["MPS"].first().items():
        assert london[(date, label)] == pytest.approx(mps)


def test_trust_reaches_march_2026_and_london_equals_the_official_series(real_store: tuple[Path, dict],
                                                                        shared_data: Path) -> None:
    trust = open_store(real_store[0]).read("trust")
    boroughs = trust[trust["area_level"] == "borough"]
    assert boroughs["period_end"].max() == pd.Timestamp("2026-03-31")
    latest = boroughs[(boroughs["measure_id"] == "trust_mps") & (boroughs["period_end"] == "2026-03-31")]
    assert len(latest) == 32 and set(latest["publication"]) == {"MOPAC dashboard (extracted)"}
    assert not trust.duplicated(["area_code", "period_end", "measure_id"]).any()
    # Wherever the official London series has a figure, London's figure is official (never derived) and equal.
    series = pd.read_csv(shared_data / "trust/pas_london_official_2014-2025/public-perception-data.csv")
    london = trust[trust["area_level"] == "london"].set_index(["period_end", "measure_id"])
    from data_sources.read.pas_extra import LONDON_SERIES_MEASURES
    for row in series.itertuples():
        end = pd.Timestamp(pd.to_datetime(row.date, format="%b-%y")) + pd.offsets.MonthEnd(0)
        got = london.loc[(end, LONDON_SERIES_MEASURES[row.measure])]
        assert got["publication"] in ("MOPAC PAS workbook", "MOPAC London series (Datastore)"), (end, row.measure)
        assert round(got["proportion"] * 100) == row.proportion, (end, row.measure)
    manifest = real_store[1]
    assert manifest["currency"]["pas"]["newest"] == "2026-03"
    assert set(manifest["currency"]["pas"]["by_publication"]) == {"MOPAC PAS workbook", "MOPAC dashboard (extracted)"}


def test_rebuild_reuses_cached_inputs(real_store: tuple[Path, dict], shared_data: Path) -> None:
    from data_sources.build.build import build_store

    store, first = real_store
    cached = {p.name: p.stat().st_mtime_ns for p in (store / "inputs").glob("*.parquet")}
    second = build_store(shared_data, store)
    assert {p.name: p.stat().st_mtime_ns for p in (store / "inputs").glob("*.parquet")} == cached
    assert second["sources"]["police_uk_street"]["rows_kept"] == first["sources"]["police_uk_street"]["rows_kept"]


def test_counts_cli_writes_tidy_csv(real_store: tuple[Path, dict], tmp_path: Path) -> None:
    out = tmp_path / "counts.csv"
    command = [sys.executable, "-m", "data_sources", "counts", "--source", "mps_ward", "--level", "borough",
               "--store", str(real_store[0]), "--out", str(out)]
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    table = pd.read_csv(out)
    assert list(table.columns) == ["area_code", "area_name", "borough_code", "month", "source", "crime_type", "count"]
    assert table["area_code"].nunique() == 32  # the City of London is not in the Met's table
    wards = counts_table(open_store(real_store[0]), source="mps_ward", level="ward")
    assert table["count"].sum() == wards["count"].sum()
