"""The store's tables read once, with the dense arrays every recomputation reuses.

The store holds tidy ward × month × crime type counts. ``load_tables`` reads them once and
turns each source into a dense cumulative array, so that a period's counts for every ward
are one subtraction and one matrix-vector product: a dashboard filter change recomputes the
whole ward table in a few milliseconds. Trust rows are split by measure once, for the same
reason. Everything derived lives on the returned object, so there is nothing to cache or
clear below the UI: a new store version is a new ``AnalysisTables``.

Coverage is honest rather than silent. A month counts as published for a crime type when
the Met's data has that type in that month (police.uk's shared Met files hold burglary only,
except all types in 2022); the City of London is its own police force and is covered only
in months its own file was loaded. A month the build found empty or far below its
neighbours (``manifest["currency"][source]["gaps"]``) counts as not published, so it is
shown as missing, never summed into a period as if crime had dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from core.errors import AnalysisInputError, UnknownAreaError
from data_sources.build import gap_months
from data_sources.read import read_mps_harm_mapping
from data_sources.store import DataHandle
from geo.london import CITY_OF_LONDON_CODE, LONDON_CODE

SOURCES = ("police_uk", "mps_ward")
LEVELS = ("ward", "borough")
ANTI_SOCIAL = "Anti-social behaviour"
HARM_SCHEME = "cchi"

#: Areas whose daytime population (workers, shoppers, visitors) dwarfs their residents, so a
#: rate per resident overstates the risk to anyone there. The City of London (about 8,600
#: residents, over half a million daytime workers), Westminster's West End, St James's and
#: Marylebone (Oxford Street, Soho, Whitehall) and Camden's Holborn & Covent Garden; at
#: borough level the City and Westminster.
DAYTIME_AREAS: dict[str, str] = {
    CITY_OF_LONDON_CODE: "City of London",
    "E05013808": "West End (Westminster)",
    "E05013806": "St James's (Westminster)",
    "E05013801": "Marylebone (Westminster)",
    "E05013662": "Holborn & Covent Garden (Camden)",
    "E09000033": "Westminster (borough)",
}
DAYTIME_NOTE = ("Rates per resident are inflated where many more people work, shop or visit than live "
                "(City of London, West End, St James's, Marylebone, Holborn & Covent Garden, Westminster).")

_POLICE_UK_HARM_SOURCE = "police_uk_crime_type"
_MPS_HARM_SOURCE = "ho_subgroup"
#: Share of Met wards that must have a crime type in a month for that month to count as
#: published: police.uk's City of London file puts a handful of crimes into neighbouring Met
#: wards, which must not make the Met look covered.
_MIN_WARD_SHARE = 0.05


@dataclass(frozen=True, eq=False)
class CountCube:
    """One source's counts as a dense ward × month × crime type array, with its coverage.

    Attributes
    ----------
    source
        'police_uk' or 'mps_ward'.
    months, types, groups
        Axis labels; ``groups[i]`` is the offence group of ``types[i]``.
    counts
        ``float64`` array (wards, months, types); absent rows are zeros.
    cum
        Cumulative sums along months with a leading zero: (wards, months + 1, types).
    weights
        Harm weight per type (CCHI days); NaN where a type has none (left out of harm).
    weight_notes
        Per type, how its weight was chosen or why it has none.
    published
        (months, types): the Met published this type in this month (never in a gap month).
    city_months
        (months,): the City of London's own force data is loaded for this month.
    """

    source: str
    months: tuple[str, ...]
    types: tuple[str, ...]
    groups: tuple[str, ...]
    counts: np.ndarray
    cum: np.ndarray
    weights: np.ndarray
    weight_notes: dict[str, str]
    published: np.ndarray
    city_months: np.ndarray

    def month_index(self, month: str) -> int | None:
        """Position of ``month`` on the month axis, or None when the source lacks it."""
        try:
            return self.months.index(month)
        except ValueError:
            return None

    def harm_weights(self, mask: np.ndarray) -> np.ndarray:
        """Per-type harm weights of the selected types, 0 for the rest and for types without one."""
        return np.where(mask & ~np.isnan(self.weights), np.nan_to_num(self.weights), 0.0)


@dataclass(frozen=True, eq=False)
class AnalysisTables:
    """The store's tables, read once, with the arrays every recomputation reuses.

    ``wards`` and ``boroughs`` are the area index (one row per area, sorted by code) with
    ``area_code, area_name, borough_code, borough_name, area_km2, population,
    daytime_caveat``; the count arrays follow the ward order. ``ward_borough[i]`` is the
    row of ward ``i``'s borough in ``boroughs``. The trust rows split by measure are worked
    out on first use and kept with the object (a new store version is a new object).
    """

    areas: pd.DataFrame
    population: pd.DataFrame
    trust: pd.DataFrame
    harm_weights: pd.DataFrame
    counts_police_uk: pd.DataFrame
    counts_mps_ward: pd.DataFrame
    london_totals: pd.DataFrame
    wards_display: pd.DataFrame | None
    boroughs_display: pd.DataFrame | None
    manifest: dict[str, Any]
    data_label: str
    wards: pd.DataFrame
    boroughs: pd.DataFrame
    ward_borough: np.ndarray
    city_ward: int
    london_population: int
    london_km2: float
    harm_mapping: pd.DataFrame
    cubes: dict[str, CountCube] = field(repr=False)

    @cached_property
    def trust_by_measure(self) -> dict[str, pd.DataFrame]:
        """The trust rows of each survey measure with plain dtypes, split once (read-only)."""
        trust = self.trust
        plain = trust.assign(period_end=pd.to_datetime(trust["period_end"]),
                             area_code=trust["area_code"].astype(object), area_level=trust["area_level"].astype(object))
        return {str(m): rows for m, rows in plain.groupby(plain["measure_id"].astype(str), sort=True)}

    @cached_property
    def trust_measures(self) -> tuple[tuple[str, str], ...]:
        """The survey measures as (measure_id, published label), in label order."""
        pairs = ((m, str(rows["measure_label"].iloc[0])) for m, rows in self.trust_by_measure.items())
        return tuple(sorted(pairs, key=lambda pair: pair[1]))

    def area_index(self, level: str) -> pd.DataFrame:
        """Return the ward or borough index frame."""
        return self.wards if level == "ward" else self.boroughs

    def cube(self, source: str) -> CountCube:
        """Return one source's count cube, or raise AnalysisInputError naming the sources."""
        if source not in SOURCES:
            raise AnalysisInputError(f"unknown source {source!r}; choose from {list(SOURCES)!r}")
        return self.cubes[source]

    def area_names(self, level: str | None = None) -> dict[str, str]:
        """Area code → name for wards and boroughs (or one level)."""
        frames = [self.wards, self.boroughs] if level is None else [self.area_index(level)]
        out: dict[str, str] = {}
        for f in frames:
            out.update(zip(f["area_code"].astype(str), f["area_name"].astype(str), strict=True))
        return out

    def area_wards(self, area_code: str) -> tuple[np.ndarray, bool]:
        """The wards making up a ward or a borough (a mask over ``wards``), and whether it is a borough.

        Raises
        ------
        UnknownAreaError
            For a code that is neither a ward nor a borough.
        """
        ward = (self.wards["area_code"] == area_code).to_numpy()
        if ward.any():
            return ward, False
        in_borough = (self.wards["borough_code"] == area_code).to_numpy()
        if in_borough.any():
            return in_borough, True
        raise UnknownAreaError(f"unknown area code {area_code!r}; expected a ward, a borough or {LONDON_CODE}")

    def areas_in(self, level: str, borough_code: str) -> list[str]:
        """Codes of the areas of a level inside a borough: its wards, or at borough level the borough itself.

        An unknown borough has none (a link's value is checked by the caller).
        """
        index = self.area_index(level)
        return index.loc[index["borough_code"] == borough_code, "area_code"].astype(str).tolist()

    def borough_of(self, area_code: str) -> str | None:
        """The borough a ward lies in; None for a borough or an unknown code."""
        ward = self.wards.loc[self.wards["area_code"] == area_code, "borough_code"]
        return str(ward.iloc[0]) if len(ward) else None


