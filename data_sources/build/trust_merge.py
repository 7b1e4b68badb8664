"""One trust table from several publications: official figures win, London is derived only where missing.

Precedence, for the same area, quarter end and measure (first wins; ``pas.PUBLICATIONS``):

1. **MOPAC PAS workbook** (the official ``PAS_T&Cdashboard`` release; the newest release
   wins, so a revision replaces the figure it revises),
2. **MOPAC London series (Datastore)** (official, London only, whole percentages),
3. **MOPAC dashboard (extracted)** (borough figures from MOPAC's dashboard; not an
   official file, but identical to the workbook wherever both exist for Good job and
   Trust MPS),
4. **London derived from borough figures** (see :func:`derive_london`),
5. **your upload** (a user's table: it fills what no publication has, e.g. ward level).

Where a lower publication's value differs from the one used, the difference is counted
and reported, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from data_sources.read.pas import DERIVED, LABELS, PUBLICATIONS
from data_sources.schemas import TRUST
from geo.london import LONDON_CODE

KEY = ["area_code", "period_end", "measure_id"]
#: MOPAC surveys 32 boroughs (not the City): London is derived only when all 32 have a figure.
BOROUGHS_SURVEYED = 32
#: Values are equal when they differ by less than this (they are published to 2 decimals).
EQUAL = 5e-4


@dataclass
class MergeReport:
    """What the merge did: rows used per publication and overlaps resolved."""

    used: dict[str, int] = field(default_factory=dict)
    overlapping: dict[str, int] = field(default_factory=dict)
    differing: dict[str, int] = field(default_factory=dict)
    derived: int = 0

    def notes(self) -> list[str]:
        out = []
        for pub, n in self.overlapping.items():
            diff = self.differing.get(pub, 0)
            out.append(f"{pub}: {n:,} figures also published by a higher-ranked publication, which is used"
                       + (f" ({diff:,} of them differ)" if diff else " (all equal)"))
        if self.derived:
            out.append(f"{self.derived:,} London figures derived from the 32 boroughs (population-weighted) where "
                       "no official London figure exists")
        return out


def merge_trust(parts: list[pd.DataFrame], releases: list[str]) -> tuple[pd.DataFrame, MergeReport]:
    """Combine TRUST frames, one per input, keeping one figure per area, quarter and measure.

    Parameters
    ----------
    parts
        TRUST frames (with ``publication``).
    releases
        One sortable string per part: within a publication the larger release wins
        (e.g. ``"2023-12|"`` for a release to Dec 2023 read from the data folder,
        ``"2025-12|2026-03-01T10:00:00"`` for one downloaded then).

    Returns
    -------
    trust, report
        The merged TRUST table sorted by level, area, measure and period, and what was done.
    """
    report = MergeReport()
    frames = [p.assign(_release=r) for p, r in zip(parts, releases, strict=True) if len(p)]
    if not frames:
        return TRUST.empty(), report
    rows = pd.concat(frames, ignore_index=True)
    rank = {p: i for i, p in enumerate(PUBLICATIONS)}
    rows["_rank"] = rows["publication"].map(rank).fillna(len(rank)).astype(int)
    rows = rows.sort_values(["_rank", "_release"], ascending=[True, False], kind="stable")
    first = ~rows.duplicated(KEY, keep="first")
    winners = rows[first]
    losers = rows[~first]
    if len(losers):
        won = winners.set_index(KEY)["proportion"]
        against = won.reindex(pd.MultiIndex.from_frame(losers[KEY])).to_numpy()
        differs = np.abs(losers["proportion"].to_numpy() - against) >= EQUAL
        for pub, n in losers["publication"].value_counts().items():
            report.overlapping[str(pub)] = int(n)
        for pub, n in losers.loc[differs, "publication"].value_counts().items():
            report.differing[str(pub)] = int(n)
    report.used = {str(k): int(v) for k, v in winners["publication"].value_counts().items()}
    out = winners.drop(columns=["_rank", "_release"])
    out = out.sort_values(["area_level", "area_code", "measure_id", "period_end"], ignore_index=True)
    return TRUST.conform(out), report


def derive_london(trust: pd.DataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """London figures where no publication gives one: the boroughs' mean weighted by population.

    MOPAC's London figure pools its borough samples weighted to the population; over the
    2,328 quarter-measures of the official workbook, the Census 2021 population-weighted
    mean of the 32 borough figures is within 0.9 percentage points of MOPAC's London figure
    (87% equal to 2 decimals). So a London figure is derived, rounded to 2 decimals, only
    for a quarter and measure with all 32 boroughs and no official London figure, and it is
    labelled :data:`data_sources.read.pas.DERIVED`.

    Parameters
    ----------
    trust
        The merged TRUST table.
    population
        The POPULATION table (its borough rows are the weights).
    """
    pop = population[population["area_level"] == "borough"].set_index("area_code")["population"]
    boroughs = trust[trust["area_level"] == "borough"]
    london = trust[trust["area_level"] == "london"]
    have = set(zip(london["period_end"], london["measure_id"], strict=True))
    w = boroughs["area_code"].map(pop).astype(float)
    frame = boroughs.assign(_w=w, _wp=w * boroughs["proportion"])
    grouped = frame.groupby(["period_end", "measure_id"], observed=True).agg(
        n=("area_code", "nunique"), w=("_w", "sum"), wp=("_wp", "sum")).reset_index()
    grouped = grouped[(grouped["n"] >= BOROUGHS_SURVEYED) & grouped["w"].gt(0)]
    grouped = grouped[[(p, m) not in have for p, m in zip(grouped["period_end"], grouped["measure_id"],
                                                           strict=True)]]
    out = pd.DataFrame({
        "area_code": LONDON_CODE, "area_level": "london", "period_end": grouped["period_end"],
        "measure_id": grouped["measure_id"], "measure_label": grouped["measure_id"].map(LABELS),
        "proportion": (grouped["wp"] / grouped["w"]).round(2),
        "sample_size": pd.array([pd.NA] * len(grouped), dtype="Int64"),
        "source_file": "derived: Census 2021 population-weighted mean of the 32 borough figures",
        "publication": DERIVED,
    })
    return TRUST.conform(out.reset_index(drop=True))
