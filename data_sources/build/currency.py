"""How current each source is, in one block of the manifest the screen can read as it is.

``manifest["currency"]`` (written by every build) has one entry per source::

    {
      "police_uk":  {"label", "publisher", "first", "newest", "months", "types_note",
                     "gaps": [{"month", "count", "expected", "reason", "missing"}],
                     "fetched": [{"what", "from", "at", "sha256"}]},
      "mps_ward":   {... the same keys, "types_note" naming the offence groups,
                     "revisions": {"months_revised": [...], "cells_changed": n}},
      "pas":        {"label", "publisher", "first", "newest", "quarters", "gaps": [],
                     "fetched": [...],
                     "by_publication": {"MOPAC PAS workbook": {"first", "newest", "figures"}, ...}},
      "pas_london": {... as "pas", for the London-wide figures},
    }

``first``/``newest`` are ``YYYY-MM`` (PAS: the month its quarter ends); ``gaps`` lists the
months found empty or far below their neighbours (``data_sources.coverage``), ``missing``
saying whether the month is absent or short in the data (true: show it as missing, not
as a drop) or was covered by an earlier release (false: reported only); ``fetched`` says
where and when each downloaded piece came from and its checksum.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from data_sources.read.points_2022 import TYPE_LABELS

LABELS = {
    "police_uk": ("police.uk street-level crime", "police.uk (Home Office, from the forces' records)"),
    "mps_ward": ("Met ward-level recorded crime", "Metropolitan Police Service, via the London Datastore"),
    "pas": ("MOPAC Public Attitude Survey, boroughs", "Mayor's Office for Policing and Crime (MOPAC)"),
    "pas_london": ("MOPAC Public Attitude Survey, London", "Mayor's Office for Policing and Crime (MOPAC)"),
}
#: A type counts as covered in a month holding at least this share of its largest month ...
COVERED_SHARE = 0.25
#: ... whose largest month holds at least this many crimes (one small force's month of a type
#: London-wide data never has, like the City's anti-social behaviour in 2023-03, is not coverage).
MIN_LARGEST = 100
ASB = "Anti-social behaviour"
#: police.uk's other thirteen crime types.
NOT_ASB = set(TYPE_LABELS.values())


def _span(months: list[str]) -> str:
    return months[0] if len(months) == 1 else f"{months[0]}–{months[-1]}"


def types_note(counts: pd.DataFrame) -> str:
    """Which crime types each stretch of months covers, in plain words.

    A type is covered in a month holding at least :data:`COVERED_SHARE` of its largest
    month (so one force's month of all types inside another's burglary-only files does
    not read as all types for London).
    """
    if counts.empty:
        return "no months"
    table = counts.groupby(["month", "crime_type"], observed=True)["count"].sum().unstack(fill_value=0)
    covered = table.ge(table.max() * COVERED_SHARE) & table.max().ge(MIN_LARGEST)
    runs: list[tuple[str, list[str]]] = []
    for month, row in covered.iterrows():
        types = sorted(row.index[row.to_numpy()])
        if set(types) >= NOT_ASB:
            words = "all crime types" if ASB in types else "all types but anti-social behaviour"
        else:
            words = ", ".join(types) if len(types) <= 3 else f"{len(types)} crime types"
        if runs and runs[-1][0] == words:
            runs[-1][1].append(str(month))
        else:
            runs.append((words, [str(month)]))
    return "; ".join(f"{_span(months)}: {words}" for words, months in runs)


def _series(months: list[str]) -> dict[str, Any]:
    months = sorted(months)
    return {"first": months[0] if months else None, "newest": months[-1] if months else None, "months": len(months)}


def crime_currency(source: str, counts: pd.DataFrame, gaps: list[dict[str, Any]],
                   fetched: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The currency entry of a crime source (``police_uk`` or ``mps_ward``)."""
    label, publisher = LABELS[source]
    if source == "police_uk":
        note = types_note(counts)
    else:
        note = (f"{counts['crime_group'].nunique()} Home Office offence groups, {counts['crime_type'].nunique()} "
                "subgroups in all; the Met moved from CRIS to CONNECT on 28 Feb 2024, renaming some subgroups")
    return {"label": label, "publisher": publisher, **_series(list(counts["month"].astype(str).unique())),
            "types_note": note, "gaps": gaps, "fetched": fetched, **extra}


