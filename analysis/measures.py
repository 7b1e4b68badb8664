"""Crime measures per ward or borough for any period: counts, rates, harm, density, change.

The store holds tidy ward × month × crime type counts. ``load_tables`` reads them once and
turns each source into a dense cumulative array, so that a period's counts for every ward
are one subtraction and one matrix-vector product: a dashboard filter change recomputes the
whole ward table in a few milliseconds. The two crime sources (police.uk street-level and
the Met's ward recorded crime) are never mixed: a query names one.

Coverage is honest rather than silent. A month counts as published for a crime type when
the Met's data has that type in that month (police.uk's shared Met files hold burglary only,
except all types in 2022); the City of London is its own police force and is covered only
in months its own file was loaded. Areas or comparison periods that the data does not cover
get NaN, never zero.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from io import StringIO
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.stats import empirical_bayes_rates, poisson_rate_ci
from data_sources.errors import UnknownAreaError
from data_sources.settings import CITY_OF_LONDON_CODE, LONDON_CODE
from data_sources.store import DataHandle

SOURCES = ("police_uk", "mps_ward")
LEVELS = ("ward", "borough")
MEASURES = ("count", "rate", "harm", "harm_rate", "density")
MEASURE_LABELS = {
    "count": "crimes",
    "rate": "crimes per 1,000 residents",
    "harm": "harm (CCHI days)",
    "harm_rate": "harm per 1,000 residents (CCHI days)",
    "density": "crimes per km²",
}
#: Residents per which rates are expressed.
PER = 1000
#: The Met moved from CRIS to CONNECT on 28 Feb 2024; a period containing that month mixes both.
CONNECT_MONTH = "2024-02"
#: The year before "A New Met for London 2023-2025" was launched (Jan/Feb 2023).
PLAN_BASELINE_YEAR = 2022
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

#: The mapping of the Met's minor categories to Home Office subgroups (for harm weights).
HARM_MAPPING_FILE = "harm_mapping_mps.csv"
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
        (months, types): the Met published this type in this month.
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


@dataclass(frozen=True, eq=False)
class AnalysisTables:
    """The store's tables, read once, with the arrays every recomputation reuses.

    ``wards`` and ``boroughs`` are the area index (one row per area, sorted by code) with
    ``area_code, area_name, borough_code, borough_name, area_km2, population,
    daytime_caveat``; the count arrays follow the ward order. ``ward_borough[i]`` is the
    row of ward ``i``'s borough in ``boroughs``.
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

    def area_index(self, level: str) -> pd.DataFrame:
        """Return the ward or borough index frame."""
        return self.wards if level == "ward" else self.boroughs


@dataclass(frozen=True)
class CrimeQuery:
    """What to count, where and when: the dashboard's crime filters as one hashable value.

    Attributes
    ----------
    source
        'police_uk' (street-level) or 'mps_ward' (the Met's ward recorded crime).
    level
        'ward' or 'borough' (boroughs are sums over their wards).
    crime_types
        police.uk crime types or the Met's offence subgroups; empty means every type the
        source publishes for the whole period range (for police.uk that leaves out
        anti-social behaviour, which the Met files do not carry).
    crime_groups
        The Met's offence groups (MajorText), added to ``crime_types``.
    start, end
        First and last month 'YYYY-MM', inclusive; None means the latest 12 months.
    measure
        'count', 'rate' (per 1,000 residents), 'harm' (CCHI days), 'harm_rate' or 'density'
        (crimes per km²).
    smoothed
        Use the Empirical Bayes ward rate as the value (measure 'rate', wards only).
    """

    source: str = "mps_ward"
    level: str = "ward"
    crime_types: tuple[str, ...] = ()
    crime_groups: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    measure: str = "rate"
    smoothed: bool = False


# --- loading ------------------------------------------------------------------------------------


