"""Stop and search over time, and set beside trust: the monthly trend and the borough scatter.

The trend counts searches per month for one area (or London) and marks each coverage gap:
a gap month's value is left empty, so a chart draws a break there instead of a fall,
unless the user chose to include gaps (then it is drawn and still marked).

The scatter puts each borough's disproportionality ratio beside its trust in the police
(MOPAC Public Attitude Survey, the survey year ending at or just before the period's end).
The Pearson correlation is of the *log* ratio (ratios are multiplicative: 2 and 1/2 are
equally far from 1) with trust, with a Fisher z 95% interval. It compares boroughs, not
people, and an association is not a cause.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import trust as trust_mod
from analysis.stats import correlation_ci
from analysis.stop_search import StopSearchQuery, StopSearchResult
from analysis.stop_search_data import FORCES, StopSearchData, forces_for, period_months
from analysis.tables import AnalysisTables
from data_sources.coverage import month_range
from geo.london import CITY_OF_LONDON_CODE, LONDON_CODE

#: The survey measures the scatter offers.
SCATTER_MEASURES = ("trust_mps", "treat_fairly")
CAVEAT = ("Each dot is a borough, not a person: a link between boroughs' figures says nothing about any "
          "individual, and an association is not a cause (both may follow a third thing, such as "
          "deprivation or crime).")


def monthly_trend(tables: AnalysisTables, data: StopSearchData, q: StopSearchQuery,
                  area_code: str = LONDON_CODE) -> pd.DataFrame:
    """Searches per month for an area or London, with rates and the gaps marked.

    Returns
    -------
    DataFrame
        ``month, searches, residents, rate`` (per 1,000 residents in the month), ``gap``
        (bool), ``gap_reason``, and ``value``: the rate, or NaN at a gap left out.
    """
    period = period_months(data, q.start, q.end, forces_for(area_code), include_gaps=True)
    months = month_range(period.start, period.end)
    rows = data.dimension("all")
    if area_code == LONDON_CODE:
        residents = float(tables.london_population)
    else:
        ward = (tables.wards["area_code"] == area_code).any()
        key = "ward_code" if ward else "borough_code"
        rows = rows[rows[key] == area_code]
        index = tables.wards if ward else tables.boroughs
        residents = float(index.loc[index["area_code"] == area_code, "population"].iloc[0])
    searches = rows.groupby("month", observed=True)["count"].sum().reindex(months, fill_value=0)
    reasons: dict[str, list[str]] = {}
    for g in period.gaps:
        reasons.setdefault(g.month, []).append(f"{FORCES[g.force]}: {g.reason}")
    out = pd.DataFrame({"month": months, "searches": searches.to_numpy(), "residents": residents})
    out["rate"] = out["searches"] / residents * 1000
    out["gap"] = out["month"].isin(reasons)
    out["gap_reason"] = ["; ".join(reasons.get(m, [])) or None for m in months]
    out["value"] = out["rate"].where(~out["gap"] | q.include_gaps)
    return out


@dataclass(frozen=True, eq=False)
class TrustScatter:
    """Boroughs' ratios beside their trust, with the correlation and its interval."""

    points: pd.DataFrame
    measure_id: str
    measure_label: str
    period_end: pd.Timestamp
    group: str
    r: float
    r_lo: float
    r_hi: float
    n: int

    @property
    def sentence(self) -> str:
        """The correlation in one plain sentence."""
        if not np.isfinite(self.r):
            return "Too few boroughs with both figures to compute a correlation."
        return (f"Correlation of the (log) {self.group.title()}/White ratio with '{self.measure_label}' across "
                f"{self.n} boroughs: r = {self.r:+.2f} (95% interval {self.r_lo:+.2f} to {self.r_hi:+.2f}).")


def trust_scatter(tables: AnalysisTables, result: StopSearchResult, measure_id: str = "trust_mps",
                  group: str = "black") -> TrustScatter:
    """Boroughs' ``group``/White ratio beside a trust measure, and their correlation.

    The City of London is left out (MOPAC does not survey it); Westminster's ratio pools the
    City's searches and residents (the Census joins them). Ratios marked small stay in but
    are flagged in ``points``.
    """
    ratio = f"ratio_{group}_white"
    if ratio not in result.table.columns:
        raise ValueError(f"the result has no {ratio!r}; measure at borough level")
    periods = trust_mod.trust_periods(tables, measure_id)
    end = pd.Period(result.period.end, freq="M").end_time.normalize()
    usable = [p for p in periods if p <= end] or periods[:1]
    when = pd.Timestamp(usable[-1])
    trust = trust_mod.trust_table(tables, measure_id, level="borough")
    trust = trust[trust["period_end"] == when].set_index("area_code")
    table = result.table[result.table["area_code"] != CITY_OF_LONDON_CODE]
    points = pd.DataFrame({
        "area_code": table["area_code"], "area_name": table["area_name"], "ratio": table[ratio],
        "ratio_lo": table[f"{ratio}_lo"], "ratio_hi": table[f"{ratio}_hi"], "small": table[f"{ratio}_small"],
        "trust": table["area_code"].map(trust["proportion"]).astype(float)}).reset_index(drop=True)
    ok = points["trust"].notna() & np.isfinite(points["ratio"]) & (points["ratio"] > 0)
    n = int(ok.sum())
    r = float(np.corrcoef(np.log(points.loc[ok, "ratio"]), points.loc[ok, "trust"])[0, 1]) if n >= 3 else np.nan
    lo, hi = correlation_ci(r, n)
    return TrustScatter(points, measure_id, trust_mod.measure_label(tables, measure_id), when, group, r, lo, hi, n)
