"""The one registry of crime measures: what each is called, how it behaves, where it lives.

Before this registry the same facts were decided in several places (the sidebar, the measures
table, the overview's trend chart, the flag rule). Ask here instead: a new measure is one
entry, and every page, export and rule follows it.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import AnalysisInputError

#: Residents per which rates are expressed.
PER = 1000


@dataclass(frozen=True)
class Measure:
    """One crime measure.

    Attributes
    ----------
    id
        Stable id used in queries, URLs and the CLI ('rate').
    label
        Analyst wording ('crimes per 1,000 residents').
    plain_label
        Wording for a community meeting ('Crimes for every 1,000 people living here').
    column
        Column of the measures table that holds it.
    basis
        What it sums, 'count' or 'harm': changes over time are compared on this.
    ratio_of
        The measure an area's London ratio uses: a total (count, harm) has no London ratio
        of its own, so it is compared per resident.
    trend_column
        Column of the monthly trend that shows it ('count', 'rate' or 'harm').
    has_interval
        It rests on a Poisson count with an exact interval, so the interval flag rule applies.
    can_smooth
        Empirical Bayes smoothing toward the borough applies (at ward level).
    in_words
        What follows the crime selection in a reason sentence ('', ' harm', ' per km²').
    """

    id: str
    label: str
    plain_label: str
    column: str
    basis: str
    ratio_of: str
    trend_column: str
    has_interval: bool = False
    can_smooth: bool = False
    in_words: str = ""

    def smoothed(self, requested: bool, level: str) -> bool:
        """Whether a request to smooth is honoured for this measure at this level."""
        return requested and self.can_smooth and level == "ward"


MEASURES: dict[str, Measure] = {m.id: m for m in (
    Measure("count", "crimes", "Number of crimes", "count", basis="count", ratio_of="rate", trend_column="count",
            has_interval=True),
    Measure("rate", "crimes per 1,000 residents", "Crimes for every 1,000 people living here", "rate",
            basis="count", ratio_of="rate", trend_column="rate", has_interval=True, can_smooth=True),
    Measure("harm", "harm (CCHI days)", "How much harm crime caused", "harm", basis="harm", ratio_of="harm_rate",
            trend_column="harm", in_words=" harm"),
    Measure("harm_rate", "harm per 1,000 residents (CCHI days)", "Harm for every 1,000 people living here",
            "harm_rate", basis="harm", ratio_of="harm_rate", trend_column="rate", in_words=" harm"),
    Measure("density", "crimes per km²", "Crimes per square kilometre", "per_km2", basis="count",
            ratio_of="density", trend_column="rate", in_words=" per km²"),
)}


def measure(measure_id: str) -> Measure:
    """Return the registered measure, or raise AnalysisInputError naming the choices.

    Examples
    --------
    >>> measure("rate").has_interval, measure("harm").ratio_of
    (True, 'harm_rate')
    """
    try:
        return MEASURES[measure_id]
    except KeyError:
        raise AnalysisInputError(f"unknown measure {measure_id!r}; choose from {list(MEASURES)!r}") from None