def load_tables(handle: DataHandle) -> AnalysisTables:
    """Read the store's tables once and precompute the count arrays.

    Parameters
    ----------
    handle
        An open store or snapshot (``data_sources.store.open_data``).

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


def read_harm_mapping() -> pd.DataFrame:
    """Read the Met minor category → Home Office subgroup mapping shipped with this package."""
    text = resources.files("analysis").joinpath(HARM_MAPPING_FILE).read_text(encoding="utf-8")
    return pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)


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
    mapping = read_harm_mapping() if harm_mapping is None else harm_mapping
    pop = dict(zip(population["area_code"].astype(str), population["population"].astype("int64"), strict=True))
    cols = ["area_code", "area_name", "borough_code", "borough_name", "area_km2"]
    kinds = {}
    for level in ("ward", "borough"):
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


# --- periods ------------------------------------------------------------------------------------


def shift_month(month: str, k: int) -> str:
    """Return the month ``k`` months after ``month`` ('YYYY-MM').

    Examples
    --------
    >>> shift_month("2024-01", -1), shift_month("2023-11", 14)
    ('2023-12', '2025-01')
    """
    y, m = int(month[:4]), int(month[5:7])
    index = y * 12 + (m - 1) + k
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(start: str, end: str) -> int:
    """Count the months from ``start`` to ``end`` inclusive.

    Examples
    --------
    >>> months_between("2023-04", "2024-03")
    12
    """
    return (int(end[:4]) - int(start[:4])) * 12 + int(end[5:7]) - int(start[5:7]) + 1


def _type_mask(cube: CountCube, crime_types: Sequence[str], crime_groups: Sequence[str]) -> np.ndarray:
    unknown = [t for t in crime_types if t not in cube.types]
    if unknown:
        raise AnalysisInputError(f"unknown crime type {unknown[0]!r} for source {cube.source!r}; "
                                 f"choose from {list(cube.types)!r}")
    group_names = sorted(set(cube.groups))
    bad = [g for g in crime_groups if g not in group_names]
    if bad:
        raise AnalysisInputError(f"unknown crime group {bad[0]!r} for source {cube.source!r}; "
                                 f"choose from {group_names!r}")
    if not crime_types and not crime_groups:
        return np.asarray(cube.published.any(axis=0), dtype=bool)
    types = np.array(cube.types, dtype=object)
    groups = np.array(cube.groups, dtype=object)
    return np.asarray(np.isin(types, list(crime_types)) | np.isin(groups, list(crime_groups)), dtype=bool)


def months_available(tables: AnalysisTables, source: str, crime_types: Sequence[str] = (),
                     crime_groups: Sequence[str] = ()) -> list[str]:
    """Months in which the source publishes every selected crime type (Met area).

    Parameters
    ----------
    tables
        From ``load_tables``.
    source
        'police_uk' or 'mps_ward'.
    crime_types, crime_groups
        The selection, as in ``CrimeQuery``; empty means all published types.

    Returns
    -------
    list of str
        Sorted 'YYYY-MM' months.
    """
    cube = _cube(tables, source)
    mask = _type_mask(cube, crime_types, crime_groups)
    ok = np.asarray(cube.published[:, mask].all(axis=1)) if mask.any() else np.zeros(len(cube.months), bool)
    return [m for m, good in zip(cube.months, ok, strict=True) if good]


def period_presets(months: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Named periods that lie wholly within ``months``: the menu of a period picker.

    Parameters
    ----------
    months
        Available months 'YYYY-MM' (e.g. from ``months_available``).

    Returns
    -------
    dict
        Label → (start, end), newest first: latest month, last 3 and 12 months, each full
        financial year (April-March), calendar 2022 and all months.

    Examples
    --------
    >>> p = period_presets([f"2022-{m:02d}" for m in range(1, 13)] + ["2023-01", "2023-02", "2023-03"])
    >>> p["Latest month (2023-03)"], p["Last 12 months"], p["Financial year 2022/23"]
    (('2023-03', '2023-03'), ('2022-04', '2023-03'), ('2022-04', '2023-03'))
    >>> p["Calendar year 2022"]
    ('2022-01', '2022-12')
    """
    have = set(months)
    if not have:
        return {}
    latest, first = max(have), min(have)

    def whole(start: str, end: str) -> bool:
        return all(shift_month(start, k) in have for k in range(months_between(start, end)))

    presets: dict[str, tuple[str, str]] = {f"Latest month ({latest})": (latest, latest)}
    for n in (3, 12):
        start = shift_month(latest, -(n - 1))
        if whole(start, latest):
            presets[f"Last {n} months"] = (start, latest)
    for year in range(int(latest[:4]), int(first[:4]) - 2, -1):
        start, end = f"{year}-04", f"{year + 1}-03"
        if whole(start, end):
            presets[f"Financial year {year}/{(year + 1) % 100:02d}"] = (start, end)
    if whole(f"{PLAN_BASELINE_YEAR}-01", f"{PLAN_BASELINE_YEAR}-12"):
        presets[f"Calendar year {PLAN_BASELINE_YEAR}"] = (f"{PLAN_BASELINE_YEAR}-01", f"{PLAN_BASELINE_YEAR}-12")
    if whole(first, latest):
        presets["All months"] = (first, latest)
    return presets


