"""Stop-and-search measures per ward, borough and London: how often, on whom, with what result.

**Rates** are searches per 1,000 residents (Census 2021 usual residents) **a year**: the
searches of the months counted, divided by the number of those months and multiplied by 12,
so that a period with a gap left out is still comparable with a full one. Exact (Garwood)
Poisson intervals.

**By ethnic group** (borough and London only: the Census by ethnic group is published per
local authority): searches of a group per 1,000 residents of that group a year. Two ways,
and the page says which it uses:

- *officer-defined* (default): the officer's view, recorded for almost every search, in
  four groups; compared with the Census groups White, Black and Asian, and the officer's
  "Other" with the Census's Mixed and Other groups together (officers record no Mixed
  group). Chosen as the default because it is blank in ~2% of searches against ~30% "not
  stated" for the person's own answer, and it is what the Met's own monitoring reports use.
- *self-defined*: the person's own answer (2011 Census labels), compared with the matching
  five Census 2021 groups; more faithful to the person, but the many "not stated" answers
  leave the group rates too low, by an unknown amount per group.

Searches without an ethnicity are left out of the group rates (their share is shown).
Searches without coordinates are in no borough: borough figures miss them (~10%), London's
include them; the share is shown per force. The Census file joins the City of London and
Westminster, so both show the figures of the two together.

**Disproportionality** is the ratio of two groups' rates (e.g. Black vs White) with an exact
conditional 95% interval (``analysis.stats.rate_ratio_ci``); a ratio resting on fewer than
``min_searches`` searches of the two groups together is marked ``small``. **Shares** (arrest,
no further action, section 60, drugs, outcome linked to the object) have exact
Clopper-Pearson intervals. Figures describe; they do not say why searches differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.stats import clopper_pearson, poisson_rate_ci, rate_ratio_ci
from analysis.stop_search_data import FORCES, LEVELS, PeriodMonths, StopSearchData, forces_for, period_months
from analysis.tables import AnalysisTables
from core.errors import AnalysisInputError
from geo.london import CITY_OF_LONDON_CODE, LONDON_CODE

ETHNICITIES = ("officer", "self")
#: Groups compared for each way of recording ethnicity; the first is the reference.
GROUPS = {"officer": ("white", "black", "asian", "other"), "self": ("white", "black", "asian", "mixed", "other")}
REFERENCE = "white"
#: Officer-defined value → group.
OFFICER = {"White": "white", "Black": "black", "Asian": "asian", "Other": "other"}
#: Self-defined label prefix (2011 Census) → group; "Not stated" is no group.
SELF_PREFIX = {"White": "white", "Black/African/Caribbean/Black British": "black", "Asian/Asian British": "asian",
               "Mixed/Multiple ethnic groups": "mixed", "Other ethnic group": "other"}
#: Census groups that make the residents of each compared group.
CENSUS_GROUPS: dict[str, dict[str, tuple[str, ...]]] = {
    "officer": {"white": ("white",), "black": ("black",), "asian": ("asian",), "other": ("mixed", "other")},
    "self": {g: (g,) for g in GROUPS["self"]}}
#: A ratio resting on fewer searches (of the two groups together) is marked as small.
MIN_SEARCHES = 50
WESTMINSTER = "E09000033"
ARREST, NFA = "Arrest", "A no further action disposal"


@dataclass(frozen=True)
class StopSearchQuery:
    """What to measure: level, period, which ethnicity, whether gap months count, the small-number mark."""

    level: str = "borough"
    start: str | None = None
    end: str | None = None
    ethnicity: str = "officer"
    include_gaps: bool = False
    min_searches: int = MIN_SEARCHES

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise AnalysisInputError(f"level must be one of {LEVELS}, got {self.level!r}")
        if self.ethnicity not in ETHNICITIES:
            raise AnalysisInputError(f"ethnicity must be one of {ETHNICITIES}, got {self.ethnicity!r}")
        if self.min_searches < 0:
            raise AnalysisInputError(f"min_searches must be 0 or more, got {self.min_searches!r}")


@dataclass(frozen=True, eq=False)
class StopSearchResult:
    """One row per area (``table``) and London's row, with the months counted and the gaps named."""

    query: StopSearchQuery
    table: pd.DataFrame
    london: pd.Series
    period: PeriodMonths
    area_periods: dict[str, PeriodMonths]

    @property
    def groups(self) -> tuple[str, ...]:
        return GROUPS[self.query.ethnicity]


