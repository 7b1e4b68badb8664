"""The priority table: crime and trust per area, the 3×3 class, the flag, its robustness and a reason.

"The highest crime, lowest trust communities" becomes a rule with visible parameters: a
crime level (the chosen measure), a trust level (the chosen survey measure), terciles across
London for the 3×3 class, and a flag either by percentiles (crime at or above ``crime_pct``,
trust at or below ``trust_pct``) or by intervals (the crime rate's interval above London's
rate and the trust interval below London's). Each flag comes with how often it holds in
earlier periods of the same length and under neighbouring thresholds, and one sentence saying
why.

The work is in two explicit stages, so a caller can keep the first and redo only the second:
``priority_base`` (crime measures, trust, reasons, the earlier periods; what a threshold
change does not alter) and ``flag_areas`` (classes, flags, robustness; a few milliseconds).
``priority_table`` runs both. Nothing here caches: the UI layer does.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analysis import classify
from analysis.crime import CrimeMeasures, CrimeMeta, crime_measures, period_values
from analysis.periods import shift_month
from analysis.query import CrimeQuery, ResolvedQuery, resolved
from analysis.registry import PER, Measure, measure
from analysis.stats import poisson_rate_ci, wilson_ci
from analysis.tables import AnalysisTables
from analysis.trust import N_PER_QUARTER, measure_label, trust_for_areas
from core.errors import AnalysisInputError

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

    def for_base(self) -> FlagSettings:
        """These settings with the thresholds at their defaults: what ``priority_base`` depends on.

        Two settings with the same ``for_base()`` share one base, so a cache keyed on it
        is not recomputed when only a threshold moves.
        """
        default = FlagSettings()
        return replace(self, method=default.method, crime_pct=default.crime_pct, trust_pct=default.trust_pct,
                       neighbour_step=default.neighbour_step)

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


#: The columns a priority table adds to the measures, in order, and what each holds.
PRIORITY_COLUMN_DOCS: dict[str, str] = {
    "trust": "share agreeing with the survey measure (0-1); at ward level the borough's figure",
    "trust_lo": "lower end of the Wilson 95% interval of trust",
    "trust_hi": "upper end of the Wilson 95% interval of trust",
    "trust_n": "interviews behind the figure (published, else the assumed 4 quarters × n_per_quarter)",
    "trust_source_level": "'ward' or 'borough': whose figure trust is; empty where not surveyed",
    "trust_note": "why trust is missing or borrowed (e.g. the City of London is not surveyed by MOPAC)",
    "trust_period_end": "last day of the survey's rolling year",
    "trust_change_since_plan": "trust minus its value in the year to 31 Dec 2022, in proportion points",
    "london_trust": "London's trust figure for the same period",
    "crime_class": "crime tercile across the areas shown: low, mid, high (or no data)",
    "trust_class": "trust tercile across the areas shown: low, mid, high (or no data)",
    "class_3x3": "C<crime>-T<trust>, 1 = low to 3 = high; C3-T1 is high crime, low trust",
    "class_label": "class_3x3 in words",
    "flagged": "true when the flag rule picks the area (high crime, low trust)",
    "robust_periods_k": "earlier periods of the same length in which the area is also flagged",
    "robust_periods_n": "earlier periods of the same length with data",
    "robustness_periods": "robust_periods_k of robust_periods_n in words",
    "robust_settings_m": "of 9 neighbouring thresholds (or confidence levels), how many also flag the area",
    "robustness_settings": "robust_settings_m in words",
    "reason": "one sentence saying why, with the trust interval",
    "rank": "1 = highest crime value among flagged areas, then the rest",
}
PRIORITY_EXTRA_COLUMNS = list(PRIORITY_COLUMN_DOCS)


@dataclass(frozen=True)
class EarlierPeriod:
    """The query's measure for one earlier period of the same length, for the robustness count."""

    start: str
    end: str
    value: np.ndarray
    count: np.ndarray
    london_value: float
    london_rate: float