def trust_currency(trust: pd.DataFrame, fetched: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The ``pas`` (borough) and ``pas_london`` currency entries."""
    out = {}
    for key, level in (("pas", "borough"), ("pas_london", "london")):
        rows = trust[trust["area_level"] == level]
        ends = sorted({d.strftime("%Y-%m") for d in rows["period_end"]})
        by_pub = {}
        for pub, part in rows.groupby("publication", observed=True, sort=False):
            quarters = sorted({d.strftime("%Y-%m") for d in part["period_end"]})
            by_pub[str(pub)] = {"first": quarters[0], "newest": quarters[-1], "figures": len(part),
                                "measures": sorted(part["measure_id"].astype(str).unique())}
        label, publisher = LABELS[key]
        series = _series(ends)
        out[key] = {"label": label, "publisher": publisher, "first": series["first"], "newest": series["newest"],
                    "quarters": series["months"], "gaps": [], "fetched": fetched if key == "pas" else [],
                    "by_publication": dict(sorted(by_pub.items(), key=lambda kv: kv[1]["first"]))}
    return out


def gap_months(manifest: dict[str, Any], source: str) -> set[str]:
    """Months of ``source`` to show as missing (not as a drop): its gaps marked ``missing``.

    Examples
    --------
    >>> gap_months({"currency": {"police_uk": {"gaps": [{"month": "2024-05", "missing": True}]}}}, "police_uk")
    {'2024-05'}
    >>> gap_months({}, "mps_ward")
    set()
    """
    gaps = manifest.get("currency", {}).get(source, {}).get("gaps", [])
    return {g["month"] for g in gaps if g.get("missing", True)}


def month_words(month: str | None) -> str:
    """'2026-03' → 'March 2026' (for a meeting, not a database).

    Examples
    --------
    >>> month_words("2026-03"), month_words(None)
    ('March 2026', 'unknown')
    """
    return pd.Period(month, "M").strftime("%B %Y") if month else "unknown"


def _currency(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest's currency block, or one worked out from the months of an older manifest."""
    if manifest.get("currency"):
        return manifest["currency"]
    sources = manifest.get("sources", {})
    police = sorted({m for k in ("police_uk_street", "police_uk_fetched", "police_uk_points_2022")
                     for m in sources.get(k, {}).get("months", [])})
    return {key: {"label": LABELS[key][0], "publisher": LABELS[key][1], "newest": months[-1] if months else None,
                  "first": months[0] if months else None, "gaps": []}
            for key, months in (("police_uk", police), ("mps_ward", sources.get("mps_ward", {}).get("months", [])),
                                ("pas", sources.get("pas", {}).get("months", [])))}


def currency_line(manifest: dict[str, Any]) -> str:
    """How current the data is, in one sentence a meeting understands.

    Examples
    --------
    >>> currency_line({"currency": {"police_uk": {"newest": "2025-02", "gaps": []},
    ...                             "mps_ward": {"newest": "2025-06", "gaps": []},
    ...                             "pas": {"newest": "2026-03", "gaps": []}}})
    'Crime to February 2025 (police.uk) and June 2025 (Met); trust to March 2026 (MOPAC survey).'
    """
    c = _currency(manifest)
    names = (("police_uk", "police.uk"), ("mps_ward", "Met"))
    crime = [f"{month_words(c[k].get('newest'))} ({name})" for k, name in names if c.get(k, {}).get("newest")]
    line = f"Crime to {' and '.join(crime) or 'no month'}"
    if c.get("pas", {}).get("newest"):
        line += f"; trust to {month_words(c['pas']['newest'])} (MOPAC survey)"
    missing = [f"{g['month']} ({k.replace('_', '.') if k == 'police_uk' else 'Met'})"
               for k in ("police_uk", "mps_ward") for g in c.get(k, {}).get("gaps", []) if g.get("missing", True)]
    return line + (f"; months missing or short: {', '.join(missing)}." if missing else ".")


#: Forces as a stop-and-search gap names them.
FORCE_WORDS = {"metropolitan": "Met", "city-of-london": "City"}


def currency_rows(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per source for a table: what it is, who publishes it, the months held, gaps."""
    rows = []
    for key, info in _currency(manifest).items():
        gaps = [f"{g['month']}: {g.get('reason', 'missing')}" for g in info.get("gaps", [])]
        rows.append({"source": key, "what": info.get("label", key), "publisher": info.get("publisher", ""),
                     "held from": month_words(info.get("first")), "newest held": month_words(info.get("newest")),
                     "covers": info.get("types_note", ""),
                     "missing or short months": "; ".join(gaps) or "none"})
    stops = manifest.get("sources", {}).get("stop_search") or {}
    if stops.get("months"):  # kept by ``update --source stop_search``, so it has its row too
        months = sorted(stops["months"])
        gaps = [f"{g['month']} {FORCE_WORDS.get(g['force'], g['force'])}: {g.get('reason', 'missing')}"
                for g in stops.get("gaps", [])]
        rows.append({"source": "stop_search", "what": "police.uk stop and search",
                     "publisher": "police.uk (Metropolitan Police, City of London Police)",
                     "held from": month_words(months[0]), "newest held": month_words(months[-1]),
                     "covers": "every search with its ward, ethnicity, age, gender, legislation, object, outcome",
                     "missing or short months": "; ".join(gaps) or "none"})
    return rows