def load_tables(handle: DataHandle) -> AnalysisTables:
    """Read the store's tables once and precompute the count arrays.

    Parameters
    ----------
    handle
        An open store or snapshot (``data_sources.store.versions.open_data``).

    Returns
    -------
    AnalysisTables
    """
    return make_tables(
        areas=handle.read("areas"), population=handle.read("population"), trust=handle.read("trust"),
        harm_weights=handle.read("harm_weights"), counts_police_uk=handle.read("counts_police_uk"),
        counts_mps_ward=handle.read("counts_mps_ward"), london_totals=handle.read("london_totals"),
        wards_display=handle.read("wards_display"), boroughs_display=handle.read("boroughs_display"),
        manifest=handle.manifest, data_label=handle.label)


def make_tables(*, areas: pd.DataFrame, population: pd.DataFrame, trust: pd.DataFrame,
                harm_weights: pd.DataFrame, counts_police_uk: pd.DataFrame, counts_mps_ward: pd.DataFrame,
                london_totals: pd.DataFrame | None = None, wards_display: pd.DataFrame | None = None,
                boroughs_display: pd.DataFrame | None = None, manifest: dict[str, Any] | None = None,
                data_label: str = "tables built in memory",
                harm_mapping: pd.DataFrame | None = None) -> AnalysisTables:
    """Build ``AnalysisTables`` from frames in the store's schemas (tests build tiny ones).

    Parameters
    ----------
    areas, population, trust, harm_weights, counts_police_uk, counts_mps_ward
        Frames in the ``data_sources.schemas`` shapes. ``areas`` must hold wards, boroughs
        and the London row.
    london_totals, wards_display, boroughs_display
        Optional; kept for the pages and the GeoJSON export.
    manifest
        The store manifest; police.uk files whose path names the City of London mark the
        months the City is covered.
    data_label
        One line saying which data this is, for export headers.
    harm_mapping
        Met minor category → Home Office subgroup; defaults to the packaged CSV.

    Returns
    -------
    AnalysisTables
    """
    manifest = manifest or {}
    mapping = read_mps_harm_mapping() if harm_mapping is None else harm_mapping
    pop = dict(zip(population["area_code"].astype(str), population["population"].astype("int64"), strict=True))
    cols = ["area_code", "area_name", "borough_code", "borough_name", "area_km2"]
    kinds = {}
    for level in LEVELS:
        frame = (areas.loc[areas["area_level"] == level, cols].astype({c: object for c in cols[:4]})
                 .sort_values("area_code").reset_index(drop=True))
        frame["population"] = frame["area_code"].map(pop).astype(float)
        frame["daytime_caveat"] = frame["area_code"].isin(list(DAYTIME_AREAS))
        kinds[level] = frame
    wards, boroughs = kinds["ward"], kinds["borough"]
    ward_borough = pd.Index(boroughs["area_code"]).get_indexer(wards["borough_code"])
    if (ward_borough < 0).any():
        bad = wards.loc[ward_borough < 0, "area_code"].tolist()
        raise AnalysisInputError(f"wards {bad!r} name a borough missing from the areas table")
    city = np.flatnonzero(wards["area_code"].to_numpy() == CITY_OF_LONDON_CODE)
    london = areas.loc[areas["area_level"] == "london"]
    cubes = {
        "police_uk": _build_cube("police_uk", counts_police_uk, wards, harm_weights, None, manifest),
        "mps_ward": _build_cube("mps_ward", counts_mps_ward, wards, harm_weights, mapping, manifest),
    }
    return AnalysisTables(
        areas=areas, population=population, trust=trust, harm_weights=harm_weights,
        counts_police_uk=counts_police_uk, counts_mps_ward=counts_mps_ward,
        london_totals=london_totals if london_totals is not None else pd.DataFrame(),
        wards_display=wards_display, boroughs_display=boroughs_display, manifest=manifest, data_label=data_label,
        wards=wards, boroughs=boroughs, ward_borough=ward_borough.astype(np.intp),
        city_ward=int(city[0]) if city.size else -1,
        london_population=int(pop.get(LONDON_CODE, int(boroughs["population"].sum()))),
        london_km2=float(london["area_km2"].iloc[0]) if len(london) else float(wards["area_km2"].sum()),
        harm_mapping=mapping, cubes=cubes)