def _cube(tables: AnalysisTables, source: str) -> CountCube:
    if source not in SOURCES:
        raise AnalysisInputError(f"unknown source {source!r}; choose from {list(SOURCES)!r}")
    return tables.cubes[source]


def resolve_period(tables: AnalysisTables, q: CrimeQuery) -> tuple[str, str]:
    """Return the query's (start, end), checked against the months the data covers.

    Raises
    ------
    AnalysisInputError
        For a malformed month, an empty range or a month the selection is not published in.
    """
    available = months_available(tables, q.source, q.crime_types, q.crime_groups)
    if not available:
        raise AnalysisInputError(f"source {q.source!r} has no month with all of the selected crime types")
    end = q.end or available[-1]
    start = q.start or shift_month(end, -11)
    if q.start is None and start not in available:
        start = next(m for m in available if m >= start) if any(m >= start for m in available) else end
    for label, month in (("start", start), ("end", end)):
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
            raise AnalysisInputError(f"{label} month {month!r} is not YYYY-MM")
    if start > end:
        raise AnalysisInputError(f"start month {start} is after end month {end}")
    have = set(available)
    missing = [shift_month(start, k) for k in range(months_between(start, end)) if shift_month(start, k) not in have]
    if missing:
        raise AnalysisInputError(f"month {missing[0]} is outside the data for source {q.source!r} and the selected "
                                 f"crime types (available: {_ranges(available)})")
    return start, end


def _ranges(months: Sequence[str]) -> str:
    """Compress sorted months into 'a–b, c' runs for messages."""
    runs: list[list[str]] = []
    for m in months:
        if runs and shift_month(runs[-1][-1], 1) == m:
            runs[-1].append(m)
        else:
            runs.append([m])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)


def _check_query(q: CrimeQuery) -> None:
    if q.level not in LEVELS:
        raise AnalysisInputError(f"unknown level {q.level!r}; choose from {list(LEVELS)!r}")
    if q.measure not in MEASURES:
        raise AnalysisInputError(f"unknown measure {q.measure!r}; choose from {list(MEASURES)!r}")
    if q.source not in SOURCES:
        raise AnalysisInputError(f"unknown source {q.source!r}; choose from {list(SOURCES)!r}")


# --- sums over periods --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sums:
    """Ward-level counts and harm for one period; NaN where the data does not cover a ward."""

    count: np.ndarray
    harm: np.ndarray


def _ward_sums(tables: AnalysisTables, cube: CountCube, mask: np.ndarray, start: str, end: str) -> _Sums | None:
    """Sum counts and harm per ward over start..end; None when the source lacks those months."""
    i0, i1 = cube.month_index(start), cube.month_index(end)
    if i0 is None or i1 is None or not cube.published[i0:i1 + 1][:, mask].all():
        return None
    diff = cube.cum[:, i1 + 1, :] - cube.cum[:, i0, :]
    count = diff @ mask.astype(float)
    harm = diff @ np.where(mask & ~np.isnan(cube.weights), np.nan_to_num(cube.weights), 0.0)
    if tables.city_ward >= 0 and not cube.city_months[i0:i1 + 1].all():
        count[tables.city_ward] = np.nan
        harm[tables.city_ward] = np.nan
    return _Sums(count, harm)


def _to_level(tables: AnalysisTables, values: np.ndarray, level: str) -> np.ndarray:
    if level == "ward":
        return values
    return np.bincount(tables.ward_borough, weights=values, minlength=len(tables.boroughs))


