"""Tables as files people can open: a header-first CSV with a metadata sidecar, or GeoJSON.

The dashboard's downloads and ``python -m analysis export ...`` both call
``document_files``, so what a planner downloads and what a script writes are the same bytes.
A CSV starts with its header row, so Excel and LibreOffice open it as a plain table; what a
reader needs to know about it (sources, months, thresholds, method version, the data's
build time, the licence, and what each column holds) goes in ``<file>-metadata.json``
beside it, the W3C "CSV on the Web" convention for a table's metadata, and GeoJSON carries
the same metadata inside the file. Number formatting is fixed and lines end in LF, so the
same inputs always give the same bytes. Text cells that a spreadsheet would run as a
formula are neutralised (OWASP CSV injection); numeric columns are left alone so negative
changes stay numbers.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from shapely.geometry import mapping

from analysis.crime import MEASURE_COLUMN_DOCS
from analysis.priorities import METHOD_VERSION, PRIORITY_COLUMN_DOCS, PriorityTable
from analysis.progress import Progress
from analysis.progress_columns import AREA_COLUMN_DOCS, SUMMARY_COLUMN_DOCS
from analysis.progress_windows import survey_words, window_words
from analysis.progress_words import CAVEATS, DESIGN_WORDS, sentences
from analysis.tables import AnalysisTables
from core.errors import AnalysisInputError

FORMATS = ("csv", "geojson")
#: Decimals kept for non-integer numbers.
DECIMALS = 4
#: Leading characters that make a spreadsheet treat a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ATTRIBUTION = ("Contains public sector information licensed under the Open Government Licence v3.0 "
               "(police.uk, Metropolitan Police Service, MOPAC Public Attitude Survey, ONS Census 2021); "
               "contains OS data © Crown copyright and database right. Cambridge Crime Harm Index weights: "
               "licence not stated by the publisher.")
OGL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
#: The sidecar's name is the CSV's with this added (CSV on the Web, section 5.2).
METADATA_SUFFIX = "-metadata.json"
#: Fixed timestamp for zip members, so the same files always give the same zip.
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)


@dataclass(frozen=True, eq=False)
class Document:
    """A table and what a reader needs to know about it.

    Attributes
    ----------
    table
        The rows as shown (a ``geometry`` column, when present, goes only into GeoJSON).
    meta
        Ordered setting → one-line value; ``title`` first.
    columns
        Column → what it holds, for the metadata's table schema.
    """

    table: pd.DataFrame
    meta: dict[str, str]
    columns: dict[str, str] = field(default_factory=dict)


def data_meta(tables: AnalysisTables) -> dict[str, str]:
    """The lines every export ends with: where the data came from, the code, the licence."""
    return {"generated_from": tables.data_label, "code_version": str(tables.manifest.get("code_version", "unknown")),
            "licence": ATTRIBUTION}


def one_line(meta: Mapping[str, object]) -> dict[str, str]:
    """Each value as one line of text (runs of white space folded)."""
    return {k: " ".join(str(v).split()) for k, v in meta.items()}


CRIME_SOURCES = {"police_uk": "police.uk street-level crime (Met files: burglary only, all types in 2022)",
                 "mps_ward": "Metropolitan Police Service ward-level recorded crime (Home Office subgroups)"}


def priorities_document(tables: AnalysisTables, result: PriorityTable) -> Document:
    """Return a priority table with its settings and column descriptions.

    Parameters
    ----------
    tables
        The tables the result was computed from (for the data's origin and build time).
    result
        The priority table with its query and settings.
    """
    c, f = result.crime, result.flags
    types = c.crime_types
    meta = {
        "title": "High-crime, low-trust priority table",
        "crime_source": CRIME_SOURCES.get(c.source, c.source),
        "months": f"{c.start} to {c.end} ({c.months} months)",
        "level": c.level,
        "measure": c.measure,
        "crime_types": "; ".join(types) if len(types) <= 12 else f"{len(types)} types: " + "; ".join(types),
        "trust": (f"MOPAC Public Attitude Survey '{result.trust_label}', rolling 12 months to "
                  f"{result.trust_period_end}; Wilson 95% intervals assuming {_num(f.n_per_quarter)} "
                  "interviews per borough per quarter (4 quarters per figure); ward figures are the borough's"),
        "population": "Census 2021 usual residents (ONS)",
        "flag": (f"method {f.method}; crime_pct {_num(f.crime_pct)}; trust_pct {_num(f.trust_pct)}; classes are "
                 f"terciles across the areas shown; neighbour step {_num(f.neighbour_step)}"),
        "robustness_periods": "; ".join(f"{s} to {e}" for s, e in result.robustness_periods) or "none with data",
        "harm": c.harm_note,
        "method_version": result.method_version,
        **data_meta(tables),
    }
    return Document(result.table, one_line(meta), {**MEASURE_COLUMN_DOCS, **PRIORITY_COLUMN_DOCS})


def priorities_files(tables: AnalysisTables, result: PriorityTable, fmt: str, name: str) -> dict[str, bytes]:
    """Return the files of a priority table export, as both the page's downloads and the CLI write them.

    ``name`` is the main file's name (e.g. ``priorities.csv``); a CSV comes with its
    ``<name>-metadata.json``.
    """
    doc = priorities_document(tables, result)
    if fmt == "geojson":
        doc = replace(doc, table=with_geometry(tables, doc.table))
    return document_files(doc, fmt, name)


def progress_documents(tables: AnalysisTables, progress: Progress) -> tuple[Document, Document]:
    """Return the plan-progress table (one row per area) and its summary (one row per group), with settings.

    Both carry the same settings: the filters, the baseline and latest periods, the trust
    dates, the flag rule, the findings in words and what they cannot show.
    """
    q, s, now, f = progress.query, progress.settings, progress.now, progress.flags
    types = now.crime.meta.crime_types
    years, labels = progress.trust_years, progress.labels
    trend = progress.pre_trends.get("cohort_vs_all_other")
    chosen = "chosen" if s.latest_start or s.latest_end else "the newest months held"
    aligned = ("chosen" if s.trust_baseline or s.trust_latest
               else "the years that overlap the crime windows most, ties to the earlier")
    meta = one_line({
        "title": f"Plan progress: the areas flagged at launch against {labels['all_other']}",
        "crime_source": CRIME_SOURCES.get(q.source, q.source),
        "level": q.level,
        "measure": q.measure,
        "crime_types": "; ".join(types) if len(types) <= 12 else f"{len(types)} types: " + "; ".join(types),
        "baseline": f"{s.baseline_start} to {s.baseline_end}",
        "latest": f"{progress.latest[0]} to {progress.latest[1]} ({chosen}, as many months as the baseline)",
        "windows": (f"crime: {window_words(*progress.latest)} against {window_words(s.baseline_start, s.baseline_end)}"
                    f"; trust: {survey_words(years.latest)} against {survey_words(years.baseline)}"),
        "trust": (f"MOPAC Public Attitude Survey '{now.trust_label}': baseline survey year to {years.baseline}, latest "
                  f"year to {years.latest} ({aligned}); "
                  "ward figures are the borough's"),
        "design_effect": f"{_num(s.design_effect)}: survey intervals assume "
                         + DESIGN_WORDS.format(n=f.n_per_quarter * 4, deff=s.design_effect),
        "cohort": ("areas the priority table flags over the baseline with trust in the baseline survey year (method "
                   f"{f.method}; crime_pct {_num(f.crime_pct)}; trust_pct {_num(f.trust_pct)}; {_num(f.n_per_quarter)}"
                   " interviews per borough per quarter assumed, divided by the design effect); fixed at launch"),
        "groups": ("all_other: every area with data in both windows outside the cohort (the main comparison); its "
                   "parts: same_crime_other_trust (met the crime half of the rule at launch, not the trust half: the "
                   "closer comparison, not a control) and lower_crime (did not meet the crime half)"),
        "intervals": ("95%; areas: exact (Clopper-Pearson) rate ratios, Newcombe trust differences; groups and "
                      "comparisons: cluster-robust by borough (ward level; each borough its own cluster at borough "
                      "level), t quantiles on clusters - 1 degrees of freedom (a comparison: the smaller group's); "
                      "trust of groups: normal, each borough's survey counted once; pre-baseline trends: "
                      "quasi-Poisson with t on months - 2 degrees of freedom"),
        "pre_baseline_trend": ("not available (too few months before the baseline)" if trend is None else
                               f"{trend.test.months[0]} to {trend.test.months[1]}: cohort against all_other "
                               f"{trend.test.per_year:.4f} a year (95% interval {trend.test.lo:.4f} to "
                               f"{trend.test.hi:.4f}, p = {trend.test.p:.4f}); every comparison's is in the summary"),
        "selection_alone": ("not available (needs crime counts and the window before the baseline)"
                            if progress.selection is None else
                            f"cohort against all_other with no real change: {progress.selection.expected:.4f} (95% "
                            f"range {progress.selection.lo:.4f} to {progress.selection.hi:.4f}, "
                            f"{progress.selection.draws} simulated years)"),
        "placebo": ("not available" if progress.placebo is None else
                    f"the rule applied to {progress.placebo.baseline[0]} to {progress.placebo.baseline[1]} (trust "
                    f"year to {progress.placebo.trust_year}), followed to {progress.placebo.follow_up[0]} to "
                    f"{progress.placebo.follow_up[1]}: cohort against all_other {progress.placebo.change.value:.4f}"),
        "missing_months": ", ".join(progress.missing_months) or "none",
        "findings": " ".join(sentences(progress)),
        "caveats": " ".join(CAVEATS),
        "method_version": METHOD_VERSION,
        **data_meta(tables),
    })
    return (Document(progress.areas, meta, AREA_COLUMN_DOCS),
            Document(progress.summary, {**meta, "title": meta["title"] + " (summary by group)"},
                     SUMMARY_COLUMN_DOCS))


def progress_files(tables: AnalysisTables, progress: Progress, fmt: str, name: str,
                   summary_name: str | None = None) -> dict[str, bytes]:
    """Return the plan-progress files: per area (CSV + metadata, or GeoJSON) and, if named, the summary CSV."""
    areas, summary = progress_documents(tables, progress)
    if fmt == "geojson":
        areas = replace(areas, table=with_geometry(tables, areas.table))
    files = document_files(areas, fmt, name)
    if summary_name:
        files.update(document_files(summary, "csv", summary_name))
    return files


def document_files(doc: Document, fmt: str, name: str) -> dict[str, bytes]:
    """Return ``{file name: bytes}``: the CSV and its metadata sidecar, or one GeoJSON file.

    Raises
    ------
    AnalysisInputError
        For an unknown format, or GeoJSON without geometry.
    """
    if fmt not in FORMATS:
        raise AnalysisInputError(f"unknown export format {fmt!r}; choose from {list(FORMATS)!r}")
    if fmt == "geojson":
        return {name: geojson_bytes(doc)}
    return {name: csv_bytes(doc.table), name + METADATA_SUFFIX: metadata_bytes(doc, name)}


def csv_bytes(table: pd.DataFrame) -> bytes:
    """Return the table as CSV: the header row first, fixed number formatting, LF line ends.

    Examples
    --------
    >>> frame = pd.DataFrame({"area_name": ["=cmd", "Bow"], "change": [-0.25, 0.5], "count": [3.0, 4.0]})
    >>> print(csv_bytes(frame).decode(), end="")
    area_name,change,count
    '=cmd,-0.25,3
    Bow,0.5,4
    """
    columns = [c for c in table.columns if c != "geometry"]
    cells = [_column_cells(table[c]) for c in columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*cells, strict=True))
    return out.getvalue().encode("utf-8")


def metadata_bytes(doc: Document, csv_name: str) -> bytes:
    """Return the CSV on the Web metadata of ``doc``'s CSV named ``csv_name`` (JSON, UTF-8).

    It names the file, its title, licence and attribution, every setting of ``doc.meta``
    (under ``notes``) and, per column, its name, datatype and what it holds.
    """
    columns = [c for c in doc.table.columns if c != "geometry"]
    settings = {k: v for k, v in doc.meta.items() if k not in ("title", "licence")}
    document = {
        "@context": "http://www.w3.org/ns/csvw",
        "url": csv_name,
        "dc:title": doc.meta.get("title", ""),
        "dc:license": {"@id": OGL},
        "dc:rights": doc.meta.get("licence", ATTRIBUTION),
        "notes": [{"settings": settings}],
        "dialect": {"header": True, "delimiter": ",", "lineTerminators": ["\n"], "encoding": "utf-8"},
        "tableSchema": {"columns": [
            {"name": c, "titles": c, "datatype": _datatype(doc.table[c]),
             **({"dc:description": doc.columns[c]} if c in doc.columns else {})} for c in columns]},
    }
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def geojson_bytes(doc: Document) -> bytes:
    """Return ``doc`` as a GeoJSON FeatureCollection with a top-level ``metadata`` member.

    Raises
    ------
    AnalysisInputError
        When the table has no ``geometry`` column (see ``with_geometry``).
    """
    table = doc.table
    if "geometry" not in table.columns:
        raise AnalysisInputError("GeoJSON export needs a geometry column; attach it with with_geometry()")
    columns = [c for c in table.columns if c != "geometry"]
    features = []
    for row in table.itertuples(index=False):
        record = row._asdict()
        geometry = record.pop("geometry")
        features.append({"type": "Feature",
                         "properties": {c: _json_value(record[c]) for c in columns},
                         "geometry": None if geometry is None else _round_geometry(mapping(geometry))})
    document = {"type": "FeatureCollection", "metadata": dict(doc.meta), "features": features}
    return (json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def zip_bytes(files: Mapping[str, bytes]) -> bytes:
    """Return the files in one zip, byte for byte the same for the same files (fixed member times)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buf.getvalue()


def write_files(files: Mapping[str, bytes], folder: Path) -> list[Path]:
    """Write each file into ``folder`` through a temporary name, so none is ever half written."""
    written = []
    for name, data in files.items():
        path = folder / name
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        written.append(path)
    return written


def _datatype(series: pd.Series) -> str:
    """The CSV on the Web datatype of a column as ``csv_bytes`` writes it."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    return "string"


def _num(value: object) -> str:
    """Format a setting for the header: up to 4 decimals, no trailing zeros."""
    if isinstance(value, (int, float, np.floating)) and not isinstance(value, bool):
        return f"{float(value):.4f}".rstrip("0").rstrip(".")
    return str(value)


def neutralise(cell: str) -> str:
    """Return a text cell safe to open in a spreadsheet: formula starts get a leading quote.

    Examples
    --------
    >>> neutralise("=HYPERLINK(1)"), neutralise("-2"), neutralise("Camden")
    ("'=HYPERLINK(1)", "'-2", 'Camden')
    """
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def _column_cells(series: pd.Series) -> list[str]:
    """Format one column for CSV: integers plainly, floats to DECIMALS, text neutralised."""
    if pd.api.types.is_bool_dtype(series):
        return ["true" if v else "false" for v in series]
    if pd.api.types.is_datetime64_any_dtype(series):
        return ["" if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d") for v in series]
    if pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=float)
        present = values[~np.isnan(values)]
        integral = bool(np.all(present == np.round(present)))
        return ["" if math.isnan(v) else (f"{v:.0f}" if integral else _fixed(v)) for v in values]
    return ["" if pd.isna(v) else neutralise(str(v)) for v in series]


def _fixed(value: float) -> str:
    text = f"{value:.{DECIMALS}f}"
    return "0" if text.lstrip("-") == f"0.{'0' * DECIMALS}" else text.rstrip("0").rstrip(".")


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else round(float(value), DECIMALS)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _round_geometry(geo: dict[str, Any]) -> dict[str, Any]:
    def walk(c: Any) -> Any:
        if isinstance(c, (tuple, list)):
            if c and isinstance(c[0], (int, float)):
                return [round(float(x), 6) for x in c]
            return [walk(x) for x in c]
        return c

    return {"type": geo["type"], "coordinates": walk(geo["coordinates"])}


def with_geometry(tables: AnalysisTables, table: pd.DataFrame) -> pd.DataFrame:
    """Return ``table`` with a ``geometry`` column from the ward or borough display polygons (EPSG:4326)."""
    wards, boroughs = tables.wards_display, tables.boroughs_display
    if wards is None or boroughs is None:
        raise AnalysisInputError("these tables carry no display geometry; GeoJSON export needs the store or snapshot")
    shapes = pd.concat([wards.set_index(wards["ward_code"].astype(str))["geometry"],
                        boroughs.set_index(boroughs["area_code"].astype(str))["geometry"]])
    shapes = shapes[~shapes.index.duplicated(keep="first")]
    out = table.copy()
    out["geometry"] = table["area_code"].astype(str).map(shapes).to_numpy()
    return out