def _city_months_from_manifest(manifest: dict[str, Any]) -> set[str]:
    """Months of police.uk files from the City of London force (by path, which every manifest keeps)."""
    files = manifest.get("sources", {}).get("police_uk_street", {}).get("files", [])
    months = set()
    for f in files:
        path = str(f.get("path", ""))
        found = re.search(r"(\d{4}-\d{2})-city-of-london", path)
        if found:
            months.add(found.group(1))
    return months


def _build_cube(source: str, counts: pd.DataFrame, wards: pd.DataFrame, harm_weights: pd.DataFrame,
                mapping: pd.DataFrame | None, manifest: dict[str, Any]) -> CountCube:
    months = tuple(sorted(counts["month"].astype(str).unique()))
    pairs = counts[["crime_type", "crime_group"]].astype(str).drop_duplicates().sort_values("crime_type")
    types = tuple(pairs["crime_type"])
    groups = tuple(pairs["crime_group"])
    w = pd.Index(wards["area_code"]).get_indexer(counts["area_code"].astype(str))
    m = pd.Index(months).get_indexer(counts["month"].astype(str))
    t = pd.Index(types).get_indexer(counts["crime_type"].astype(str))
    keep = w >= 0
    dense = np.zeros((len(wards), len(months), len(types)), dtype=np.float64)
    np.add.at(dense, (w[keep], m[keep], t[keep]), counts["count"].to_numpy(dtype=np.float64)[keep])
    cum = np.zeros((len(wards), len(months) + 1, len(types)), dtype=np.float64)
    np.cumsum(dense, axis=1, out=cum[:, 1:, :])

    is_city = (wards["area_code"] == CITY_OF_LONDON_CODE).to_numpy()
    met_wards = max(int((~is_city).sum()), 1)
    if source == "mps_ward":
        # The Met's ward table lists every subgroup each month and omits zeros: all published.
        published = np.ones((len(months), len(types)), dtype=bool)
        city_months = (dense[is_city].sum(axis=(0, 2)) > 0) if is_city.any() else np.zeros(len(months), bool)
    else:
        wards_with = (dense[~is_city] > 0).sum(axis=0)
        published = wards_with >= max(1.0, _MIN_WARD_SHARE * met_wards)
        city_months = np.isin(np.array(months, dtype=object), sorted(_city_months_from_manifest(manifest)))
    published &= ~np.isin(np.array(months, dtype=object), sorted(gap_months(manifest, source)))[:, None]
    weights, notes = _type_weights(source, types, harm_weights, mapping)
    return CountCube(source, months, types, groups, dense, cum, weights, notes, published, city_months)


