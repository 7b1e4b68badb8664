"""Map police.uk API crime records to the tidy STREET_CRIMES schema the bulk CSVs also use.

The API and the bulk files describe the same crimes differently: the API names crime
types by slug (``violent-crime``) and gives coordinates as strings, has no LSOA and no
force columns. Rows from both must count alike, so slugs become the CSV crime type names
and the force columns are filled by an approximation documented in :func:`crimes_to_frame`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

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


#: The fields of an API crime record this project reads; others are ignored.
RECORD = pa.struct([
    ("category", pa.string()),
    ("location_type", pa.string()),
    ("location", pa.struct([("latitude", pa.string()), ("longitude", pa.string()),
                            ("street", pa.struct([("name", pa.string())]))])),
    ("outcome_status", pa.struct([("category", pa.string())])),
    ("persistent_id", pa.string()),
    ("id", pa.int64()),
    ("month", pa.string()),
])
_WRAPPED = pa.schema([("crimes", pa.list_(RECORD))])


def parse_crimes(body: bytes) -> pa.Table:
    """Parse an API answer (a JSON list of crime records) straight into Arrow columns.

    pyarrow's JSON reader fills typed columns in C++, outside the GIL, without a Python
    object per record: a London month of ~90,000 records parses in a fraction of the time
    ``json.loads`` plus a loop over the dicts took, and concurrent answers parse in parallel.

    Returns
    -------
    pyarrow.Table
        ``id, persistent_id, month, category, location_type, latitude, longitude,
        street_name, outcome`` (coordinates still text, as the API sends them).

    Raises
    ------
    ValueError
        For malformed JSON, or JSON that is not a list of records.

    >>> parse_crimes(b'[{"id": 7, "category": "burglary", "location": null}]').column("id").to_pylist()
    [7]
    """
    try:
        table = pajson.read_json(
            io.BytesIO(b'{"crimes": ' + body + b"}"),
            read_options=pajson.ReadOptions(use_threads=False, block_size=len(body) + 64),
            parse_options=pajson.ParseOptions(explicit_schema=_WRAPPED, unexpected_field_behavior="ignore",
                                              newlines_in_values=True),
        )
    except pa.ArrowInvalid as e:
        raise ValueError(f"not a JSON list of crime records ({str(e).splitlines()[0][:120]})") from e
    lists = table.column("crimes").combine_chunks()
    if table.num_rows != 1 or lists.null_count:
        raise ValueError("not a JSON list of crime records")
    record = lists.flatten()
    fields = dict(zip([f.name for f in RECORD], record.flatten(), strict=True))
    location = dict(zip(["latitude", "longitude", "street"], fields["location"].flatten(), strict=True))
    return pa.table({
        "id": fields["id"], "persistent_id": fields["persistent_id"], "month": fields["month"],
        "category": fields["category"], "location_type": fields["location_type"],
        "latitude": location["latitude"], "longitude": location["longitude"],
        "street_name": location["street"].flatten()[0], "outcome": fields["outcome_status"].flatten()[0],
    })


def _blank_to_null(values: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.if_else(pc.equal(values, ""), None, values)


def _coordinate(text: pa.ChunkedArray) -> pa.ChunkedArray:
    """Text coordinates as floats; a value that is not a number becomes null, as a missing one."""
    try:
        return pc.cast(text, pa.float64())
    except pa.ArrowInvalid:
        return pa.chunked_array([pd.to_numeric(pd.Series(text.to_numpy(zero_copy_only=False)), errors="coerce")])


def _series(values: pa.Array | pa.ChunkedArray) -> pd.Series:
    """A pandas column without a copy: Arrow-backed text, numpy floats, nullable integers."""
    if pa.types.is_string(values.type):
        return pd.Series(pd.arrays.ArrowStringArray(values))
    if pa.types.is_floating(values.type):
        return pd.Series(values.to_numpy(zero_copy_only=False), dtype="float64")
    return pd.Series(pd.array(values.to_numpy(zero_copy_only=False), dtype="Int64"))


def crimes_to_frame(crimes: pa.Table, *, categories: Mapping[str, str], source: str,
                    default_force: str = MET) -> pd.DataFrame:
    """Build a STREET_CRIMES frame from parsed API crimes (see :func:`parse_crimes`).

    Parameters
    ----------
    crimes
        ``crimes-street`` or ``crimes-no-location`` records, as parsed.
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
    BTP station points are bare ("Kings Cross (station)") and get the CSVs' "On or near "
    prefix. An unknown slug becomes a readable name ("new-thing" → "New thing").
    """
    if crimes.num_rows == 0:
        return STREET_CRIMES.empty()
    slugs = pc.fill_null(crimes.column("category"), "").combine_chunks().dictionary_encode()
    names = pa.array([categories.get(s) or s.replace("-", " ").capitalize() for s in slugs.dictionary.to_pylist()],
                     pa.string())
    street = crimes.column("street_name")
    location = pc.if_else(pc.starts_with(street, "On or near"), street,
                          pc.binary_join_element_wise("On or near ", street, ""))
    force = pc.if_else(pc.fill_null(pc.equal(crimes.column("location_type"), "BTP"), False), BTP, default_force)
    n = crimes.num_rows
    columns = {
        "crime_id": _blank_to_null(crimes.column("persistent_id")),
        "api_id": crimes.column("id"),
        "month": crimes.column("month"),
        "reported_by": force,
        "falls_within": force,
        "longitude": _coordinate(crimes.column("longitude")),
        "latitude": _coordinate(crimes.column("latitude")),
        "location": location,
        "location_type": _blank_to_null(crimes.column("location_type")),
        "lsoa_code": pa.nulls(n, pa.string()),
        "lsoa_name": pa.nulls(n, pa.string()),
        "crime_type": names.take(slugs.indices),
        "last_outcome": _blank_to_null(crimes.column("outcome")),
        "dataset": pa.array(["api"] * n, pa.string()),
        "source_file": pa.array([source] * n, pa.string()),
    }
    frame = pd.DataFrame({name: _series(values) for name, values in columns.items()})
    return STREET_CRIMES.conform(frame)
