"""Individual police.uk crimes: squares of crimes for the map and the mix of recorded outcomes.

Only a built store holds street-level rows (the snapshot holds counts). These functions take
the rows as read from the store, so they run the same in a page, a notebook or a test.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

#: Crimes are binned on a grid of about 500 m (degrees of longitude and latitude in London).
BIN_LON, BIN_LAT = 0.007, 0.0045
NO_OUTCOME = "no outcome recorded"
OUTCOME_COLUMNS = ["ward_code", "borough_code", "crime_type", "last_outcome"]


def street_bins(rows: pd.DataFrame) -> pd.DataFrame:
    """Count crimes with a location in squares of about 500 m.

    Parameters
    ----------
    rows
        ``longitude, latitude`` per crime (NaN for crimes without a location, left out).

    Returns
    -------
    pandas.DataFrame
        ``lon, lat`` (the square's centre, 4 dp), ``n`` crimes and ``rank`` (0..1, the
        share of squares with at most as many crimes), one row per square holding any.

    Examples
    --------
    >>> rows = pd.DataFrame({"longitude": [-0.1, -0.1001, -0.2], "latitude": [51.5, 51.5, float("nan")]})
    >>> street_bins(rows)[["lon", "lat", "n"]].values.tolist()
    [[-0.098, 51.498, 2.0]]
    """
    located = rows[["longitude", "latitude"]].dropna()
    gx = (located["longitude"] / BIN_LON).round().astype(int)
    gy = (located["latitude"] / BIN_LAT).round().astype(int)
    bins = pd.DataFrame({"gx": gx, "gy": gy}).value_counts().rename("n").reset_index()
    return pd.DataFrame({"lon": (bins["gx"] * BIN_LON).round(4), "lat": (bins["gy"] * BIN_LAT).round(4),
                         "n": bins["n"], "rank": bins["n"].rank(pct=True)})


def outcome_counts(rows: pd.DataFrame) -> pd.DataFrame:
    """Count crimes per ward, borough, type and last outcome (a blank outcome is ``NO_OUTCOME``).

    ``rows`` has the columns ``OUTCOME_COLUMNS``; the result adds ``n``.
    """
    rows = rows[OUTCOME_COLUMNS].assign(
        last_outcome=rows["last_outcome"].fillna(NO_OUTCOME).replace("", NO_OUTCOME))
    return rows.groupby(OUTCOME_COLUMNS, dropna=False, observed=True).size().rename("n").reset_index()


def outcome_mix(counts: pd.DataFrame, area_code: str, span: str,
                crime_types: Sequence[str] = ()) -> tuple[pd.DataFrame | None, str]:
    """Return the last-outcome mix of an area's crimes, and a sentence on what it covers.

    Parameters
    ----------
    counts
        From ``outcome_counts`` for the months of ``span``.
    area_code
        A ward or a borough.
    span
        The months the counts cover, in words ('2024-03–2025-02').
    crime_types
        police.uk types to keep; empty for all.

    Returns
    -------
    (pandas.DataFrame or None, str)
        ``outcome, crimes, share`` (share of crimes with a recorded outcome), largest first;
        None when no crime has an outcome, with the reason as the sentence.
    """
    column = "ward_code" if area_code in set(counts["ward_code"]) else "borough_code"
    here = counts[counts[column] == area_code]
    if crime_types:
        here = here[here["crime_type"].isin(crime_types)]
    total = int(here["n"].sum())
    known = here[here["last_outcome"] != NO_OUTCOME]
    mix = known.groupby("last_outcome")["n"].sum().sort_values(ascending=False)
    if mix.empty:
        return None, f"No police.uk crime here in {span} has an outcome recorded ({total:,} crimes)."
    frame = pd.DataFrame({"outcome": mix.index.astype(str), "crimes": mix.to_numpy(dtype=int),
                          "share": mix.to_numpy(dtype=float) / mix.sum()})
    kinds = sorted(here["crime_type"].dropna().unique())
    types = ", ".join(kinds) if len(kinds) <= 3 else f"{len(kinds)} crime types"
    return frame, (f"police.uk street-level crimes, {span} ({types}): {int(mix.sum()):,} of {total:,} have an "
                   "outcome recorded; the latest outcome is shown, and recent crimes are often still "
                   "under investigation.")
