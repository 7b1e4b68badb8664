"""The stop-and-search table as a file: one row per area (plus London at borough level), with its method.

``python -m analysis export stop-search`` and the page's download both call
:func:`stop_search_files`, so the bytes are the same. The metadata sidecar names the
period, the months counted, the coverage gaps inside the period and whether they were
counted, which ethnicity is used and why, the denominators and the small-number mark.
"""

from __future__ import annotations

import pandas as pd

from analysis.export import DECIMALS, Document, data_meta, document_files, one_line
from analysis.stop_search import GROUPS, REFERENCE, StopSearchResult
from analysis.tables import AnalysisTables

METHOD_VERSION = "stop-search-1"
SOURCES = ("police.uk stop and search: Metropolitan Police and City of London Police bulk monthly files; "
           "police.uk API stops-force answers for the Met from 2024-09 (a partial feed, about a third of the "
           "usual volume); Census 2021 usual residents (ONS TS007A) and ethnic group by local authority (ONS)")
ETHNICITY_WHY = {
    "officer": ("officer-defined ethnicity (White, Black, Asian, Other) against Census 2021 White, Black, Asian "
                "and Mixed + Other together (officers record no Mixed group); used by default because it is "
                "recorded for ~98% of searches, where ~30% of people do not state their own"),
    "self": ("self-defined ethnicity (2011 Census labels) against the five matching Census 2021 groups; faithful "
             "to the person, but 'not stated' answers (~30%) are left out, so group rates are too low by an "
             "unknown amount"),
}
BASE_COLUMNS = ["area_code", "area_name", "searches", "residents", "months", "searches_per_1000",
                "searches_per_1000_lo", "searches_per_1000_hi", "arrest_share", "arrest_share_lo", "arrest_share_hi",
                "nfa_share", "nfa_share_lo", "nfa_share_hi", "linked_share", "linked_recorded", "s60_share",
                "drugs_share", "unlocated_share", "daytime_caveat"]
COLUMN_DOCS = {
    "area_code": "2022 ward, borough (E09...) or London (E12000007) code",
    "area_name": "ward, borough or 'London'",
    "searches": "searches in the months counted (borough and ward: located in the area; London: all)",
    "residents": "Census 2021 usual residents",
    "months": "months counted (the period less coverage gaps, unless gaps were included)",
    "searches_per_1000": "searches per 1,000 residents a year (searches / months x 12 / residents x 1,000)",
    "searches_per_1000_lo": "exact (Garwood) 95% lower bound of searches_per_1000",
    "searches_per_1000_hi": "exact (Garwood) 95% upper bound of searches_per_1000",
    "arrest_share": "share of searches with a recorded outcome that ended in arrest",
    "nfa_share": "share of searches with a recorded outcome that ended with no further action",
    "linked_share": "share where the outcome was linked to the object of search, of those where it was reported "
                    "(the Met reports it from 2024-02, and as False in every row)",
    "linked_recorded": "searches with the link reported",
    "s60_share": "share under section 60 of the Criminal Justice and Public Order Act 1994",
    "drugs_share": "share under section 23 of the Misuse of Drugs Act 1971",
    "unlocated_share": "share of the force's searches in the months counted without coordinates (in no area; "
                       "London's figures include them)",
    "daytime_caveat": "true where far more people work or visit than live, so rates per resident are inflated",
    "ethnicity_base": "whose searches and residents the group figures pool (City of London and Westminster: "
                      "together, as the Census file joins them)",
    "ethnicity_unknown_share": "share of searches with no ethnicity of the kind used (left out of group rates)",
}


def _group_docs(groups: tuple[str, ...]) -> dict[str, str]:
    docs = {}
    for g in groups:
        docs[f"searches_{g}"] = f"searches of people recorded as {g}"
        docs[f"residents_{g}"] = f"Census 2021 residents of the matching group(s) for {g}"
        docs[f"rate_{g}"] = f"searches of {g} people per 1,000 {g} residents a year"
        if g != REFERENCE:
            for suffix, what in (("", "rate ratio"), ("_lo", "exact 95% lower bound of the ratio"),
                                 ("_hi", "exact 95% upper bound of the ratio")):
                docs[f"ratio_{g}_white{suffix}"] = f"{g} vs white: {what}"
            docs[f"ratio_{g}_white_small"] = f"True when the {g} and white searches together are fewer than the mark"
    return docs


def export_table(result: StopSearchResult) -> pd.DataFrame:
    """The rows written: areas by code, then London at borough level; ratio columns per group."""
    table = result.table
    columns = list(BASE_COLUMNS)
    if result.query.level == "borough":
        groups = GROUPS[result.query.ethnicity]
        columns += ["ethnicity_base", "ethnicity_unknown_share"]
        columns += [f"{kind}_{g}" for g in groups for kind in ("searches", "residents", "rate")]
        columns += [f"ratio_{g}_white{s}" for g in groups if g != REFERENCE for s in ("", "_lo", "_hi", "_small")]
        table = pd.concat([table, result.london.to_frame().T], ignore_index=True)
    out = table[columns].copy()
    for c in ("searches", "residents", "months", "linked_recorded",
              *[c for c in columns if c.startswith(("searches_", "residents_")) and not c.endswith(("_lo", "_hi"))]):
        if c in out and not c.startswith("searches_per"):
            out[c] = pd.to_numeric(out[c]).round().astype("Int64")
    for c in [c for c in columns if c.endswith("_small") or c == "daytime_caveat"]:
        out[c] = out[c].astype(bool)
    floats = [c for c in out.columns if out[c].dtype == object and c not in ("area_code", "area_name",
                                                                              "ethnicity_base")]
    out[floats] = out[floats].astype(float)
    return out.round(DECIMALS).reset_index(drop=True)
    return out.reset_index(drop=True)


def stop_search_document(tables: AnalysisTables, result: StopSearchResult) -> Document:
    """The table with its method, period, gaps and sources."""
    q, p = result.query, result.period
    meta = {
        "title": f"Stop and search by {q.level}, {p.start} to {p.end}",
        "sources": SOURCES,
        "period": f"{p.start} to {p.end}",
        "months_counted": f"{len(p.counted)} for London ({', '.join(p.counted) or 'none'})",
        "coverage_gaps": p.gap_text,
        "forces_not_held": p.not_held_text,
        "gaps_counted": "yes, at the user's request" if q.include_gaps else "no: left out of rates",
        "level": q.level,
        "ethnicity": ETHNICITY_WHY[q.ethnicity] if q.level == "borough" else "not at ward level (Census by borough)",
        "population": "Census 2021 usual residents (ONS); ethnic groups from the Census 2021 ethnic group by local "
                      "authority (counts rounded to 5 by ONS)",
        "small_numbers": f"ratios resting on fewer than {q.min_searches} searches of the two groups are marked "
                         "_small; all intervals are exact (Garwood for rates, conditional binomial for ratios, "
                         "Clopper-Pearson for shares)",
        "caveat": "figures describe where and on whom searches fell; they do not say why",
        "method_version": METHOD_VERSION,
        **data_meta(tables),
    }
    docs = {**COLUMN_DOCS, **_group_docs(GROUPS[q.ethnicity])}
    return Document(export_table(result), one_line(meta), docs)


def stop_search_files(tables: AnalysisTables, result: StopSearchResult, name: str) -> dict[str, bytes]:
    """The CSV and its ``-metadata.json``, as both the page and ``python -m analysis export stop-search`` write."""
    return document_files(stop_search_document(tables, result), "csv", name)
