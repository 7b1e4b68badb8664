"""The ONS best-fit LSOA (2021) → ward → local authority lookup, London only.

Wards get their names and boroughs from here (not from the Met's table, which files
Heathrow Villages under a pseudo-borough), and Census LSOA counts reach wards through it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from data_sources.read._csv import read_small_csv
from geo.london import CITY_OF_LONDON_CODE

LOOKUP_FILE = "boundaries/lookups/LSOA_(2021)_to_Electoral_Ward_(2025)_to_LAD_(2025)_Best_Fit_Lookup_in_EW_v2.csv"

_RENAME = {
    "LSOA21CD": "lsoa_code", "LSOA21NM": "lsoa_name", "WD25CD": "ward_code",
    "WD25NM": "ward_name", "LAD25CD": "borough_code", "LAD25NM": "borough_name",
}


def read_lsoa_lookup(path: Path) -> pd.DataFrame:
    """Read London's rows: ``lsoa_code, lsoa_name, ward_code, ward_name, borough_code, borough_name``.

    The City of London's LSOAs are assigned to one area, the City itself
    (``E09000001``), matching how the City appears everywhere else in this project.
    """
    frame = read_small_csv(path, list(_RENAME))
    london = frame.loc[frame["LAD25CD"].str.startswith("E09"), list(_RENAME)].rename(columns=_RENAME)
    city = london["borough_code"] == CITY_OF_LONDON_CODE
    london.loc[city, "ward_code"] = CITY_OF_LONDON_CODE
    london.loc[city, "ward_name"] = "City of London"
    return london.reset_index(drop=True).astype("string")


def ward_names(lookup: pd.DataFrame) -> pd.DataFrame:
    """One row per ward: ``ward_code, ward_name, borough_code, borough_name``."""
    cols = ["ward_code", "ward_name", "borough_code", "borough_name"]
    return lookup[cols].drop_duplicates("ward_code").sort_values("ward_code", ignore_index=True)


def normalise_borough_name(name: str) -> str:
    """Reduce a borough name to a comparison key.

    MOPAC writes 'City of Westminster' and both 'Richmond upon Thames' and 'Richmond
    Upon Thames'; others write '&' for 'and'. ``City of London`` keeps its prefix.

    Examples
    --------
    >>> normalise_borough_name("City of Westminster") == normalise_borough_name("Westminster")
    True
    >>> normalise_borough_name("Richmond Upon Thames")
    'richmond upon thames'
    """
    key = re.sub(r"\s+", " ", name.replace("&", " and ")).strip().lower()
    if key.startswith("city of ") and key != "city of london":
        key = key.removeprefix("city of ")
    return key.removeprefix("london borough of ").removeprefix("royal borough of ")


def borough_codes_by_name(lookup: pd.DataFrame) -> dict[str, str]:
    """Map normalised borough names to ONS borough codes."""
    pairs = lookup[["borough_code", "borough_name"]].drop_duplicates()
    return {normalise_borough_name(n): c for c, n in zip(pairs["borough_code"], pairs["borough_name"], strict=True)}
