"""Crime harm weights as a replaceable data table (default: Cambridge Crime Harm Index).

Weights are days of imprisonment, per police.uk crime type (for street-level data) and
per Home Office offence subgroup (for the Met's ward table). Any table with the same
columns — an ONS Crime Severity Score list, say — can be swapped in. The Met's own
offence subgroups are mapped to Home Office subgroups by a table shipped with this package
(``harm_mapping_mps.csv``), so both harm files have one home.
"""

from __future__ import annotations

from importlib import resources
from io import StringIO
from pathlib import Path

import pandas as pd

from core.errors import InputFileError
from data_sources.read._csv import read_small_csv

CCHI_BY_TYPE_FILE = "harm/cambridge_chi/cchi_weights_by_category.csv"
CCHI_BY_SUBGROUP_FILE = "harm/cambridge_chi/cchi_weights.csv"
HARM_COLUMNS = ["scheme", "applies_to", "category", "weight"]
#: The Met minor category → Home Office subgroup mapping, shipped with this package.
MPS_HARM_MAPPING_FILE = "harm_mapping_mps.csv"


def _weights(path: Path, category_col: str, weight_col: str) -> pd.Series:
    frame = read_small_csv(path, [category_col, weight_col])
    weights = pd.to_numeric(frame[weight_col], errors="coerce")
    bad = weights.isna() | (weights < 0)
    if bad.any():
        line = int(bad.to_numpy().argmax()) + 2
        raise InputFileError(path, f"weight {frame[weight_col].iloc[line - 2]!r} is not a number ≥ 0", line=line,
                             hint="give every category a weight in days (0 for none)")
    return pd.Series(weights.to_numpy(), index=frame[category_col].str.strip())


def read_cchi(by_type: Path, by_subgroup: Path) -> pd.DataFrame:
    """Return ``scheme, applies_to, category, weight`` rows for both levels of the CCHI.

    ``applies_to`` is ``'police_uk_crime_type'`` or ``'ho_subgroup'``. Anti-social
    behaviour has no published weight and is deliberately absent.
    """
    types = _weights(by_type, "crime_type", "cchi_days")
    subgroups = _weights(by_subgroup, "prc_subgroup", "cchi_days")
    return pd.concat([
        pd.DataFrame({"applies_to": "police_uk_crime_type", "category": types.index, "weight": types.values}),
        pd.DataFrame({"applies_to": "ho_subgroup", "category": subgroups.index, "weight": subgroups.values}),
    ], ignore_index=True).assign(scheme="cchi")[HARM_COLUMNS]


def read_mps_harm_mapping() -> pd.DataFrame:
    """Read the Met minor category → Home Office subgroup mapping shipped with this package.

    Columns ``crime_group, crime_type, ho_subgroup, note``; the note marks approximations.
    """
    text = resources.files("data_sources.read").joinpath(MPS_HARM_MAPPING_FILE).read_text(encoding="utf-8")
    return pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)