def ethnic_group(values: pd.Series, ethnicity: str) -> pd.Series:
    """Map published ethnicity values to the compared groups (NaN: none, e.g. 'not stated').

    Examples
    --------
    >>> ethnic_group(pd.Series(["Black", "Other", "(not recorded)"]), "officer").tolist()
    ['black', 'other', nan]
    >>> ethnic_group(pd.Series(["Other ethnic group - Not stated", "Other ethnic group - Arab",
    ...                         "Asian/Asian British - Indian"]), "self").tolist()
    [nan, 'other', 'asian']
    """
    if ethnicity == "officer":
        return values.map(OFFICER)
    prefix = values.str.split(" - ", n=1).str[0]
    out = prefix.map(SELF_PREFIX)
    return out.where(~values.str.endswith("Not stated", na=False))


def _counted(data: StopSearchData, name: str, months: set[str], key: str | None) -> pd.Series:
    """One of :data:`_COUNTED` per area (or London when ``key`` is None)."""
    dim, cats = _COUNTED[name]
    table = data.crosstab(dim, months, key)
    return table.sum(axis=1) if cats is None else table.reindex(columns=list(cats), fill_value=0).sum(axis=1)


def _area_key(level: str) -> str:
    return "ward_code" if level == "ward" else "borough_code"


def measure_areas(tables: AnalysisTables, data: StopSearchData, q: StopSearchQuery) -> StopSearchResult:
    """Every area's searches, rate, shares and (borough level) rates by group and ratios, plus London.

    Parameters
    ----------
    tables
        The analysis tables (area names and populations).
    data
        The stop-and-search tables (``analysis.stop_search_data.load_stop_search``).
    q
        Level, period, ethnicity, gap handling and the small-number mark.
    """
    index = tables.area_index(q.level)
    codes = pd.Index(index["area_code"].astype(str))
    london_period = period_months(data, q.start, q.end, tuple(FORCES), include_gaps=q.include_gaps)
    periods = {f: period_months(data, q.start, q.end, (f,), include_gaps=q.include_gaps) for f in FORCES}
    area_force = ["city-of-london" if c == CITY_OF_LONDON_CODE or b == CITY_OF_LONDON_CODE else "metropolitan"
                  for c, b in zip(codes, index["borough_code"].astype(str), strict=True)]
    key = _area_key(q.level)
    columns: dict[str, np.ndarray] = {}
    for name in _COUNTED:
        values = np.zeros(len(codes))
        for force, period in periods.items():
            mine = np.array([f == force for f in area_force])
            values[mine] = _counted(data, name, set(period.counted), key).reindex(codes, fill_value=0).to_numpy()[mine]
        columns[name] = values
    months = np.array([len(periods[f].counted) for f in area_force], dtype=float)
    table = pd.DataFrame({"area_code": codes, "area_name": index["area_name"].astype(str).to_numpy(),
                          "borough_code": index["borough_code"].astype(str).to_numpy(),
                          "residents": index["population"].to_numpy(dtype=float), "months": months, **columns,
                          "daytime_caveat": index["daytime_caveat"].to_numpy(dtype=bool)})
    unlocated = {f: _unlocated_share(data, f, periods[f]) for f in FORCES}
    table["unlocated_share"] = [unlocated[f] for f in area_force]
    table = _with_measures(table, q.min_searches)
    if q.level == "borough":
        table = _with_groups(table, data, q, periods, area_force)
    london = _london_row(tables, data, q, london_period)
    return StopSearchResult(q, table, london, london_period,
                            {c: periods[f] for c, f in zip(codes, area_force, strict=True)})


#: Columns counted per area: (dimension, categories or None for all).
_COUNTED: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "searches": ("all", None),
    "arrests": ("outcome", (ARREST,)),
    "nfa": ("outcome", (NFA,)),
    "outcome_missing": ("outcome", ("(not recorded)",)),
    "linked_true": ("outcome_linked", ("True",)),
    "linked_false": ("outcome_linked", ("False",)),
    "s60": ("legislation", ("Criminal Justice and Public Order Act 1994 (section 60)",)),
    "drugs": ("legislation", ("Misuse of Drugs Act 1971 (section 23)",)),
}