@dataclass(frozen=True, eq=False)
class PriorityBase:
    """What a threshold change does not alter: crime and trust per area, reasons and earlier periods.

    Attributes
    ----------
    crime
        The crime measures of the query's period (areas, London, what they are about).
    columns
        Per area, in ``crime.areas`` order: the crime columns, the trust columns of
        ``PRIORITY_EXTRA_COLUMNS`` and ``reason``.
    settings
        The settings it was made with (``FlagSettings.for_base()``).
    trust_label, trust_period_end
        The survey measure's published label and the end of its rolling year ('YYYY-MM-DD').
    london_rate, london_trust
        London's crime rate and trust figure.
    earlier
        Up to ``settings.robustness_periods`` earlier periods with data.
    """

    crime: CrimeMeasures
    columns: dict[str, np.ndarray]
    settings: FlagSettings
    trust_label: str
    trust_period_end: str
    london_rate: float
    london_trust: float
    earlier: tuple[EarlierPeriod, ...]

    def floats(self, name: str) -> np.ndarray:
        return self.columns[name].astype(float)


@dataclass(frozen=True, eq=False)
class PriorityTable:
    """The priority table and everything an export header or a page caption says about it.

    Attributes
    ----------
    table
        One row per area, flagged areas first (columns in ``priority_table``'s docstring).
    crime
        What the crime numbers are about (period, types, notes).
    london
        London's row of crime measures.
    flags
        The settings in force.
    trust_label, trust_period_end
        The survey measure and the end of its rolling year.
    robustness_periods
        The earlier periods the flag was re-run for.
    class_warnings
        Warnings from classing (e.g. tied terciles because ward trust is the borough's).
    method_version
        ``METHOD_VERSION`` of the rules that made it.
    """

    table: pd.DataFrame
    crime: CrimeMeta
    london: pd.Series
    flags: FlagSettings
    trust_label: str
    trust_period_end: str
    robustness_periods: tuple[tuple[str, str], ...]
    class_warnings: tuple[str, ...]
    method_version: str = METHOD_VERSION

    def with_table(self, table: pd.DataFrame) -> PriorityTable:
        """The same result with extra columns joined to its table (e.g. hot spots)."""
        return replace(self, table=table)


_TRUST_COLUMNS = ("trust", "trust_lo", "trust_hi", "trust_n", "trust_source_level", "trust_note", "trust_period_end",
                  "trust_change_since_plan", "london_trust")


def priority_base(tables: AnalysisTables, q: CrimeQuery | ResolvedQuery, flags: FlagSettings) -> PriorityBase:
    """Compute what the flag needs and a threshold change does not alter.

    Parameters
    ----------
    tables
        From ``analysis.tables.load_tables``.
    q
        The crime query; a ``CrimeQuery`` is resolved here (``analysis.query.resolve``).
    flags
        Only the trust measure and period, ``n_per_quarter`` and ``robustness_periods``
        are used (see ``FlagSettings.for_base``).

    Returns
    -------
    PriorityBase

    Raises
    ------
    AnalysisInputError
        For an invalid query, trust measure or trust period.
    """
    settings = flags.for_base()
    settings.check()
    r = resolved(tables, q)
    crime, trust = _crime_and_trust(tables, r, settings)
    columns = {c: crime.areas[c].to_numpy() for c in crime.areas.columns}
    for col in _TRUST_COLUMNS:
        columns[col] = trust[col].to_numpy()
    trust_label = measure_label(tables, settings.trust_measure)
    london_trust = float(trust["london_trust"].iloc[0])
    columns["reason"] = np.array(_reasons(r, trust_label, columns, london_trust), dtype=object)
    return PriorityBase(crime, columns, settings, trust_label,
                        str(pd.Timestamp(trust["trust_period_end"].iloc[0]).date()), float(crime.london["rate"]),
                        london_trust, _earlier(tables, r, settings.robustness_periods))


def _crime_and_trust(tables: AnalysisTables, r: ResolvedQuery,
                     flags: FlagSettings) -> tuple[CrimeMeasures, pd.DataFrame]:
    """The crime measures and the trust figures of every area, in the same order."""
    crime = crime_measures(tables, r)
    trust = trust_for_areas(tables, flags.trust_measure, flags.trust_period, r.level,
                            n_per_quarter=float(flags.n_per_quarter))
    return crime, trust


@dataclass(frozen=True, eq=False)
class AreaFlags:
    """The flag rule over one period, without classes, robustness or reasons: the quick path.

    ``flagged`` follows the order of ``crime.areas`` and ``trust`` (from
    ``trust_for_areas``); it is what ``priority_table`` flags for the same settings.
    """

    crime: CrimeMeasures
    trust: pd.DataFrame
    flagged: np.ndarray
    trust_label: str
    trust_period_end: str


