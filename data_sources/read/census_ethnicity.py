"""Census 2021 ethnic group by local authority (ONS custom dataset, by sex): the denominators of search rates by group.

The file has one row per area and sex and the 19 detailed ethnic groups as columns. Rows
for London's boroughs and London itself (E12000007) are kept, both sexes summed and the
19 groups mapped to the five high-level groups (Asian, Black, Mixed, White, Other). ONS
rounds every cell to a multiple of 5 and leaves small cells empty (suppressed); an empty
cell counts 0 and the number of such cells is reported. In this file the **City of London
and Westminster are one row** (code E09000001); its ``covers`` lists both boroughs so that
measures can pool their searches to match.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.errors import InputFileError
from data_sources.read._csv import read_small_csv
from data_sources.schemas import CENSUS_ETHNICITY
from geo.london import CITY_OF_LONDON_CODE, LONDON_CODE

CENSUS_ETHNICITY_FILE = "census/ethnic_pop_region.csv"
WESTMINSTER_CODE = "E09000033"
_CODE, _NAME, _SEX = "Geography Code", "Geography Name", "Sex"
#: The Census's high-level group is the text before the colon of each detailed label.
HIGH_LEVEL = {"Asian": "asian", "Black": "black", "Mixed": "mixed", "White": "white", "Other": "other"}


def high_level_group(label: str) -> str | None:
    """The high-level group of a detailed Census label, or None if it names none.

    Examples
    --------
    >>> high_level_group("Black, Black British, Black Welsh, Caribbean or African: Caribbean")
    'black'
    >>> high_level_group("Other ethnic group: Arab")
    'other'
    """
    first = label.split(":", 1)[0].split(",", 1)[0].split(" ", 1)[0]
    return HIGH_LEVEL.get(first)


def read_census_ethnicity(path: Path, borough_codes: set[str]) -> tuple[pd.DataFrame, list[str]]:
    """Return the CENSUS_ETHNICITY rows for London's boroughs and London, and notes.

    Parameters
    ----------
    path
        The ONS file (``census/ethnic_pop_region.csv`` in the data folder).
    borough_codes
        London's borough codes; every one must be covered by some row.

    Raises
    ------
    InputFileError
        When a column or a borough is missing, or a count is not a whole number.
    """
    frame = read_small_csv(path, [_CODE, _NAME, _SEX])
    groups = {c: high_level_group(c) for c in frame.columns if c not in (_CODE, _NAME, _SEX)}
    unknown = [c for c, g in groups.items() if g is None]
    if unknown or not groups:
        raise InputFileError(path, f"column(s) {unknown[:3]!r} are not Census ethnic groups" if unknown
                             else "has no ethnic-group columns", line=1,
                             hint="use the ONS Census 2021 ethnic group (19 categories) dataset")
    london = frame[frame[_CODE].isin(borough_codes | {LONDON_CODE})].reset_index()
    long = london.melt(id_vars=["index", _CODE, _NAME], value_vars=list(groups), var_name="detailed_group",
                       value_name="text")
    text = long["text"].str.strip()
    counts = pd.to_numeric(text.where(text != "", "0"), errors="coerce")
    bad = counts.isna() | (counts < 0) | (counts % 1 != 0)
    if bad.any():
        row = long[bad].iloc[0]
        raise InputFileError(path, f"{row['detailed_group']!r} is not a whole number: {row['text']!r}",
                             line=int(row["index"]) + 2, hint="use the unmodified ONS download")
    long = long.assign(residents=counts.astype("int64"))
    out = long.groupby([_CODE, _NAME, "detailed_group"], as_index=False)["residents"].sum()
    out = out.rename(columns={_CODE: "area_code", _NAME: "area_name"})
    out["ethnic_group"] = out["detailed_group"].map(groups)
    merged = out["area_name"].str.contains("Westminster") & (out["area_code"] == CITY_OF_LONDON_CODE)
    out["covers"] = out["area_code"].where(~merged, f"{CITY_OF_LONDON_CODE} {WESTMINSTER_CODE}")
    out.loc[out["area_code"] == LONDON_CODE, "covers"] = LONDON_CODE
    covered = {c for cover in out["covers"] for c in cover.split()}
    absent = sorted(borough_codes - covered)
    if absent:
        raise InputFileError(path, f"no rows for borough(s) {absent!r}", hint="use the all-local-authorities download")
    notes = [f"{path.name}: {int((text == '').sum())} suppressed (empty) cells among London's counted as 0"]
    if merged.any():
        notes.append("City of London and Westminster are one row in the Census file: their searches are pooled "
                     "for rates by ethnic group")
    return CENSUS_ETHNICITY.conform(out.sort_values(["area_code", "detailed_group"], ignore_index=True)), notes
