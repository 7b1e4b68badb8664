"""Build the store from its base and everything pulled since: sources → tidy tables → placed → store.

The **base** is the raw data folder (layout as in ``../shared/data``) or, on a machine
without one, the seed: the embedded snapshot copied into ``store/inputs/seed``
(``data_sources.store.seed``). Over the base the build lays everything kept in the store:
police.uk months fetched by ``refresh``/``update`` (``store/inputs/ingested``), Met and
PAS releases downloaded from the London Datastore (``store/inputs/releases``), and users'
trust tables (``store/inputs/uploads``). One step per source (:data:`STEPS`) reads its
inputs; the newest release wins per month (Met) and per quarter, area and measure (PAS,
after the official-first precedence of ``data_sources.build.trust_merge``).

Every input row is accounted for: kept, or dropped for a named reason, per source, and
the same numbers go to the manifest and the closing summary. Parsed-and-placed input
files are cached by content hash, so adding a month reads only the new file.

The manifest (``manifest.json`` in each version) holds:

- ``sources``: row accounts per input (``police_uk_street``, ``police_uk_fetched``,
  ``police_uk_points_2022``, ``mps_ward``, ``pas``): rows read/kept/dropped by reason,
  months, files with checksums (downloads also with URL and fetch time), notes; the Met
  account also ``revisions`` (months where a newer release changed counts, cells changed)
  and ``stubs`` (stub months dropped from releases); the PAS account ``by_publication``;
- ``currency``: per source, what the screen shows about being up to date — label,
  publisher, first and newest month, which crime types each stretch covers, coverage
  gaps and where each downloaded piece came from (shape in ``data_sources.build.currency``);
- ``base``: ``{"kind": "raw" | "seed", "folder": ...}``; ``data_dir``: the base folder;
- ``tables`` (rows per table), ``built_at``, ``code_version``, ``seconds``.

Coverage gaps (``data_sources.coverage``: a month empty or below half of its
neighbours, or a stub month in a Met release) are recorded in ``currency`` and printed
by :func:`summary_lines`; the rows are kept as they are, and the months are marked so
that charts can show them as missing rather than as a drop.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pandas as pd

from core.errors import InputFileError
from data_sources.build.currency import crime_currency, trust_currency
from data_sources.build.inputs import (
    TOTALS_TYPES,
    InputCache,
    Progress,
    SourceAccount,
    areas_table,
    load_geography,
    read_seed_table,
)
from data_sources.build.steps import STEPS, BuildContext
from data_sources.build.stop_search import stop_search_step
from data_sources.settings import REPO_ROOT
from data_sources.store.versions import STOP_SEARCH_TABLES, VersionWriter
from geo.wards import display_geometry


def code_version() -> str:
    """The git commit of this code (with '-dirty' for local changes), or 'unknown'."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=5, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def build_store(data_dir: Path, store_dir: Path, *, progress: Progress | None = None,
                street_paths: list[Path] | None = None) -> dict[str, Any]:
    """Build a new store version from its base and everything kept in the store, and publish it atomically.

    Parameters
    ----------
    data_dir
        The base: the raw data folder (layout as in ``../shared/data``), or a seed (the
        snapshot copied into ``store/inputs/seed``, see ``data_sources.store.seed``).
    store_dir
        Where the store lives; the previous version stays live until this one is complete.
    progress
        Called with a short description before each step (for a progress bar).
    street_paths
        Street files, folders or archives; default: everything under ``data_dir/crime``.

    Returns
    -------
    dict
        The manifest written with the new version (its keys: see the module docstring).
    """
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    if not data_dir.is_dir():
        raise InputFileError(data_dir, "data folder not found",
                             hint="pass --data-dir or set $CRIME_TRUST_DATA to the folder holding crime/, trust/, …; "
                                  "without raw data, `python -m data_sources update` starts from the embedded snapshot")
    say("wards, lookup and population")
    geo = load_geography(data_dir)
    store_dir.mkdir(parents=True, exist_ok=True)
    cache = InputCache(store_dir, geo.key)
    ctx = BuildContext(data_dir, store_dir, geo, cache, say, street_paths)
    found: dict[str, pd.DataFrame] = {}
    accounts: dict[str, SourceAccount] = {}
    gaps: dict[str, list[dict[str, Any]]] = {}
    fetched: dict[str, list[dict[str, Any]]] = {}
    for step in (*STEPS, stop_search_step):
        result = step(ctx)
        found.update(result.tables)
        accounts.update(result.accounts)
        gaps.update(result.gaps)
        fetched.update(result.fetched)
    street = found["street"]

    say("counts and display geometry")
    if ctx.seeded:
        shown = {name: read_seed_table(data_dir, name) for name in ("areas", "wards_display", "boroughs_display")}
    else:
        shown = {"areas": areas_table(geo), "wards_display": display_geometry(geo.wards),
                 "boroughs_display": display_geometry(geo.boroughs.rename(columns={"borough_code": "area_code"}))}
    totals = pd.concat([found["totals_police_uk"], found["totals_mps_ward"]], ignore_index=True).astype(TOTALS_TYPES)
    tables: dict[str, pd.DataFrame] = {
        "areas": shown["areas"],
        "population": geo.population,
        "trust": found["trust"],
        "harm_weights": found["harm_weights"],
        "counts_police_uk": found["counts_police_uk"],
        "counts_mps_ward": found["counts_mps_ward"],
        "london_totals": totals,
        "wards_display": shown["wards_display"],
        "boroughs_display": shown["boroughs_display"],
        "wards": geo.wards,
        "boroughs": geo.boroughs,
        "lsoa_lookup": geo.lookup,
        "stop_search": found["stop_search"],
        **{name: found[name] for name in STOP_SEARCH_TABLES},
    }
    currency = {
        "police_uk": crime_currency("police_uk", tables["counts_police_uk"], gaps["police_uk"], fetched["police_uk"]),
        "mps_ward": crime_currency("mps_ward", tables["counts_mps_ward"], gaps["mps_ward"], fetched["mps_ward"],
                                   revisions=accounts["mps_ward"].extra["revisions"]),
        **trust_currency(tables["trust"], fetched["pas"]),
    }
    manifest: dict[str, Any] = {
        "kind": "store",
        "built_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "code_version": code_version(),
        "data_dir": str(data_dir),
        "base": {"kind": geo.base, "folder": str(data_dir)},
        "sources": {k: v.as_dict() for k, v in accounts.items()},
        "currency": currency,
        "tables": {k: len(v) for k, v in tables.items()},
    }
    say("writing the store")
    with VersionWriter(store_dir) as writer:
        for name, frame in tables.items():
            writer.write(name, frame)
        for month, rows in street.groupby("month", sort=True):
            writer.write(f"street/{month}", rows.reset_index(drop=True))
        manifest["seconds"] = round(time.perf_counter() - started, 2)
        writer.commit(manifest)
    cache.flush()
    return manifest


