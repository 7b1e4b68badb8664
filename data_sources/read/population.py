"""Census 2021 usual residents (ONS TS007A): wards from LSOAs, boroughs as published.

ONS perturbs each geography's counts independently (cell-key perturbation), so London's
LSOAs summed to a borough differ from the published borough figure by up to about 70
residents. Borough and London populations are therefore taken from the local-authority
file (London totals 8,799,710, as published) and ward populations from their LSOAs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.errors import InputFileError
from data_sources.read._csv import read_small_csv
from data_sources.schemas import POPULATION
from geo.london import LONDON_CODE

POPULATION_LSOA_FILE = "population/census2021-ts007a-lsoa.csv"
POPULATION_LTLA_FILE = "population/census2021-ts007a-ltla.csv"
_CODE, _TOTAL = "geography code", "Age: Total"


def _usual_residents(path: Path) -> pd.DataFrame:
    """Read ``area_code, population`` from a Nomis TS007A bulk file, checking the counts."""
    frame = read_small_csv(path, [_CODE, _TOTAL])
    counts = pd.to_numeric(frame[_TOTAL].str.strip(), errors="coerce")
    bad = counts.isna() | (counts < 0) | (counts % 1 != 0)
    if bad.any():
        line = int(bad.to_numpy().argmax()) + 2
        raise InputFileError(path, f"'{_TOTAL}' is not a whole number ≥ 0: {frame[_TOTAL].iloc[line - 2]!r}",
                             line=line, hint="use the unmodified Nomis TS007A bulk file")
    return pd.DataFrame({"area_code": frame[_CODE].astype("string"), "population": counts.astype("int64")})


def read_population(lsoa_path: Path, ltla_path: Path, lookup: pd.DataFrame) -> pd.DataFrame:
    """Return the POPULATION table for every London ward, borough and London itself.

    Parameters
    ----------
    lsoa_path, ltla_path
        The Nomis bulk files ``census2021-ts007a-lsoa.csv`` and ``-ltla.csv``.
    lookup
        London's LSOA→ward→borough lookup (``data_sources.read.lookup.read_lsoa_lookup``).
    """
    lsoa = _usual_residents(lsoa_path).rename(columns={"area_code": "lsoa_code"})
    london = lookup.merge(lsoa, on="lsoa_code", how="left")
    missing = london.loc[london["population"].isna(), "lsoa_code"]
    if len(missing):
        raise InputFileError(lsoa_path, f"{len(missing)} London LSOAs have no population, e.g. {missing.iloc[0]!r}",
                             hint="use the Census 2021 LSOA file")
    wards = london.groupby("ward_code", as_index=False)["population"].sum().rename(columns={"ward_code": "area_code"})
    borough_codes = set(lookup["borough_code"])
    boroughs = _usual_residents(ltla_path)
    boroughs = boroughs[boroughs["area_code"].isin(borough_codes)]
    if len(boroughs) != len(borough_codes):
        absent = sorted(borough_codes - set(boroughs["area_code"]))
        raise InputFileError(ltla_path, f"no population for borough(s) {absent!r}",
                             hint="use the Census 2021 LTLA file")
    total = pd.DataFrame({"area_code": [LONDON_CODE], "population": [boroughs["population"].sum()]})
    out = pd.concat([
        wards.assign(area_level="ward"), boroughs.assign(area_level="borough"), total.assign(area_level="london"),
    ], ignore_index=True)
    return POPULATION.conform(out)
