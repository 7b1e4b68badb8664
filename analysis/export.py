"""The priority table as deterministic CSV or GeoJSON bytes, shared by the CLI and the page.

The dashboard's download button and ``python -m analysis export priorities`` both call
``priorities_file``, so what a planner downloads and what a script writes are the same bytes.
CSV starts with ``# `` comment lines (sources, months, thresholds, method version, the
data's build time and the licence) and uses fixed number formatting and LF line ends, so
the same inputs always give the same file. Text cells that a spreadsheet would run as a
formula are neutralised (OWASP CSV injection); numeric columns are left alone so negative
changes stay numbers.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from shapely.geometry import mapping

from analysis.errors import AnalysisInputError
from analysis.priorities import PriorityTable
from analysis.tables import AnalysisTables

FORMATS = ("csv", "geojson")
#: Decimals kept for non-integer numbers.
DECIMALS = 4
#: Leading characters that make a spreadsheet treat a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ATTRIBUTION = ("Contains public sector information licensed under the Open Government Licence v3.0 "
               "(police.uk, Metropolitan Police Service, MOPAC Public Attitude Survey, ONS Census 2021); "
               "contains OS data © Crown copyright and database right. Cambridge Crime Harm Index weights: "
               "licence not stated by the publisher.")


def export_meta(tables: AnalysisTables, result: PriorityTable) -> dict[str, str]:
    """Return the header lines for an export of a priority table.

    Parameters
    ----------
    tables
        The tables the result was computed from (for the data's origin and build time).
    result
        The priority table with its query and settings.

    Returns
    -------
    dict
        Ordered key → one-line value.
    """
    c, f = result.crime, result.flags
    sources = {"police_uk": "police.uk street-level crime (Met files: burglary only, all types in 2022)",
               "mps_ward": "Metropolitan Police Service ward-level recorded crime (Home Office subgroups)"}
    types = c.crime_types
    meta = {
        "title": "High-crime, low-trust priority table",
        "crime_source": sources.get(c.source, c.source),
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
        "generated_from": tables.data_label,
        "code_version": str(tables.manifest.get("code_version", "unknown")),
        "licence": ATTRIBUTION,
    }
    return {k: " ".join(str(v).split()) for k, v in meta.items()}


def priorities_file(tables: AnalysisTables, result: PriorityTable, fmt: str = "csv") -> bytes:
    """Return a priority table as the file both the page's download and the CLI give (CSV or GeoJSON)."""
    frame = with_geometry(tables, result.table) if fmt == "geojson" else result.table
    return export_bytes(frame, export_meta(tables, result), fmt)


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


def export_bytes(table: pd.DataFrame, meta: Mapping[str, str], fmt: str = "csv") -> bytes:
    """Return the table as CSV or GeoJSON bytes, deterministic for the same inputs.

    Parameters
    ----------
    table
        The table as shown. For GeoJSON it must carry a ``geometry`` column (see
        ``with_geometry``); the geometry is not written to CSV.
    meta
        Header lines, e.g. from ``export_meta``.
    fmt
        'csv' or 'geojson'.

    Returns
    -------
    bytes
        UTF-8. CSV: ``# key: value`` lines, then a header row and one row per area, LF line
        ends. GeoJSON: a FeatureCollection with a top-level ``metadata`` member.

    Raises
    ------
    AnalysisInputError
        For an unknown format, or GeoJSON without geometry.

    Examples
    --------
    >>> frame = pd.DataFrame({"area_name": ["=cmd", "Bow"], "change": [-0.25, 0.5], "count": [3.0, 4.0]})
    >>> print(export_bytes(frame, {"title": "demo"}).decode(), end="")
    # title: demo
    area_name,change,count
    '=cmd,-0.25,3
    Bow,0.5,4
    """
    if fmt not in FORMATS:
        raise AnalysisInputError(f"unknown export format {fmt!r}; choose from {list(FORMATS)!r}")
    if fmt == "geojson":
        return _geojson(table, meta)
    columns = [c for c in table.columns if c != "geometry"]
    cells = [_column_cells(table[c]) for c in columns]
    out = io.StringIO()
    for key, value in meta.items():
        out.write(f"# {key}: {value}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*cells, strict=True))
    return out.getvalue().encode("utf-8")


def _geojson(table: pd.DataFrame, meta: Mapping[str, str]) -> bytes:
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
    document = {"type": "FeatureCollection", "metadata": dict(meta), "features": features}
    return (json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


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