def area_flags(tables: AnalysisTables, q: CrimeQuery | ResolvedQuery, flags: FlagSettings) -> AreaFlags:
    """Apply the flag rule to one period (the same rule and inputs as ``priority_table``).

    A ``CrimeQuery`` is resolved here (``analysis.query.resolve``).

    Raises
    ------
    AnalysisInputError
        For an invalid query, setting, trust measure or period.
    """
    check_flags(q.measure, flags)
    crime, trust = _crime_and_trust(tables, resolved(tables, q), flags)
    areas = crime.areas
    flagged = _flag(areas["value"].to_numpy(dtype=float), trust["trust"].to_numpy(dtype=float),
                    areas["count"].to_numpy(dtype=float), areas["population"].to_numpy(dtype=float),
                    trust["trust_n"].to_numpy(dtype=float), float(crime.london["rate"]),
                    float(trust["london_trust"].iloc[0]), flags)
    return AreaFlags(crime, trust, flagged, measure_label(tables, flags.trust_measure),
                     str(pd.Timestamp(trust["trust_period_end"].iloc[0]).date()))


def _earlier(tables: AnalysisTables, r: ResolvedQuery, periods: int) -> tuple[EarlierPeriod, ...]:
    """Up to ``periods`` earlier periods of the query's length, where the data has them."""
    period = r.period
    n = period.months
    out = []
    for k in range(1, periods + 1):
        s, e = shift_month(period.start, -k * n), shift_month(period.end, -k * n)
        values = period_values(tables, r, s, e)
        if values is not None:
            out.append(EarlierPeriod(s, e, values.value, values.count, values.london_value, values.london_rate))
    return tuple(out)


def _flag(value: np.ndarray, trust: np.ndarray, count: np.ndarray, pop: np.ndarray, trust_n: np.ndarray,
          london_rate: float, london_trust: float, flags: FlagSettings,
          level: float = 0.95) -> np.ndarray:
    """Return the flag for one crime vector; the interval rule uses the per-resident rate interval."""
    if flags.method == "percentile":
        return classify.flag_high_crime_low_trust(value, trust, crime_pct=flags.crime_pct, trust_pct=flags.trust_pct)
    _, lo, hi = poisson_rate_ci(np.nan_to_num(count, nan=0.0), pop, per=PER, level=level)
    lo = np.where(np.isnan(count), np.nan, lo)
    t_lo, t_hi = wilson_ci(trust, trust_n, level=level)
    return classify.flag_high_crime_low_trust(value, trust, method="interval", crime_ci=(lo, hi),
                                              trust_ci=(t_lo, t_hi), london_crime=london_rate,
                                              london_trust=london_trust)


def check_flags(crime_measure: str | Measure, flags: FlagSettings) -> None:
    """Raise AnalysisInputError for a setting out of range or a rule the crime measure cannot use.

    ``crime_measure`` is a measure id (a ``CrimeQuery``'s) or a registered measure (a ``ResolvedQuery``'s).
    """
    flags.check()
    if flags.method != "interval":
        return
    chosen = measure(crime_measure) if isinstance(crime_measure, str) else crime_measure
    if not chosen.has_interval:
        raise AnalysisInputError(f"the interval rule needs a measure with an interval ('count' or 'rate'), "
                                 f"not {chosen.id!r}; use the percentile rule for harm or density")


