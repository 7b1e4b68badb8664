"""Plan progress groups: who the launch cohort is compared with, and each group's change with its interval.

Every area with data is in the cohort or in ``all_other``, the main comparison. ``all_other``
has two parts, named for what they were at launch: ``same_crime_other_trust`` met the crime
half of the rule but not the trust half (as high in crime: the closer comparison, as prone
to regression to the mean as the cohort, but not a control), and ``lower_crime`` did not
meet the crime half.

A group's change is the ratio of its totals; its interval is cluster-robust by borough
(``analysis.stats.cluster_influence``): wards in one borough move together, so treating them
as independent makes intervals too narrow. At borough level each borough is its own
cluster. Quantiles are t on clusters − 1 degrees of freedom (for a comparison, the smaller
group's), because 7 or 20 clusters estimate a variance only roughly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import classify
from analysis.change import dispersion, shared_weights, weighted_change
from analysis.priorities import AreaFlags, FlagSettings
from analysis.stats import cluster_influence, clustered_interval

GROUPS = ("cohort", "all_other", "same_crime_other_trust", "lower_crime")
#: The two parts of ``all_other``, as the per-area table names them.
PARTS = ("same_crime_other_trust", "lower_crime")
COMPARISONS = {"cohort_vs_all_other": ("cohort", "all_other"),
               "cohort_vs_same_crime_other_trust": ("cohort", "same_crime_other_trust"),
               "cohort_vs_lower_crime": ("cohort", "lower_crime"),
               "same_crime_other_trust_vs_lower_crime": ("same_crime_other_trust", "lower_crime")}


def group_labels(level: str) -> dict[str, str]:
    """Each group in words, for the page's legend and rows ('all other wards' at ward level)."""
    areas = "wards" if level == "ward" else "boroughs"
    return {"cohort": "flagged at launch", "all_other": f"all other {areas}",
            "same_crime_other_trust": "as high in crime, trust not low", "lower_crime": "lower crime at launch",
            "london": "London"}


def launch_groups(base: pd.DataFrame, baseline: AreaFlags, flags: FlagSettings) -> np.ndarray:
    """Each area's group at launch: the cohort, or the part of ``all_other`` it falls in.

    An area with no trust figure (the City of London, which the survey does not cover) that
    met the crime half did not meet the trust half, so it is in ``same_crime_other_trust``.
    """
    high = classify.high_crime(base["value"].to_numpy(dtype=float), method=flags.method, crime_pct=flags.crime_pct,
                               crime_lower=base["rate_lo"].to_numpy(dtype=float),
                               london_crime=float(baseline.crime.london["rate"]))
    cohort = base["flagged"].to_numpy(dtype=bool)
    return np.where(cohort, "cohort", np.where(high, "same_crime_other_trust", "lower_crime"))


def group_members(group: np.ndarray, has_data: np.ndarray) -> dict[str, np.ndarray]:
    """Masks of every group (``all_other`` = every area with data outside the cohort) and of London."""
    masks = {name: (group == name) & has_data for name in ("cohort", *PARTS)}
    return {"cohort": masks["cohort"], "all_other": (group != "cohort") & has_data,
            **{p: masks[p] for p in PARTS}, "london": has_data}


@dataclass(frozen=True)
class Change:
    """A group's or a comparison's crime change with its clustered interval."""

    value: float
    lo: float
    hi: float
    clusters: int


def clusters_of(index: pd.DataFrame, level: str) -> np.ndarray:
    """Each area's cluster: its borough at ward level, itself at borough level (integer codes)."""
    key = index["borough_code"] if level == "ward" else index.index.to_series()
    return pd.factorize(key.astype(str).to_numpy())[0]


def crime_changes(after: np.ndarray, before: np.ndarray, members: dict[str, np.ndarray],
                  cluster: np.ndarray) -> dict[str, Change]:
    """Every group's change and every comparison's ratio of changes, with clustered t intervals.

    The sandwich variance needs no Poisson assumption, so harm-weighted totals get intervals
    too: they allow for how unevenly the areas and boroughs changed, whatever the weights.
    """
    out: dict[str, Change] = {}
    fits = {}
    for name, m in members.items():
        log_r, psi = cluster_influence(after, before, m, cluster)
        g = _clusters(cluster, m & (after + before > 0))
        value, lo, hi, _ = clustered_interval(log_r, psi, g)
        fits[name] = (log_r, psi, g)
        out[name] = Change(value, lo, hi, g)
    for name, (first, second) in COMPARISONS.items():
        (l1, p1, g1), (l2, p2, g2) = fits[first], fits[second]
        # t on the smaller group's clusters − 1: its variance usually dominates, and it is the cautious choice
        shared, df = _clusters(cluster, members[first] | members[second]), min(g1, g2) - 1
        value, lo, hi, _ = clustered_interval(l1 - l2, p1 - p2, shared, df=df)
        out[name] = Change(value, lo, hi, min(g1, g2))
    return out


def _clusters(cluster: np.ndarray, mask: np.ndarray) -> int:
    return int(np.unique(cluster[mask]).size)


def area_dispersion(after: np.ndarray, before: np.ndarray, members: dict[str, np.ndarray]) -> dict[str, float]:
    """Each group's quasi-Poisson dispersion: how much more unevenly its areas changed than chance (1 = Poisson)."""
    return {name: dispersion(after[m], before[m]) for name, m in members.items()}


def trust_changes(members: dict[str, np.ndarray], index: pd.DataFrame, trusted: np.ndarray, boroughs: list[str],
                  before: tuple[np.ndarray, np.ndarray], after: tuple[np.ndarray, np.ndarray]
                  ) -> tuple[dict[str, np.ndarray], dict[str, tuple[float, ...]]]:
    """Each group's borough weights, and its trust (before, after, change, lo, hi; change in points).

    ``before`` and ``after`` are (proportion, effective sample) per borough, the sample
    already divided by the design effect. Comparisons are differences of the two groups'
    changes, shared boroughs counted once.
    """
    codes, pop = index["borough_code"].to_numpy(dtype=object), index["population"].to_numpy(dtype=float)
    weights = {g: shared_weights(codes, pop, m & trusted, boroughs) for g, m in members.items()}
    p0, n0 = np.nan_to_num(before[0]), np.nan_to_num(before[1], nan=1.0)
    p1, n1 = np.nan_to_num(after[0]), np.nan_to_num(after[1], nan=1.0)
    out: dict[str, tuple[float, ...]] = {}
    for name, w in weights.items():
        if w.sum() == 0:
            continue
        change, lo, hi, _ = weighted_change(w, p0, n0, p1, n1)
        out[name] = (float(np.nansum(w * before[0])), float(np.nansum(w * after[0])), change * 100, lo * 100,
                     hi * 100)
    for name, (first, second) in COMPARISONS.items():
        if first in out and second in out:
            change, lo, hi, _ = weighted_change(weights[first] - weights[second], p0, n0, p1, n1)
            out[name] = (np.nan, np.nan, change * 100, lo * 100, hi * 100)
    return weights, out