def _type_weights(source: str, types: Sequence[str], harm_weights: pd.DataFrame,
                  mapping: pd.DataFrame | None) -> tuple[np.ndarray, dict[str, str]]:
    """Harm weight per crime type and a note per type on where it came from."""
    scheme = harm_weights[harm_weights["scheme"].astype(str) == HARM_SCHEME]
    applies = _POLICE_UK_HARM_SOURCE if source == "police_uk" else _MPS_HARM_SOURCE
    table = dict(zip(scheme.loc[scheme["applies_to"] == applies, "category"].astype(str),
                     scheme.loc[scheme["applies_to"] == applies, "weight"].astype(float), strict=True))
    weights = np.full(len(types), np.nan)
    notes: dict[str, str] = {}
    rows = {} if mapping is None else {r.crime_type: r for r in mapping.itertuples(index=False)}
    for i, name in enumerate(types):
        if source == "police_uk":
            category, note = name, ""
        elif name in rows:
            category, note = rows[name].ho_subgroup, rows[name].note
        else:
            category, note = "", "no weight: not in the mapping table; left out of harm"
        if category in table:
            weights[i] = table[category]
            notes[name] = f"{category}: {table[category]:g} days" + (f" ({note})" if note else "")
        elif name == ANTI_SOCIAL:
            notes[name] = "no weight: anti-social behaviour has no published CCHI weight; left out of harm"
        else:
            notes[name] = note or f"no weight for {category or name!r}; left out of harm"
    return weights, notes