def gap_lines(manifest: dict[str, Any]) -> list[str]:
    """One line per source with coverage gaps, naming each month and why."""
    lines = []
    for source, info in manifest.get("currency", {}).items():
        gaps = info.get("gaps", [])
        if gaps:
            parts = [f"{g['month']} ({g['reason']}{'' if g.get('missing', True) else ', covered'})" for g in gaps]
            lines.append(f"{source}: coverage gaps: {'; '.join(parts)}")
    for source, info in manifest.get("sources", {}).items():
        if info.get("gaps") and "force" in info["gaps"][0]:
            parts = [f"{g['force']} {g['month']} ({g['reason']})" for g in info["gaps"]]
            lines.append(f"{source}: coverage gaps: {'; '.join(parts)}")
    return lines


def summary_lines(manifest: dict[str, Any]) -> list[str]:
    """The closing summary: rows per source, months, drops by reason, coverage gaps, seconds."""
    lines = []
    for name, src in manifest["sources"].items():
        months = src["months"]
        span = f"{months[0]}…{months[-1]} ({len(months)} months)" if months else "no months"
        drops = ", ".join(f"{r} {n:,}" for r, n in sorted(src["dropped"].items())) or "none"
        check = src["rows_kept"] + sum(src["dropped"].values()) == src["rows_read"]
        lines.append(f"{name}: read {src['rows_read']:,}, kept {src['rows_kept']:,}, dropped: {drops}; "
                     f"{span}{'' if check else '  [ACCOUNTING MISMATCH]'}")
        lines.extend(f"  note: {n}" for n in src["notes"][:5])
    lines.extend(gap_lines(manifest))
    lines.append(f"built in {manifest.get('seconds', '?')} s, code {manifest['code_version']}")
    return lines