def flag_areas(base: PriorityBase, flags: FlagSettings) -> PriorityTable:
    """Class and flag the areas of a base under the thresholds of ``flags`` (a few milliseconds).

    Raises
    ------
    AnalysisInputError
        For a setting out of range, the interval rule with a measure without an interval,
        or settings whose trust or robustness part differs from the base's.
    """
    check_flags(base.crime.meta.measure, flags)
    if flags.for_base() != base.settings:
        raise AnalysisInputError(f"these flag settings need a new base: the base was made for {base.settings!r}")
    value, count, pop = base.floats("value"), base.floats("count"), base.floats("population")
    t, t_n = base.floats("trust"), base.floats("trust_n")
    l_rate, l_trust = base.london_rate, base.london_trust

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        c_class = classify.tercile_classes(value)
        t_class = classify.tercile_classes(t)
    codes, labels = classify.bivariate_class(c_class, t_class)
    flagged = _flag(value, t, count, pop, t_n, l_rate, l_trust, flags)

    earlier = base.earlier
    if earlier:
        matrix = np.column_stack([_flag(p.value, t, p.count, pop, t_n, p.london_rate, l_trust, flags)
                                  for p in earlier])
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
    return PriorityTable(pd.DataFrame(columns), base.crime.meta, base.crime.london, flags, base.trust_label,
                         base.trust_period_end, tuple((p.start, p.end) for p in earlier),
                         tuple(str(w.message) for w in caught))


def priority_table(tables: AnalysisTables, q: CrimeQuery | ResolvedQuery, flags: FlagSettings) -> PriorityTable:
    """Return the priority table: one row per ward or borough, flagged areas first.

    Parameters
    ----------
    tables
        From ``analysis.tables.load_tables``.
    q
        The crime query (source, level, selection, period, measure); a ``CrimeQuery`` is
        checked and resolved here, once (``analysis.query.resolve``), and everything below
        takes the resolved query.
    flags
        Thresholds, trust measure and robustness settings.

    Returns
    -------
    PriorityTable
        ``table`` has ``analysis.crime.MEASURE_COLUMNS`` followed by
        ``PRIORITY_EXTRA_COLUMNS``: trust with its Wilson interval and
        ``trust_source_level`` ('borough' for wards unless ward figures are loaded; <NA>
        for the unsurveyed City of London); ``crime_class`` and ``trust_class``
        ('low'/'mid'/'high' terciles across the areas shown, or 'no data'); ``class_3x3``
        ('C3-T1' = high crime, low trust) and ``class_label``; ``flagged``;
        ``robust_periods_k`` of ``robust_periods_n`` earlier periods of the same length with
        data in which the area is also flagged (trust held at the chosen period) and the
        text ``robustness_periods``; ``robust_settings_m`` of 9 neighbouring settings
        (percentile rule: thresholds ± ``neighbour_step``; interval rule: 90/95/99% levels
        for crime × trust) and ``robustness_settings``; a plain-English ``reason``; ``rank``
        (1 = highest crime value among flagged areas, then the rest).

    Raises
    ------
    AnalysisInputError
        For an invalid query or setting, e.g. the interval rule with a harm or density
        measure (those have no interval).
    """
    check_flags(q.measure, flags)
    return flag_areas(priority_base(tables, resolved(tables, q), flags), flags)


def _interval_grid(count: np.ndarray, pop: np.ndarray, trust: np.ndarray, trust_n: np.ndarray, london_rate: float,
                   london_trust: float, value: np.ndarray) -> np.ndarray:
    """How many of the 3×3 (crime level × trust level) interval settings flag each area."""
    crime_lower = []
    for level in INTERVAL_LEVELS:
        _, lo, _ = poisson_rate_ci(np.nan_to_num(count, nan=0.0), pop, per=PER, level=level)
        crime_lower.append(np.where(np.isnan(count), np.nan, lo))
    trust_upper = [wilson_ci(trust, trust_n, level=level)[1] for level in INTERVAL_LEVELS]
    total = np.zeros(len(value), dtype=np.int64)
    with np.errstate(invalid="ignore"):
        for lo in crime_lower:
            for hi in trust_upper:
                total += (lo > london_rate) & (hi < london_trust)
    return total


def _reasons(r: ResolvedQuery, trust_label: str, columns: dict[str, np.ndarray], london_trust: float) -> list[str]:
    label = r.crime_label + r.measure.in_words
    out = []
    for ratio, p, lo, hi, source, note in zip(columns["value_ratio"].astype(float), columns["trust"].astype(float),
                                              columns["trust_lo"].astype(float), columns["trust_hi"].astype(float),
                                              columns["trust_source_level"], columns["trust_note"], strict=True):
        sentence = classify.reason_sentence(label, ratio, trust_label, p, london_trust, trust_ci=(lo, hi),
                                            borough_figure=(r.level == "ward" and source == "borough"))
        if note and np.isnan(p):
            sentence += f" ({note})"
        out.append(sentence)
    return out