def _unlocated_share(data: StopSearchData, force: str, period: PeriodMonths) -> float:
    m = data.months
    rows = m[(m["force"] == force) & m["month"].isin(period.counted)]
    total = rows["searches"].sum()
    return float(rows["no_location"].sum() / total) if total else float("nan")


def _with_measures(table: pd.DataFrame, min_searches: int) -> pd.DataFrame:
    """Rates a year with exact intervals, and the shares with Clopper-Pearson intervals."""
    per_year = np.where(table["months"] > 0, 12 / table["months"].where(table["months"] > 0, 1), np.nan)
    rate, lo, hi = poisson_rate_ci(table["searches"], table["residents"], per=1000)
    out = table.assign(searches_per_1000=rate * per_year, searches_per_1000_lo=lo * per_year,
                       searches_per_1000_hi=hi * per_year)
    with_outcome = out["searches"] - out["outcome_missing"]
    linked_n = out["linked_true"] + out["linked_false"]
    shares = {"arrest_share": (out["arrests"], with_outcome), "nfa_share": (out["nfa"], with_outcome),
              "linked_share": (out["linked_true"], linked_n), "s60_share": (out["s60"], out["searches"]),
              "drugs_share": (out["drugs"], out["searches"])}
    for name, (k, n) in shares.items():
        share_lo, share_hi = clopper_pearson(k, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(n > 0, k / n.where(n > 0, 1), np.nan)
        out[f"{name}_lo"], out[f"{name}_hi"] = share_lo, share_hi
    out["linked_recorded"] = linked_n
    out["small"] = out["searches"] < min_searches
    return out.drop(columns=["outcome_missing", "linked_true", "linked_false"])


def _group_counts(data: StopSearchData, q: StopSearchQuery, months: set[str], key: str | None) -> pd.DataFrame:
    """Searches per area (``key``; None: all London, located or not) and compared group."""
    dim = "officer_defined_ethnicity" if q.ethnicity == "officer" else "self_defined_ethnicity"
    table = data.crosstab(dim, months, key)
    groups = ethnic_group(pd.Series(table.columns, dtype=object), q.ethnicity).fillna("unknown").to_numpy()
    return table.T.groupby(groups).sum().T


def _census(data: StopSearchData, ethnicity: str) -> pd.DataFrame:
    """Residents per Census row (code) and compared group, with the boroughs each row covers."""
    c = data.census
    out = {}
    for group, census_groups in CENSUS_GROUPS[ethnicity].items():
        out[group] = c[c["ethnic_group"].isin(census_groups)].groupby("area_code")["residents"].sum()
    frame = pd.DataFrame(out).fillna(0)
    frame["covers"] = c.groupby("area_code")["covers"].first()
    return frame


def _with_groups(table: pd.DataFrame, data: StopSearchData, q: StopSearchQuery, periods: dict[str, PeriodMonths],
                 area_force: list[str]) -> pd.DataFrame:
    """Add per group: searches, residents, rate a year; ratios against White with intervals; pooled rows."""
    census = _census(data, q.ethnicity)
    groups = GROUPS[q.ethnicity]
    codes = table["area_code"].astype(str).tolist()
    names = dict(zip(codes, table["area_name"].astype(str), strict=True))
    position = {c: i for i, c in enumerate(codes)}
    columns = [*groups, "unknown"]
    searches = np.zeros((len(codes), len(columns)))
    forces = np.array(area_force, dtype=object)
    for force, period in periods.items():
        counts = _group_counts(data, q, set(period.counted), "borough_code")
        aligned = counts.reindex(index=codes, columns=columns, fill_value=0).to_numpy(dtype=float)
        searches[forces == force] = aligned[forces == force]
    residents = np.full((len(codes), len(groups)), np.nan)
    base: list[str | None] = [None] * len(codes)
    for area_code, row in census.iterrows():
        covered = [position[c] for c in str(row["covers"]).split() if c in position]
        if area_code == LONDON_CODE or not covered:
            continue
        pooled = searches[covered].sum(axis=0)
        label = (" and ".join(names[codes[i]] for i in covered) + " together") if len(covered) > 1 else "this borough"
        for i in covered:
            searches[i] = pooled
            residents[i] = row[list(groups)].to_numpy(dtype=float)
            base[i] = label
    out = table.copy()
    out["ethnicity_base"] = base
    return _group_columns(out, pd.DataFrame(searches, columns=columns), pd.DataFrame(residents, columns=list(groups)),
                          out["months"].to_numpy(), groups, q.min_searches)


def _group_columns(out: pd.DataFrame, searches: pd.DataFrame, residents: pd.DataFrame, months: np.ndarray,
                   groups: tuple[str, ...], min_searches: int) -> pd.DataFrame:
    per_year = np.where(months > 0, 12 / np.where(months > 0, months, 1), np.nan)
    total = searches.sum(axis=1).to_numpy()
    out["ethnicity_unknown_share"] = np.where(total > 0, searches["unknown"].to_numpy() / np.where(total > 0, total, 1),
                                              np.nan)
    for g in groups:
        k, n = searches[g].to_numpy(), residents[g].to_numpy()
        rate, lo, hi = poisson_rate_ci(k, n, per=1000)
        out[f"searches_{g}"], out[f"residents_{g}"] = k, n
        out[f"rate_{g}"], out[f"rate_{g}_lo"], out[f"rate_{g}_hi"] = rate * per_year, lo * per_year, hi * per_year
    ref_k, ref_n = searches[REFERENCE].to_numpy(), residents[REFERENCE].to_numpy()
    for g in groups:
        if g == REFERENCE:
            continue
        k, n = searches[g].to_numpy(), residents[g].to_numpy()
        ratio, lo, hi = rate_ratio_ci(k, n, ref_k, ref_n)
        out[f"ratio_{g}_white"], out[f"ratio_{g}_white_lo"], out[f"ratio_{g}_white_hi"] = ratio, lo, hi
        out[f"ratio_{g}_white_small"] = (k + ref_k) < min_searches
    return out


def _london_row(tables: AnalysisTables, data: StopSearchData, q: StopSearchQuery, period: PeriodMonths) -> pd.Series:
    """London: every search of both forces (with or without coordinates) against London's residents."""
    months = set(period.counted)
    counted = {name: float(_counted(data, name, months, None).sum()) for name in _COUNTED}
    m = data.months[data.months["month"].isin(months)]
    row = pd.DataFrame({"area_code": [LONDON_CODE], "area_name": ["London"], "borough_code": [LONDON_CODE],
                        "residents": [float(tables.london_population)], "months": [float(len(months))],
                        **{k: [v] for k, v in counted.items()}, "daytime_caveat": [False],
                        "unlocated_share": [m["no_location"].sum() / max(m["searches"].sum(), 1)]})
    row = _with_measures(row, q.min_searches)
    census = _census(data, q.ethnicity)
    groups = GROUPS[q.ethnicity]
    counts = _group_counts(data, q, months, None).reindex([LONDON_CODE], fill_value=0)
    searches = pd.DataFrame({g: counts[g].astype(float) if g in counts else 0.0 for g in groups}, index=[LONDON_CODE])
    searches["unknown"] = counts[[c for c in counts.columns if c not in groups]].sum(axis=1).astype(float)
    residents = pd.DataFrame({g: [float(census.at[LONDON_CODE, g]) if LONDON_CODE in census.index else np.nan]
                              for g in groups}, index=[LONDON_CODE])
    row["ethnicity_base"] = "London"
    row = _group_columns(row, searches, residents, row["months"].to_numpy(), groups, q.min_searches)
    return row.iloc[0]


def area_row(result: StopSearchResult, area_code: str) -> pd.Series:
    """One area's row (London's for ``E12000007``); an unknown code is an AnalysisInputError."""
    if area_code == LONDON_CODE:
        return result.london
    rows = result.table[result.table["area_code"] == area_code]
    if rows.empty:
        raise AnalysisInputError(f"no {result.query.level} {area_code!r} in the stop-and-search table")
    return rows.iloc[0]


def gap_note(result: StopSearchResult) -> str:
    """The coverage gaps inside the period in words, whether they are counted, and any force not held."""
    p = result.period
    held = "".join(f" {n.text}." for n in p.not_held)
    if not p.gaps:
        return f"No coverage gaps between {p.start} and {p.end}.{held}"
    how = "included at your request" if p.included_gaps else "left out of rates and trends"
    return f"Coverage gaps between {p.start} and {p.end} ({how}): {p.gap_text}.{held}"


def forces_note(area_code: str) -> str:
    """Which force's coverage an area rests on, in words."""
    return " and ".join(FORCES[f] for f in forces_for(area_code))
