"""Map police.uk API crime records to the tidy STREET_CRIMES schema the bulk CSVs also use.

The API and the bulk files describe the same crimes differently: the API names crime
types by slug (``violent-crime``) and gives coordinates as strings, has no LSOA and no
force columns. Rows from both must count alike, so slugs become the CSV crime type names
and the force columns are filled by an approximation documented in :func:`records_to_frame`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from data_sources.schemas import STREET_CRIMES

MET = "Metropolitan Police Service"
CITY = "City of London Police"
BTP = "British Transport Police"

#: API slug → police.uk crime type name, used when the ``crime-categories`` answer for a
#: month lacks a slug (older months used some slugs no longer listed).
FALLBACK_CATEGORIES: dict[str, str] = {
    "anti-social-behaviour": "Anti-social behaviour",
    "bicycle-theft": "Bicycle theft",
    "burglary": "Burglary",
    "criminal-damage-arson": "Criminal damage and arson",
    "drugs": "Drugs",
    "other-theft": "Other theft",
    "possession-of-weapons": "Possession of weapons",
    "public-order": "Public order",
    "robbery": "Robbery",
    "shoplifting": "Shoplifting",
    "theft-from-the-person": "Theft from the person",
    "vehicle-crime": "Vehicle crime",
    "violent-crime": "Violence and sexual offences",
    "violence-and-sexual-offences": "Violence and sexual offences",
    "other-crime": "Other crime",
    "public-disorder-weapons": "Public disorder and weapons",
}


def category_names(answer: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """Slug → name from a ``crime-categories`` answer, over the fallback table.

    ``all-crime`` is a query-only pseudo category and is left out.
    """
    names = dict(FALLBACK_CATEGORIES)
    for item in answer or ():
        url, name = item.get("url"), item.get("name")
        if url and name and url != "all-crime":
            names[str(url)] = str(name)
    return names


def _location_label(street_name: str | None) -> str | None:
    """Label a snap point as the bulk CSVs do.

    The API already says "On or near X" for street snap points, but BTP station points are
    bare ("Kings Cross (station)"), so those get the prefix.
    """
    if street_name is None:
        return None
    return street_name if street_name.startswith("On or near") else f"On or near {street_name}"


def _force(location_type: str | None, default_force: str) -> str:
    return BTP if location_type == "BTP" else default_force


def records_to_frame(
    records: Iterable[Mapping[str, Any]],
    *,
    categories: Mapping[str, str],
    source: str,
    default_force: str = MET,
) -> pd.DataFrame:
    """Build a STREET_CRIMES frame from API crime records.

    Parameters
    ----------
    records
        API crime objects (``crimes-street`` or ``crimes-no-location`` answers).
    categories
        Slug → crime type name, from :func:`category_names`.
    source
        Short description of the request(s), kept in ``source_file`` for provenance.
    default_force
        Force for ``location_type == "Force"`` rows and rows without a location. The API
        does not say which force recorded a crime: ``"BTP"`` rows are British Transport
        Police, every other row is credited to ``default_force`` for both ``reported_by``
        and ``falls_within`` — an approximation (the refresh corrects City of London points
        afterwards by location).

    Notes
    -----
    ``crime_id`` is the ``persistent_id`` or <NA> when it is "" (anti-social behaviour
    and BTP rows); ``api_id`` is the record ``id``; ``lsoa_*`` are <NA> (the API has none).
    An unknown slug becomes a readable name ("new-thing" → "New thing") rather than failing.
    """
    rows = []
    for r in records:
        loc = r.get("location") or {}
        street = (loc.get("street") or {}).get("name")
        outcome = r.get("outcome_status") or {}
        slug = str(r.get("category", ""))
        rows.append((
            r.get("persistent_id") or None,
            r.get("id"),
            r.get("month"),
            _force(r.get("location_type"), default_force),
            loc.get("longitude"),
            loc.get("latitude"),
            _location_label(street),
            r.get("location_type") or None,
            categories.get(slug) or slug.replace("-", " ").capitalize(),
            outcome.get("category") or None,
        ))
    if not rows:
        return STREET_CRIMES.empty()
    cols = ["crime_id", "api_id", "month", "reported_by", "longitude", "latitude", "location",
            "location_type", "crime_type", "last_outcome"]
    frame = pd.DataFrame.from_records(rows, columns=cols)
    frame["falls_within"] = frame["reported_by"]
    for c in ("longitude", "latitude"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(np.float64)
    frame["lsoa_code"] = pd.NA
    frame["lsoa_name"] = pd.NA
    frame["dataset"] = "api"
    frame["source_file"] = source
    return STREET_CRIMES.conform(frame)
