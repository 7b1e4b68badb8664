"""The documented schemas of the tidy tables that pass between layers.

Readers return DataFrames in these shapes; the store writes them; analysis reads them.
One definition here keeps the CSV reader, the API client and the store in step.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

STR = "string"
F64 = "float64"
I64 = "int64"
NULLABLE_INT = "Int64"
CAT = "category"


@dataclass(frozen=True)
class Schema:
    """A table's name, ordered column dtypes and one line per column on what it means."""

    name: str
    dtypes: dict[str, str]
    doc: dict[str, str]

    @property
    def columns(self) -> list[str]:
        return list(self.dtypes)

    def conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return ``frame`` with exactly this schema's columns, in order, with its dtypes.

        Missing columns are an error in the calling code, not in the data, so they raise
        ``KeyError`` naming them.
        """
        missing = [c for c in self.dtypes if c not in frame.columns]
        if missing:
            raise KeyError(f"{self.name}: frame lacks columns {missing!r}")
        out = frame[self.columns]
        differing = {c: t for c, t in self.dtypes.items() if str(out[c].dtype) != t}
        return out.astype(differing) if differing else out

    def empty(self) -> pd.DataFrame:
        """An empty frame with this schema, for months or sources with no rows."""
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in self.dtypes.items()})


STREET_CRIMES = Schema(
    "street_crimes",
    {
        "crime_id": STR,
        "api_id": NULLABLE_INT,
        "month": STR,
        "reported_by": STR,
        "falls_within": STR,
        "longitude": F64,
        "latitude": F64,
        "location": STR,
        "location_type": STR,
        "lsoa_code": STR,
        "lsoa_name": STR,
        "crime_type": STR,
        "last_outcome": STR,
        "dataset": STR,
        "source_file": STR,
    },
    {
        "crime_id": "police.uk Crime ID / API persistent_id (64-hex); <NA> for anti-social behaviour and BTP",
        "api_id": "the API record's integer id (unique per record and month); <NA> for bulk CSV rows",
        "month": "YYYY-MM the crime was recorded in",
        "reported_by": "force that published the row",
        "falls_within": "force whose area the location falls in",
        "longitude": "WGS84 snap-point longitude; NaN when the crime has no location",
        "latitude": "WGS84 snap-point latitude; NaN when the crime has no location",
        "location": "anonymised snap-point label, e.g. 'On or near Thatches Grove'",
        "location_type": "API location_type ('Force', 'BTP') or the 2022 points' snap-point category; <NA> if unknown",
        "lsoa_code": "LSOA code as published (2011 or 2021 vintage); <NA> when absent",
        "lsoa_name": "LSOA name as published",
        "crime_type": "police.uk crime type name, e.g. 'Burglary', 'Anti-social behaviour'",
        "last_outcome": "last outcome category as of download; <NA> when none",
        "dataset": "input kind: 'street_csv', 'points_2022', or fetched by refresh: 'api', 'archive'",
        "source_file": "file or request the row came from (for provenance)",
    },
)

#: Street rows after ward assignment, as kept in the store.
STREET_CRIMES_PLACED = Schema(
    "street_crimes_placed",
    {
        **STREET_CRIMES.dtypes,
        "ward_code": STR,
        "borough_code": STR,
        "placed_by": STR,
    },
    {
        **STREET_CRIMES.doc,
        "ward_code": "2022 ward code (City of London: E09000001); <NA> when the crime has no usable location",
        "borough_code": "ONS borough code (E09...); <NA> when unknown",
        "placed_by": "'point' (coordinates in a ward polygon), 'lsoa' (LSOA lookup fallback) or 'none'",
    },
)

MPS_WARD_CRIME = Schema(
    "mps_ward_crime",
    {
        "ward_code": STR,
        "month": STR,
        "offence_group": STR,
        "offence_subgroup": STR,
        "count": I64,
        "source_file": STR,
    },
    {
        "ward_code": "2022 ward code as used by the Met",
        "month": "YYYY-MM",
        "offence_group": "Home Office major category (MajorText), e.g. 'BURGLARY'",
        "offence_subgroup": "Home Office minor category (MinorText), e.g. 'BURGLARY - RESIDENTIAL'",
        "count": "crimes recorded by the Met in that ward and month",
        "source_file": "extract the month was taken from (the newest that has it)",
    },
)

TRUST = Schema(
    "trust",
    {
        "area_code": STR,
        "area_level": STR,
        "period_end": "datetime64[ns]",
        "measure_id": STR,
        "measure_label": STR,
        "proportion": F64,
        "sample_size": NULLABLE_INT,
        "source_file": STR,
        "publication": STR,
    },
    {
        "area_code": "ward, borough (E09...) or London (E12000007) code",
        "area_level": "'ward', 'borough' or 'london'",
        "period_end": "last day of the survey period (MOPAC: rolling 12 months to this quarter end)",
        "measure_id": "stable id, e.g. 'good_job_local', 'trust_mps'",
        "measure_label": "published label, e.g. '\"Good Job\" local'",
        "proportion": "share agreeing, 0..1",
        "sample_size": "interviews behind the figure when published; <NA> otherwise",
        "source_file": "file the row came from",
        "publication": "short stable label of the publication the figure comes from, e.g. 'MOPAC PAS workbook', "
                       "'MOPAC dashboard (extracted)', 'MOPAC London series (Datastore)', 'your upload' "
                       "(see data_sources.read.pas.PUBLICATIONS)",
    },
)

POPULATION = Schema(
    "population",
    {"area_code": STR, "area_level": STR, "population": I64},
    {
        "area_code": "ward, borough or London code",
        "area_level": "'ward', 'borough' or 'london'",
        "population": "Census 2021 usual residents (ONS TS007A), LSOAs summed by best-fit lookup",
    },
)

AREAS = Schema(
    "areas",
    {
        "area_code": STR,
        "area_name": STR,
        "area_level": STR,
        "borough_code": STR,
        "borough_name": STR,
        "area_km2": F64,
    },
    {
        "area_code": "2022 ward code, borough code, or London code",
        "area_name": "ward or borough name",
        "area_level": "'ward', 'borough' or 'london'",
        "borough_code": "the borough the area lies in (itself for a borough)",
        "borough_name": "borough name",
        "area_km2": "area in square kilometres, from the British National Grid polygon",
    },
)

COUNTS = Schema(
    "counts",
    {
        "area_code": STR,
        "area_name": STR,
        "borough_code": STR,
        "month": STR,
        "source": STR,
        "crime_type": STR,
        "crime_group": STR,
        "count": I64,
    },
    {
        "area_code": "ward or borough code",
        "area_name": "ward or borough name",
        "borough_code": "borough the area lies in",
        "month": "YYYY-MM",
        "source": "'police_uk' (street-level) or 'mps_ward' (Met recorded crime)",
        "crime_type": "police.uk crime type, or the Met's offence subgroup (MinorText)",
        "crime_group": "the Met's offence group (MajorText); for police.uk the crime type again",
        "count": "number of crimes",
    },
)

STOP_SEARCH = Schema(
    "stop_search",
    {
        "force": STR,
        "month": STR,
        "datetime": "datetime64[ns, UTC]",
        "search_type": STR,
        "longitude": F64,
        "latitude": F64,
        "gender": STR,
        "age_range": STR,
        "self_defined_ethnicity": STR,
        "officer_defined_ethnicity": STR,
        "legislation": STR,
        "object_of_search": STR,
        "outcome": STR,
        "outcome_linked": STR,
        "removal_outer": STR,
        "dataset": STR,
        "source_file": STR,
    },
    {
        "force": "police.uk force slug: 'metropolitan' or 'city-of-london'",
        "month": "YYYY-MM of the search's London local date (police.uk's own month)",
        "datetime": "when the search happened (UTC, as published)",
        "search_type": "'Person search', 'Person and Vehicle search' or 'Vehicle search'",
        "longitude": "WGS84 snap-point longitude; NaN when the search has no location",
        "latitude": "WGS84 snap-point latitude; NaN when the search has no location",
        "gender": "'Male', 'Female', 'Other'; <NA> when not recorded",
        "age_range": "'under 10', '10-17', '18-24', '25-34', 'over 34'; <NA> when not recorded",
        "self_defined_ethnicity": "the person's own answer, 2011 Census labels; <NA> when blank",
        "officer_defined_ethnicity": "the officer's view: 'White', 'Black', 'Asian', 'Other'; <NA> when blank",
        "legislation": "the power used, e.g. 'Misuse of Drugs Act 1971 (section 23)'",
        "object_of_search": "what was searched for, e.g. 'Controlled drugs'",
        "outcome": "e.g. 'Arrest', 'A no further action disposal'",
        "outcome_linked": "'True'/'False': outcome linked to the object of search; <NA> when not reported",
        "removal_outer": "'True'/'False': more than outer clothing removed; <NA> when not reported",
        "dataset": "'bulk_csv' (police.uk monthly file) or 'api' (stops-force answer)",
        "source_file": "file the row came from",
    },
)

STOP_SEARCH_PLACED = Schema(
    "stop_search_placed",
    {**STOP_SEARCH.dtypes, "ward_code": STR, "borough_code": STR},
    {**STOP_SEARCH.doc,
     "ward_code": "2022 ward the search's point lies in (City of London: E09000001); <NA> without coordinates",
     "borough_code": "ONS borough code; <NA> without coordinates"},
)

#: Derived counts (in the snapshot): one row per ward (or none: no coordinates), force, month and category.
#: Text columns are categorical: Parquet keeps them dictionary-encoded, so 900k rows load without a
#: Python string per cell (2.0 s → see BENCHMARKS.md) and analysis uses their integer codes.
STOP_SEARCH_COUNTS = Schema(
    "stop_search_counts",
    {"ward_code": CAT, "borough_code": CAT, "force": CAT, "month": CAT, "dimension": CAT, "category": CAT,
     "count": I64},
    {"ward_code": "2022 ward code; <NA> for searches without coordinates (counted for London only)",
     "borough_code": "borough of the ward; <NA> without coordinates",
     "force": "police.uk force slug",
     "month": "YYYY-MM, London local date",
     "dimension": "'all', 'officer_defined_ethnicity', 'self_defined_ethnicity', 'age_range', 'gender', "
                  "'legislation', 'object_of_search', 'outcome', 'outcome_linked', 'search_type', "
                  "'officer_ethnicity_outcome' (officer-defined ethnicity|arrest/nfa/other)",
     "category": "the published value; '(not recorded)' for a blank",
     "count": "searches"},
)

#: Coverage per force and month (in the snapshot): what was held and whether the month is a gap.
STOP_SEARCH_MONTHS = Schema(
    "stop_search_months",
    {"force": STR, "month": STR, "searches": I64, "no_location": I64, "outside_london": I64, "first_day": I64,
     "last_day": I64, "dataset": STR, "gap": "bool", "gap_reason": STR},
    {"force": "police.uk force slug",
     "month": "YYYY-MM (every month in the force's span, including those with no data)",
     "searches": "searches held (outside London left out)",
     "no_location": "searches without coordinates",
     "outside_london": "searches with coordinates outside every London ward (left out)",
     "first_day": "first local day of the month with a search (0: none)",
     "last_day": "last local day of the month with a search (0: none)",
     "dataset": "'bulk_csv', 'api' or '' (nothing held)",
     "gap": "whether the month is a coverage gap (missing, cut short, or far below its neighbours)",
     "gap_reason": "plain words, e.g. 'no data', 'covers 1-17 only', '34% of the months before it'; <NA> if none"},
)

#: Census 2021 residents by high-level ethnic group per local authority (in the snapshot).
CENSUS_ETHNICITY = Schema(
    "census_ethnicity",
    {"area_code": STR, "area_name": STR, "covers": STR, "ethnic_group": STR, "detailed_group": STR,
     "residents": I64},
    {"area_code": "ONS code as published (London E12000007; E09000001 is City of London and Westminster together)",
     "area_name": "name as published",
     "covers": "space-separated borough codes the row covers (two for City of London and Westminster)",
     "ethnic_group": "'asian', 'black', 'mixed', 'white' or 'other' (the five high-level Census groups)",
     "detailed_group": "the Census's 19-category label",
     "residents": "usual residents, both sexes (ONS rounds each cell to 5; suppressed cells count 0)"},
)