def _london(tables: AnalysisTables, sums: _Sums) -> tuple[float, float, float]:
    """London's count, harm and population over the wards the data covers."""
    covered = ~np.isnan(sums.count)
    uncovered_pop = float(np.nansum(tables.wards["population"].to_numpy()[~covered]))
    return (float(sums.count[covered].sum()), float(sums.harm[covered].sum()),
            tables.london_population - uncovered_pop)


def _change(now: np.ndarray, then: np.ndarray | None) -> np.ndarray:
    if then is None:
        return np.full(now.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(then > 0, now / np.where(then > 0, then, 1.0) - 1.0, np.nan)


def comparison_periods(start: str, end: str) -> dict[str, tuple[str, str] | None]:
    """Return the periods a result is compared with: previous, a year before, the same months of 2022.

    The 2022 comparison shifts the period by whole years so it starts in 2022; it is None
    for periods longer than 12 months.

    Examples
    --------
    >>> comparison_periods("2024-04", "2025-03")["vs_2022"]
    ('2022-04', '2023-03')
    >>> comparison_periods("2024-01", "2024-03")["prev"]
    ('2023-10', '2023-12')
    """
    n = months_between(start, end)
    years = int(start[:4]) - PLAN_BASELINE_YEAR
    return {
        "prev": (shift_month(start, -n), shift_month(end, -n)),
        "year_ago": (shift_month(start, -12), shift_month(end, -12)),
        "vs_2022": (shift_month(start, -12 * years), shift_month(end, -12 * years)) if n <= 12 else None,
    }


def straddles_connect(source: str, start: str, end: str) -> bool:
    """Tell whether a Met ward-data period contains the CRIS→CONNECT switch (28 Feb 2024).

    Examples
    --------
    >>> straddles_connect("mps_ward", "2023-07", "2024-06"), straddles_connect("mps_ward", "2024-03", "2025-02")
    (True, False)
    """
    return source == "mps_ward" and start <= CONNECT_MONTH <= end


# --- the measures table -------------------------------------------------------------------------

MEASURE_COLUMNS = [
    "area_code", "area_name", "borough_code", "borough_name", "count", "population", "rate", "rate_lo", "rate_hi",
    "rate_eb", "harm", "harm_rate", "per_km2", "value", "london_value", "value_ratio", "london_rate",
    "rate_ratio", "change_prev", "change_year_ago", "change_vs_2022", "straddles_connect", "daytime_caveat",
]


def crime_measures(tables: AnalysisTables, q: CrimeQuery) -> pd.DataFrame:
    """Return one row per ward or borough with the crime measures for the query's period.

    Parameters
    ----------
    tables
        From ``load_tables``.
    q
        Source, level, crime selection, period and measure.

    Returns
    -------
    pandas.DataFrame
        Columns ``MEASURE_COLUMNS``: ``count`` (NaN where the source does not cover the
        area), Census 2021 ``population``, ``rate`` per 1,000 residents with exact Poisson
        95% bounds ``rate_lo``/``rate_hi``, ``rate_eb`` (Marshall Empirical Bayes toward the
        borough; wards only), ``harm`` (CCHI days, types without a weight left out),
        ``harm_rate`` per 1,000, ``per_km2``, ``value`` (the chosen measure), London's
        ``london_value`` and ``london_rate`` with ``value_ratio``/``rate_ratio`` (per-resident
        or per-km² ratio to London), fractional changes ``change_prev``,
        ``change_year_ago``, ``change_vs_2022`` (NaN when the data lacks the comparison),
        ``straddles_connect`` and ``daytime_caveat``. ``attrs`` holds the period, the
        comparison periods, the crime types and the notes.

    Raises
    ------
    AnalysisInputError
        For an unknown source, level, measure or crime type, or months outside the data.
    """
    frame, _ = _measures(tables, q)
    return frame


def london_row(tables: AnalysisTables, q: CrimeQuery) -> pd.DataFrame:
    """Return London's row for the query, with the same columns as ``crime_measures``.

    London sums the wards the source covers; its population leaves out the uncovered ones
    (e.g. the City of London for the Met's ward data).
    """
    _, london = _measures(tables, q)
    return london


def selected_types(tables: AnalysisTables, q: CrimeQuery) -> list[str]:
    """Return the crime types a query counts (after expanding groups and 'all')."""
    cube = _cube(tables, q.source)
    mask = _type_mask(cube, q.crime_types, q.crime_groups)
    return [t for t, keep in zip(cube.types, mask, strict=True) if keep]


def harm_note(tables: AnalysisTables, q: CrimeQuery) -> str:
    """One sentence on the harm weights behind the query: scheme and types left out."""
    cube = _cube(tables, q.source)
    types = selected_types(tables, q)
    unweighted = [t for t in types if np.isnan(cube.weights[cube.types.index(t)])]
    text = ("Harm uses Cambridge Crime Harm Index weights (days of imprisonment) per "
            + ("police.uk crime type." if q.source == "police_uk"
               else "Home Office subgroup, with the Met's categories mapped to subgroups (some approximately)."))
    if unweighted:
        text += f" Left out of harm (no published weight): {', '.join(unweighted)}."
    return text


def _values(tables: AnalysisTables, q: CrimeQuery, count: np.ndarray, harm: np.ndarray) -> dict[str, np.ndarray]:
    """Every measure for one period at the query's level, plus ``value`` (the chosen one)."""
    index = tables.area_index(q.level)
    pop = index["population"].to_numpy(dtype=float)
    km2 = index["area_km2"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {"count": count, "rate": np.where(pop > 0, count / pop * PER, np.nan), "harm": harm,
               "harm_rate": np.where(pop > 0, harm / pop * PER, np.nan),
               "density": np.where(km2 > 0, count / km2, np.nan)}
    if q.level == "ward":
        out["rate_eb"] = empirical_bayes_rates(count, pop, index["borough_code"].to_numpy(), per=PER)
    else:
        out["rate_eb"] = np.full(len(index), np.nan)
    out["value"] = out["rate_eb"] if (q.measure == "rate" and q.smoothed and q.level == "ward") else out[q.measure]
    return out


def _london_values(tables: AnalysisTables, count: float, harm: float, pop: float) -> dict[str, float]:
    return {"count": count, "rate": count / pop * PER, "harm": harm, "harm_rate": harm / pop * PER,
            "density": count / tables.london_km2}


@dataclass(frozen=True)
class PeriodValues:
    """The chosen measure for one period at the query's level, with what the flag needs.

    ``count`` and ``population`` give the per-resident rate and its interval; the London
    figures are over the wards the source covers in that period.
    """

    value: np.ndarray
    count: np.ndarray
    population: np.ndarray
    london_value: float
    london_rate: float


def period_values(tables: AnalysisTables, q: CrimeQuery, start: str, end: str) -> PeriodValues | None:
    """Return the query's measure for another period (same selection), or None when not covered.

    The light path for robustness over earlier periods: no intervals, changes or frames.

    Parameters
    ----------
    tables
        From ``load_tables``.
    q
        The query; its own start and end are ignored.
    start, end
        The period, 'YYYY-MM'.

    Returns
    -------
    PeriodValues or None
    """
    cube = _cube(tables, q.source)
    mask = _type_mask(cube, q.crime_types, q.crime_groups)
    sums = _ward_sums(tables, cube, mask, start, end)
    if sums is None:
        return None
    count = _to_level(tables, sums.count, q.level)
    values = _values(tables, q, count, _to_level(tables, sums.harm, q.level))
    l_values = _london_values(tables, *_london(tables, sums))
    return PeriodValues(values["value"], count, tables.area_index(q.level)["population"].to_numpy(dtype=float),
                        l_values[q.measure], l_values["rate"])


def _measures(tables: AnalysisTables, q: CrimeQuery) -> tuple[pd.DataFrame, pd.DataFrame]:
    _check_query(q)
    cube = _cube(tables, q.source)
    start, end = resolve_period(tables, q)
    mask = _type_mask(cube, q.crime_types, q.crime_groups)
    sums = _ward_sums(tables, cube, mask, start, end)
    assert sums is not None  # resolve_period has checked the months
    index = tables.area_index(q.level)
    count = _to_level(tables, sums.count, q.level)
    harm = _to_level(tables, sums.harm, q.level)
    pop = index["population"].to_numpy(dtype=float)
    rate, lo, hi = poisson_rate_ci(np.nan_to_num(count, nan=0.0), pop, per=PER)
    missing = np.isnan(count)
    rate, lo, hi = (np.where(missing, np.nan, x) for x in (rate, lo, hi))
    values = _values(tables, q, count, harm)
    l_count, l_harm, l_pop = _london(tables, sums)
    l_rate = l_count / l_pop * PER
    l_values = _london_values(tables, l_count, l_harm, l_pop)
    rate_eb, harm_rate, per_km2, value = values["rate_eb"], values["harm_rate"], values["density"], values["value"]
    # A count or harm total has no London ratio of its own: compare per resident instead.
    ratio_of = {"count": "rate", "harm": "harm_rate"}.get(q.measure, q.measure)
    ratio_value = rate_eb if (ratio_of == "rate" and q.smoothed and q.level == "ward") else values[ratio_of]
    value_ratio = ratio_value / l_values[ratio_of]

    basis = "harm" if q.measure in ("harm", "harm_rate") else "count"
    now = harm if basis == "harm" else count
    periods = comparison_periods(start, end)
    changes = {}
    for key, period in periods.items():
        then_sums = _ward_sums(tables, cube, mask, *period) if period else None
        then = None if then_sums is None else _to_level(tables, getattr(then_sums, basis), q.level)
        changes[f"change_{key}"] = _change(now, then)

    straddles = straddles_connect(q.source, start, end)
    frame = pd.DataFrame({
        "area_code": index["area_code"], "area_name": index["area_name"], "borough_code": index["borough_code"],
        "borough_name": index["borough_name"], "count": count, "population": pop, "rate": rate, "rate_lo": lo,
        "rate_hi": hi, "rate_eb": rate_eb, "harm": harm, "harm_rate": harm_rate, "per_km2": per_km2,
        "value": value, "london_value": l_values[q.measure], "value_ratio": value_ratio, "london_rate": l_rate,
        "rate_ratio": rate / l_rate, **changes, "straddles_connect": straddles,
        "daytime_caveat": index["daytime_caveat"].to_numpy(),
    })

    l_now = l_harm if basis == "harm" else l_count
    l_changes = {}
    for key, period in periods.items():
        then_sums = _ward_sums(tables, cube, mask, *period) if period else None
        l_then = None if then_sums is None else np.array([_london(tables, then_sums)[1 if basis == "harm" else 0]])
        l_changes[f"change_{key}"] = _change(np.array([l_now]), l_then)
    l_lo_hi = poisson_rate_ci(l_count, l_pop, per=PER)
    london = pd.DataFrame({
        "area_code": [LONDON_CODE], "area_name": ["London"], "borough_code": [pd.NA], "borough_name": [pd.NA],
        "count": [l_count], "population": [l_pop], "rate": [l_rate], "rate_lo": [float(l_lo_hi[1])],
        "rate_hi": [float(l_lo_hi[2])], "rate_eb": [np.nan], "harm": [l_harm], "harm_rate": [l_values["harm_rate"]],
        "per_km2": [l_values["density"]], "value": [l_values[q.measure]], "london_value": [l_values[q.measure]],
        "value_ratio": [1.0], "london_rate": [l_rate], "rate_ratio": [1.0], **l_changes,
        "straddles_connect": [straddles], "daytime_caveat": [False],
    })
    attrs = {
        "source": q.source, "level": q.level, "measure": q.measure, "start": start, "end": end,
        "months": months_between(start, end), "crime_types": selected_types(tables, q),
        "comparison_periods": periods, "harm_note": harm_note(tables, q), "daytime_note": DAYTIME_NOTE,
        "connect_note": ("This period spans the Met's move from CRIS to CONNECT (28 Feb 2024); "
                         "some categories were renamed and counts may shift." if straddles else ""),
    }
    frame.attrs.update(attrs)
    london.attrs.update(attrs)
    return frame, london


def monthly_trend(tables: AnalysisTables, q: CrimeQuery, area_code: str | None = None) -> pd.DataFrame:
    """Return the month-by-month count, harm and rate for one area, or London, over the query's period.

    Parameters
    ----------
    tables
        From ``load_tables``.
    q
        The query; its level is ignored, ``area_code`` decides.
    area_code
        A ward or borough code; None (or London's code) for London.

    Returns
    -------
    pandas.DataFrame
        ``month, count, harm, rate`` (rate per 1,000 residents); NaN in months the
        source does not cover the area.

    Raises
    ------
    AnalysisInputError
        For an unknown area or an invalid query.
    """
    _check_query(q)
    cube = _cube(tables, q.source)
    start, end = resolve_period(tables, q)
    mask = _type_mask(cube, q.crime_types, q.crime_groups)
    i0, i1 = cube.month_index(start), cube.month_index(end)
    assert i0 is not None and i1 is not None
    block = cube.counts[:, i0:i1 + 1, :]
    count = block @ mask.astype(float)
    harm = block @ np.where(mask & ~np.isnan(cube.weights), np.nan_to_num(cube.weights), 0.0)
    if tables.city_ward >= 0:
        uncovered = ~cube.city_months[i0:i1 + 1]
        count[tables.city_ward, uncovered] = np.nan
        harm[tables.city_ward, uncovered] = np.nan
    pops = tables.wards["population"].to_numpy(dtype=float)
    if area_code is None or area_code == LONDON_CODE:
        covered = ~np.isnan(count)
        month_count = np.where(covered, count, 0.0).sum(axis=0)
        month_harm = np.where(covered, harm, 0.0).sum(axis=0)
        pop = tables.london_population - (np.where(covered, 0.0, pops[:, None])).sum(axis=0)
    else:
        found = _area_wards(tables, area_code)
        if found is None:
            raise AnalysisInputError(f"unknown area code {area_code!r}; expected a ward, a borough or {LONDON_CODE}")
        rows, is_borough = found
        area_pop = (tables.boroughs.loc[tables.boroughs["area_code"] == area_code, "population"].iloc[0]
                    if is_borough else pops[rows].sum())
        pop = np.full(count.shape[1], float(area_pop))
        month_count = count[rows].sum(axis=0)
        month_harm = harm[rows].sum(axis=0)
    return pd.DataFrame({"month": list(cube.months[i0:i1 + 1]), "count": month_count, "harm": month_harm,
                         "rate": month_count / pop * PER})


def _area_wards(tables: AnalysisTables, area_code: str) -> tuple[np.ndarray, bool] | None:
    """The wards making up a ward or a borough (a mask over ``tables.wards``), and whether it is a borough.

    None for a code that is neither.
    """
    ward = (tables.wards["area_code"] == area_code).to_numpy()
    if ward.any():
        return ward, False
    in_borough = (tables.wards["borough_code"] == area_code).to_numpy()
    return (in_borough, True) if in_borough.any() else None


def monthly_trend_by_type(t: AnalysisTables, q: CrimeQuery, area_code: str) -> pd.DataFrame:
    """Return an area's monthly counts per crime type (police.uk) or offence group (Met), long format.

    ``monthly_trend`` sums the types away; this keeps them, for a profile's "crime by type".
    Counts come from the same cube over the query's resolved period and selected types;
    months the source does not cover the City of London are NaN.

    Returns
    -------
    pandas.DataFrame
        ``month, type, count``, one row per month and type (or group) with any crime in the period.
    """
    cube = t.cubes[q.source]
    start, end = resolve_period(t, q)
    i0, i1 = cube.month_index(start), cube.month_index(end)
    assert i0 is not None and i1 is not None  # resolve_period returns covered months
    found = _area_wards(t, area_code)
    if found is None:
        raise UnknownAreaError(f"unknown area code {area_code!r}; expected a ward or a borough")
    rows = found[0]
    keep = set(selected_types(t, q))
    columns = [i for i, name in enumerate(cube.types) if name in keep]
    labels = [(cube.groups[i].capitalize() if q.source == "mps_ward" else cube.types[i]) for i in columns]
    block = cube.counts[rows][:, i0:i1 + 1][:, :, columns].sum(axis=0)  # months × types
    frame = pd.DataFrame(block, index=pd.Index(cube.months[i0:i1 + 1], name="month"), columns=labels)
    frame = frame.T.groupby(level=0).sum().T  # Met subgroups → offence groups
    if t.city_ward >= 0 and rows[t.city_ward]:
        frame.loc[~cube.city_months[i0:i1 + 1]] = float("nan")
    frame = frame.loc[:, frame.sum() > 0]
    return frame.reset_index().melt(id_vars="month", var_name="type", value_name="count")
