"""The priority table: crime and trust per area, the 3×3 class, the flag, its robustness and a reason.

"The highest crime, lowest trust communities" becomes a rule with visible parameters: a
crime level (the chosen measure), a trust level (the chosen survey measure), terciles across
London for the 3×3 class, and a flag either by percentiles (crime at or above ``crime_pct``,
trust at or below ``trust_pct``) or by intervals (the crime rate's interval above London's
rate and the trust interval below London's). Each flag comes with how often it holds in
earlier periods of the same length and under neighbouring thresholds, and one sentence saying
why.

A threshold change only re-runs the vectorised classing on cached crime and trust columns, so
the full ward table refreshes in a few milliseconds.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from analysis import classify
from analysis.errors import AnalysisInputError
from analysis.measures import (
    AnalysisTables,
    CrimeQuery,
    crime_measures,
    months_between,
    period_values,
    resolve_period,
    selected_types,
    shift_month,
)
from analysis.stats import poisson_rate_ci, wilson_ci
from analysis.trust import N_PER_QUARTER, measure_label, trust_for_areas

#: Bumped whenever a rule or default below changes the flags; written into every export.
METHOD_VERSION = "1.0"
METHODS = ("percentile", "interval")
#: Confidence levels the interval rule is re-run at for its "m of 9" robustness figure.
INTERVAL_LEVELS = (0.90, 0.95, 0.99)
CRIME_CLASS_LABELS = np.array(["low", "mid", "high", "no data"], dtype=object)


@dataclass(frozen=True)
class FlagSettings:
    """The flag's parameters: every threshold the user can move.

    Attributes
    ----------
    method
        'percentile' (compare areas with each other) or 'interval' (compare each area
        with London beyond the 95% intervals).
    crime_pct, trust_pct
        Percentile rule: flag crime at or above the ``crime_pct`` quantile and trust at or
        below the ``trust_pct`` quantile (across the areas shown).
    trust_measure
        PAS measure id, e.g. 'trust_mps'.
    trust_period
        End of the survey's rolling year ('YYYY-MM-DD'); None for the latest.
    n_per_quarter
        Assumed interviews per borough per quarter (4 quarters per published figure).
    robustness_periods
        How many earlier periods of the same length to re-run the flag for.
    neighbour_step
        Distance of the neighbouring percentile thresholds (3×3 grid around the chosen pair).
    """

    method: str = "percentile"
    crime_pct: float = 2 / 3
    trust_pct: float = 1 / 3
    trust_measure: str = "trust_mps"
    trust_period: str | None = None
    n_per_quarter: float = N_PER_QUARTER
    robustness_periods: int = 6
    neighbour_step: float = 0.05

    def check(self) -> None:
        """Raise AnalysisInputError naming the first setting out of range."""
        if self.method not in METHODS:
            raise AnalysisInputError(f"unknown flag method {self.method!r}; choose from {list(METHODS)!r}")
        for name in ("crime_pct", "trust_pct", "neighbour_step"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise AnalysisInputError(f"{name} must lie between 0 and 1, got {value!r}")
        if self.robustness_periods < 0:
            raise AnalysisInputError(f"robustness_periods must be 0 or more, got {self.robustness_periods!r}")
        if self.n_per_quarter <= 0:
            raise AnalysisInputError(f"n_per_quarter must be positive, got {self.n_per_quarter!r}")


PRIORITY_EXTRA_COLUMNS = [
    "trust", "trust_lo", "trust_hi", "trust_n", "trust_source_level", "trust_note", "trust_period_end",
    "trust_change_since_plan", "london_trust", "crime_class", "trust_class", "class_3x3", "class_label", "flagged",
    "robust_periods_k", "robust_periods_n", "robustness_periods", "robust_settings_m", "robustness_settings",
    "reason", "rank",
]


@dataclass(frozen=True, eq=False)
class _Base:
    """What a threshold change does not alter: crime and trust columns, reasons, London figures."""

    columns: dict[str, np.ndarray]
    attrs: dict[str, object]
    trust_label: str
    london_rate: float
    london_trust: float

    def floats(self, name: str) -> np.ndarray:
        return self.columns[name].astype(float)


@lru_cache(maxsize=32)
def _trust(tables: AnalysisTables, measure: str, period: str | None, level: str, n: float) -> pd.DataFrame:
    return trust_for_areas(tables, measure, period, level, n_per_quarter=n)


@lru_cache(maxsize=32)
def _base(tables: AnalysisTables, q: CrimeQuery, measure: str, period: str | None, n: float) -> _Base:
    crime = crime_measures(tables, q)
    trust = _trust(tables, measure, period, q.level, n)
    columns = {c: crime[c].to_numpy() for c in crime.columns}
    for col in ("trust", "trust_lo", "trust_hi", "trust_n", "trust_source_level", "trust_note", "trust_period_end",
                "trust_change_since_plan", "london_trust"):
        columns[col] = trust[col].to_numpy()
    trust_label = measure_label(tables, measure)
    london_trust = float(trust["london_trust"].iloc[0])
    columns["reason"] = np.array(_reasons(tables, q, trust_label, columns, london_trust), dtype=object)
    attrs = dict(crime.attrs, trust_period_end=str(pd.Timestamp(trust["trust_period_end"].iloc[0]).date()))
    return _Base(columns, attrs, trust_label, float(crime["london_rate"].iloc[0]), london_trust)


@lru_cache(maxsize=32)
def _earlier(tables: AnalysisTables, q: CrimeQuery, periods: int) -> tuple[tuple[str, str, np.ndarray, np.ndarray,
                                                                                 float, float], ...]:
    """(start, end, value, count, london_value, london_rate) for up to ``periods`` earlier periods with data."""
    start, end = resolve_period(tables, q)
    n = months_between(start, end)
    out = []
    for k in range(1, periods + 1):
        s, e = shift_month(start, -k * n), shift_month(end, -k * n)
        values = period_values(tables, q, s, e)
        if values is not None:
            out.append((s, e, values.value, values.count, values.london_value, values.london_rate))
    return tuple(out)


def crime_label(tables: AnalysisTables, q: CrimeQuery) -> str:
    """Return the crime selection in words for sentences: a type, a group, 'All crime' or 'Selected crime'."""
    types = selected_types(tables, q)
    if not q.crime_types and not q.crime_groups:
        return "All crime"
    if len(types) == 1:
        return types[0].capitalize() if types[0].isupper() else types[0]
    if not q.crime_types and len(q.crime_groups) == 1:
        return q.crime_groups[0].capitalize()
    return "Selected crime"


def _flag(value: np.ndarray, trust: np.ndarray, count: np.ndarray, pop: np.ndarray, trust_n: np.ndarray,
          london_rate: float, london_trust: float, flags: FlagSettings,
          level: float = 0.95) -> np.ndarray:
    """Return the flag for one crime vector; the interval rule uses the per-resident rate interval."""
    if flags.method == "percentile":
        return classify.flag_high_crime_low_trust(value, trust, crime_pct=flags.crime_pct, trust_pct=flags.trust_pct)
    _, lo, hi = poisson_rate_ci(np.nan_to_num(count, nan=0.0), pop, per=1000, level=level)
    lo = np.where(np.isnan(count), np.nan, lo)
    t_lo, t_hi = wilson_ci(trust, trust_n, level=level)
    return classify.flag_high_crime_low_trust(value, trust, method="interval", crime_ci=(lo, hi),
                                              trust_ci=(t_lo, t_hi), london_crime=london_rate,
                                              london_trust=london_trust)


def priority_table(tables: AnalysisTables, q: CrimeQuery, flags: FlagSettings) -> pd.DataFrame:
    """Return the priority table: one row per ward or borough, flagged areas first.

    Parameters
    ----------
    tables
        From ``measures.load_tables``.
    q
        The crime query (source, level, selection, period, measure).
    flags
        Thresholds, trust measure and robustness settings.

    Returns
    -------
    pandas.DataFrame
        ``measures.MEASURE_COLUMNS`` followed by ``PRIORITY_EXTRA_COLUMNS``: trust with its
        Wilson interval and ``trust_source_level`` ('borough' for wards unless ward figures
        are loaded; <NA> for the unsurveyed City of London); ``crime_class`` and
        ``trust_class`` ('low'/'mid'/'high' terciles across the areas shown, or 'no data');
        ``class_3x3`` ('C3-T1' = high crime, low trust) and ``class_label``; ``flagged``;
        ``robust_periods_k`` of ``robust_periods_n`` earlier periods of the same length
        with data in which the area is also flagged (trust held at the chosen period) and
        the text ``robustness_periods``; ``robust_settings_m`` of 9 neighbouring settings
        (percentile rule: thresholds ± ``neighbour_step``; interval rule: 90/95/99% levels
        for crime × trust) and ``robustness_settings``; a plain-English ``reason``; ``rank``
        (1 = highest crime value among flagged areas, then the rest). ``attrs`` carries the
        crime table's attrs plus the settings and the trust label.

    Raises
    ------
    AnalysisInputError
        For an invalid query or setting, e.g. the interval rule with a harm or density
        measure (those have no interval).
    """
    flags.check()
    if flags.method == "interval" and q.measure not in ("count", "rate"):
        raise AnalysisInputError(f"the interval rule needs a measure with an interval ('count' or 'rate'), "
                                 f"not {q.measure!r}; use the percentile rule for harm or density")
    base = _base(tables, q, flags.trust_measure, flags.trust_period, float(flags.n_per_quarter))
    value, count, pop = base.floats("value"), base.floats("count"), base.floats("population")
    t, t_n = base.floats("trust"), base.floats("trust_n")
    l_rate, l_trust = base.london_rate, base.london_trust

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        c_class = classify.tercile_classes(value)
        t_class = classify.tercile_classes(t)
    codes, labels = classify.bivariate_class(c_class, t_class)
    flagged = _flag(value, t, count, pop, t_n, l_rate, l_trust, flags)

    earlier = _earlier(tables, q, flags.robustness_periods)
    if earlier:
        matrix = np.column_stack([_flag(v, t, c, pop, t_n, lr, l_trust, flags) for _, _, v, c, _, lr in earlier])
        k = classify.robustness_counts(matrix)
    else:
        k = np.zeros(len(value), dtype=np.int64)
    if flags.method == "percentile":
        grid = classify.threshold_grid(flags.crime_pct, flags.trust_pct, step=flags.neighbour_step)
        m = classify.robustness_counts(classify.flags_under_settings(value, t, grid))
    else:
        m = _interval_grid(count, pop, t, t_n, l_rate, l_trust, value)

    reason = base.columns["reason"]
    columns = {c: v for c, v in base.columns.items() if c != "reason"}
    columns.update({
        "crime_class": CRIME_CLASS_LABELS[c_class], "trust_class": CRIME_CLASS_LABELS[t_class],
        "class_3x3": codes, "class_label": labels, "flagged": flagged, "robust_periods_k": k,
        "robust_periods_n": np.full(len(value), len(earlier)),
        "robustness_periods": np.array([f"flagged in {a} of {len(earlier)} earlier periods" for a in k], dtype=object),
        "robust_settings_m": m, "robustness_settings": np.array([f"{b} of 9" for b in m], dtype=object),
        "reason": reason,
    })
    order = np.lexsort((columns["area_code"].astype(str), -np.nan_to_num(value, nan=-np.inf), ~flagged))
    columns = {c: v[order] for c, v in columns.items()}
    columns["rank"] = np.arange(1, len(value) + 1)
    table = pd.DataFrame(columns)
    table.attrs.update(base.attrs)
    table.attrs.update({
        "method": flags.method, "crime_pct": flags.crime_pct, "trust_pct": flags.trust_pct,
        "trust_measure": flags.trust_measure, "trust_label": base.trust_label,
        "n_per_quarter": flags.n_per_quarter, "robustness_periods": [(s, e) for s, e, *_ in earlier],
        "neighbour_step": flags.neighbour_step, "method_version": METHOD_VERSION,
        "class_warnings": [str(w.message) for w in caught],
    })
    return table

def _interval_grid(count: np.ndarray, pop: np.ndarray, trust: np.ndarray, trust_n: np.ndarray, london_rate: float,
                   london_trust: float, value: np.ndarray) -> np.ndarray:
    """How many of the 3×3 (crime level × trust level) interval settings flag each area."""
    crime_lower = []
    for level in INTERVAL_LEVELS:
        _, lo, _ = poisson_rate_ci(np.nan_to_num(count, nan=0.0), pop, per=1000, level=level)
        crime_lower.append(np.where(np.isnan(count), np.nan, lo))
    trust_upper = [wilson_ci(trust, trust_n, level=level)[1] for level in INTERVAL_LEVELS]
    total = np.zeros(len(value), dtype=np.int64)
    with np.errstate(invalid="ignore"):
        for lo in crime_lower:
            for hi in trust_upper:
                total += (lo > london_rate) & (hi < london_trust)
    return total


def _reasons(tables: AnalysisTables, q: CrimeQuery, trust_label: str, columns: dict[str, np.ndarray],
             london_trust: float) -> list[str]:
    label = crime_label(tables, q)
    if q.measure in ("harm", "harm_rate"):
        label = f"{label} harm"
    elif q.measure == "density":
        label = f"{label} per km²"
    out = []
    for ratio, p, lo, hi, source, note in zip(columns["value_ratio"].astype(float), columns["trust"].astype(float),
                                              columns["trust_lo"].astype(float), columns["trust_hi"].astype(float),
                                              columns["trust_source_level"], columns["trust_note"], strict=True):
        sentence = classify.reason_sentence(label, ratio, trust_label, p, london_trust, trust_ci=(lo, hi),
                                            borough_figure=(q.level == "ward" and source == "borough"))
        if note and np.isnan(p):
            sentence += f" ({note})"
        out.append(sentence)
    return out


@lru_cache(maxsize=4)
def _weights(tables: AnalysisTables, level: str) -> object:
    from analysis.hotspots import queen_weights

    display = tables.wards_display if level == "ward" else tables.boroughs_display
    if display is None:
        raise AnalysisInputError("hot spots need the ward/borough display geometry, which these tables lack")
    id_column = "ward_code" if "ward_code" in display.columns else "area_code"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # islands are labelled "no neighbours" downstream
        return queen_weights(display.reset_index(drop=True), id_column=id_column)


def hotspot_columns(tables: AnalysisTables, table: pd.DataFrame, *, permutations: int = 999,
                    seed: int = 0, bivariate: bool = True) -> pd.DataFrame:
    """Return Gi* hot-spot and bivariate local Moran columns for a priority table (slow: call on demand).

    Gi* runs on the table's crime ``value`` with analytical p-values; the bivariate local
    Moran of crime against neighbours' trust uses ``permutations``. Both use queen contiguity
    on the display geometry and a Benjamini–Hochberg false discovery rate of 5%.

    Parameters
    ----------
    tables
        From ``measures.load_tables`` (needs ``wards_display``/``boroughs_display``).
    table
        A ``priority_table`` result (ward or borough level).
    permutations, seed
        For the local Moran's permutation test.
    bivariate
        Also compute the bivariate local Moran (about 0.6 s for wards with 999
        permutations); a map of Gi* hot spots alone can skip it.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``table``: ``gi_z``, ``gi_q``, ``hotspot`` ('hot', 'cold', 'not
        significant', 'no data', 'no neighbours'), ``lisa_quadrant`` and ``lisa_label``
        (absent when ``bivariate`` is False).
    """
    from analysis.hotspots import bivariate_local_moran, getis_ord_gi_star

    level = "ward" if table["area_code"].isin(tables.wards["area_code"]).all() else "borough"
    weights = _weights(tables, level)
    crime = pd.Series(table["value"].to_numpy(dtype=float), index=table["area_code"].astype(str))
    trust = pd.Series(table["trust"].to_numpy(dtype=float), index=table["area_code"].astype(str))
    gi = getis_ord_gi_star(crime, weights, permutations=0)
    codes = table["area_code"].astype(str)
    out = pd.DataFrame({
        "gi_z": codes.map(gi["z"]).to_numpy(), "gi_q": codes.map(gi["q"]).to_numpy(),
        "hotspot": codes.map(gi["label"]).fillna("no data").to_numpy(),
    }, index=table.index)
    if bivariate:
        lisa = bivariate_local_moran(crime, trust, weights, permutations=max(permutations, 1), seed=seed)
        out["lisa_quadrant"] = codes.map(lisa["quadrant"]).to_numpy()
        out["lisa_label"] = codes.map(lisa["label"]).fillna("no data").to_numpy()
    return out
