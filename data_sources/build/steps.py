"""One build step per source, each the same shape: ``step(ctx) -> StepResult``.

police.uk (street files or the seed's counts, fetched months laid over them, the 2022
points), the Met's ward releases (newest wins per month, history kept), the PAS (official
first, then newer publications, then users' uploads) and the harm weights. Each returns its
tables, its row accounts and its coverage; ``data_sources.build.build`` runs them in
:data:`STEPS` order and writes the store.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_sources.build import trust_merge
from data_sources.build.currency import trust_currency
from data_sources.build.inputs import (
    TOTALS_TYPES,
    Geography,
    InputCache,
    Progress,
    SourceAccount,
    apply_ingested,
    mps_ward_totals,
    police_uk_totals,
    read_points,
    read_seed_table,
    read_street_inputs,
    sha256_file,
    ward_counts,
)
from data_sources.coverage import find_gaps, month_range
from data_sources.read import harm, lookup, mps_ward, pas, pas_extra, points_2022
from data_sources.read.api_mapping import CITY, MET
from data_sources.read.police_uk_csv import discover_street_files
from data_sources.schemas import COUNTS, MPS_WARD_CRIME, STREET_CRIMES_PLACED, TRUST
from data_sources.store import releases
from data_sources.store.ingested import IngestedInput, list_ingested
from data_sources.store.uploads import UPLOADS
from data_sources.store.versions import MANIFEST
from geo.london import CITY_OF_LONDON_CODE, LONDON_CODE

STREET_DIR = "crime"


def _rel(path: Path | str, data_dir: Path) -> str:
    try:
        return str(Path(path).relative_to(data_dir))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class BuildContext:
    """What every source step reads: the base folder, the store, the geography and the input cache."""

    data_dir: Path
    store_dir: Path
    geo: Geography
    cache: InputCache
    say: Progress
    street_paths: list[Path] | None = None

    @property
    def seeded(self) -> bool:
        """Whether the base is the seed (the embedded snapshot) rather than a raw data folder."""
        return self.geo.base == "seed"


@dataclass
class StepResult:
    """One source step's output: its tables (by name), row accounts (by manifest key) and coverage.

    ``gaps`` (by currency key) lists the months found empty or far below their neighbours;
    ``fetched`` (by currency key) where and when each downloaded piece came from.
    """

    tables: dict[str, pd.DataFrame]
    accounts: dict[str, SourceAccount] = field(default_factory=dict)
    gaps: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fetched: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _seed_account(seed_manifest: dict[str, Any], key: str, months: set[str]) -> SourceAccount:
    """A row account carried over from the seed's manifest, its months cut to those still in use."""
    src = dict(seed_manifest.get("sources", {}).get(key) or {})
    acc = SourceAccount(int(src.pop("rows_read", 0)), int(src.pop("rows_kept", 0)), dict(src.pop("dropped", {})),
                        set(src.pop("months", [])) & months, list(src.pop("files", [])), list(src.pop("notes", [])))
    acc.notes.append("from the embedded snapshot's build: counts only, no street rows")
    acc.extra = src
    return acc


def _fetched_pieces(entries: list[IngestedInput]) -> list[dict[str, Any]]:
    return [{"what": f"{e.month} {e.scope} ({'API' if e.kind == 'api' else 'archive'})", "from": e.source,
             "at": e.fetched_at, "sha256": e.sha256, "rows": e.rows} for e in entries]


def _police_uk_gaps(totals: pd.DataFrame, input_months: set[str], street_files: list[dict[str, Any]],
                    fetched_files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply the coverage rule to police.uk, naming header-only files and empty fetches."""
    months = set(totals["month"].astype(str)) | input_months
    if not months:
        return []
    empty_inputs: dict[str, str] = {}
    for f in street_files:
        if f.get("rows") == 0 and f.get("month"):
            empty_inputs[f["month"]] = f"header-only street file {Path(str(f['path'])).name}"
    for f in fetched_files:
        if f.get("rows") == 0:
            empty_inputs[f["month"]] = f"{f['kind']} fetch of {f['month']} returned no crimes"
    gaps = find_gaps(totals, month_range(min(months), max(months)))
    return [{**g.as_dict(), "reason": empty_inputs.get(g.month, g.reason), "missing": True} for g in gaps]


def police_uk_step(ctx: BuildContext) -> StepResult:
    """police.uk: street files (or the seed's counts), fetched months laid over them, the 2022 points.

    Returns the placed rows as table ``street`` (no rows for seed months), the ward counts
    ``counts_police_uk``, the London totals ``totals_police_uk``, and the accounts
    ``police_uk_street``, ``police_uk_fetched`` and ``police_uk_points_2022``.
    """
    if ctx.seeded:
        return _police_uk_from_seed(ctx)
    data_dir, geo, cache, say = ctx.data_dir, ctx.geo, ctx.cache, ctx.say
    say("street-level files")
    street_acc = SourceAccount()
    sources = [s for p in (ctx.street_paths or [data_dir / STREET_DIR]) for s in discover_street_files(p)]
    street = read_street_inputs(sources, geo, cache, street_acc, say)
    fetched_acc = SourceAccount()
    say("months fetched by refresh")
    entries = list_ingested(ctx.store_dir)
    street = apply_ingested(street, entries, ctx.store_dir, geo, {"files": street_acc, "fetched": fetched_acc})
    covered = set(zip(street["month"], street["crime_type"], strict=True))

    say("2022 points")
    points_acc = SourceAccount()
    if (data_dir / points_2022.POINTS_FILE).is_file():
        points = read_points(data_dir / points_2022.POINTS_FILE, geo, covered, points_acc, cache)
        street = pd.concat([street, points], ignore_index=True)
    else:
        points_acc.notes.append(f"{points_2022.POINTS_FILE} not found: no 2022 all-type baseline")
    _finish_street_accounts(street, {"street_csv": street_acc, "points_2022": points_acc,
                                     "api": fetched_acc}, data_dir)
    totals = police_uk_totals(street)
    input_months = {s.month for s in sources} | {e.month for e in entries}
    return StepResult(
        {"street": street, "counts_police_uk": ward_counts(street, source="police_uk", type_col="crime_type",
                                                           group_col=None, geo=geo),
         "totals_police_uk": totals},
        {"police_uk_street": street_acc, "police_uk_fetched": fetched_acc, "police_uk_points_2022": points_acc},
        gaps={"police_uk": _police_uk_gaps(totals, input_months, street_acc.files, fetched_acc.files)},
        fetched={"police_uk": _fetched_pieces(entries)})


def _finish_street_accounts(street: pd.DataFrame, accounts: dict[str, SourceAccount], data_dir: Path) -> None:
    for dataset, acc in accounts.items():
        datasets = ["api", "archive"] if dataset == "api" else [dataset]
        part = street[street["dataset"].isin(datasets)]
        acc.rows_kept = len(part)
        acc.months = set(part["month"].unique())
        acc.extra = {"no_location_kept": int(part["longitude"].isna().sum()),
                     "placed_by": {str(k): int(v) for k, v in part["placed_by"].value_counts().items()},
                     "crime_types": sorted(part["crime_type"].unique())}
        acc.files = [dict(f, path=_rel(f["path"], data_dir)) for f in acc.files]
        acc.notes = [n.replace(str(data_dir) + "/", "") for n in acc.notes]


def _seed_scope(counts: pd.DataFrame, entry: IngestedInput) -> np.ndarray:
    """Which seed count rows a fetched month replaces (as :func:`apply_ingested` does for rows).

    The seed has counts by ward, not rows by force, so an archive of the Met replaces the
    month in every ward but the City, one of the City of London Police the City, and
    any other force (BTP) nothing.
    """
    month = (counts["month"] == entry.month).to_numpy()
    area = counts["area_code"]
    if entry.kind == "archive":
        if entry.scope == MET:
            return month & (area != CITY_OF_LONDON_CODE).to_numpy()
        if entry.scope == CITY:
            return month & (area == CITY_OF_LONDON_CODE).to_numpy()
        return np.zeros(len(counts), dtype=bool)
    if entry.wards:
        return month & area.isin(entry.wards).to_numpy()
    return month


def _police_uk_from_seed(ctx: BuildContext) -> StepResult:
    say, geo = ctx.say, ctx.geo
    say("police.uk counts from the seed")
    seed_manifest = json.loads((ctx.data_dir / MANIFEST).read_text())
    seed_counts = read_seed_table(ctx.data_dir, "counts_police_uk")
    seed_totals = read_seed_table(ctx.data_dir, "london_totals")
    seed_totals = seed_totals[seed_totals["source"] == "police_uk"]
    say("months fetched by refresh")
    fetched_acc = SourceAccount()
    entries = list_ingested(ctx.store_dir)
    street = apply_ingested(STREET_CRIMES_PLACED.empty(), entries, ctx.store_dir, geo,
                            {"files": SourceAccount(), "fetched": fetched_acc})
    replaced = np.zeros(len(seed_counts), dtype=bool)
    whole_month: set[str] = set()
    for entry in entries:
        replaced |= _seed_scope(seed_counts, entry)
        if (entry.kind == "api" and not entry.wards) or (entry.kind == "archive" and entry.scope == MET):
            whole_month.add(entry.month)
    kept = seed_counts[~replaced]
    fetched_counts = ward_counts(street, source="police_uk", type_col="crime_type", group_col=None, geo=geo)
    keys = ["area_code", "area_name", "borough_code", "month", "source", "crime_type", "crime_group"]
    counts = (pd.concat([kept, fetched_counts], ignore_index=True)
              .groupby(keys, as_index=False, observed=True, dropna=False)["count"].sum())
    counts = COUNTS.conform(counts.sort_values(["month", "area_code", "crime_type"], ignore_index=True))
    fetched_months = {e.month for e in entries}
    placed = counts[counts["month"].isin(fetched_months)].groupby(["month", "crime_type"], observed=True)["count"].sum()
    unplaced = street[street["ward_code"].isna()].groupby(["month", "crime_type"], observed=True).size()
    seed_unplaced = seed_totals.set_index(["month", "crime_type"])["unplaced"]
    seed_unplaced = seed_unplaced[[m in fetched_months and m not in whole_month
                                   for m in seed_unplaced.index.get_level_values(0)]]
    new = pd.concat([placed.rename("placed"), unplaced.rename("u1"), seed_unplaced.rename("u2")], axis=1).fillna(0)
    new = new.assign(unplaced=new["u1"] + new["u2"])
    new = new.assign(count=new["placed"] + new["unplaced"], source="police_uk").reset_index()
    new = new.rename(columns={"level_0": "month", "level_1": "crime_type"})
    totals = pd.concat([seed_totals[~seed_totals["month"].isin(fetched_months)],
                        new[list(TOTALS_TYPES)].astype(TOTALS_TYPES)], ignore_index=True)
    totals = totals.sort_values(["month", "crime_type"], ignore_index=True).astype(TOTALS_TYPES)
    _finish_street_accounts(street, {"api": fetched_acc}, ctx.data_dir)
    months_left = set(kept["month"].astype(str))
    seed_currency = seed_manifest.get("currency", {}).get("police_uk", {})
    input_months = set(seed_counts["month"].astype(str)) | fetched_months
    gaps = _police_uk_gaps(totals, input_months, [], fetched_acc.files)
    seed_gaps = [g for g in seed_currency.get("gaps", []) if g["month"] in months_left]
    return StepResult(
        {"street": street, "counts_police_uk": counts, "totals_police_uk": totals},
        {"police_uk_street": _seed_account(seed_manifest, "police_uk_street", months_left),
         "police_uk_fetched": fetched_acc,
         "police_uk_points_2022": _seed_account(seed_manifest, "police_uk_points_2022", months_left)},
        gaps={"police_uk": sorted({g["month"]: g for g in [*seed_gaps, *gaps]}.values(), key=lambda g: g["month"])},
        fetched={"police_uk": [*seed_currency.get("fetched", []), *_fetched_pieces(entries)]})


def _release_label(rel: releases.KeptRelease) -> str:
    return f"London Datastore: {rel.title} (fetched {rel.fetched_at})"


def _release_file(rel: releases.KeptRelease) -> dict[str, Any]:
    return {"path": _release_label(rel), "title": rel.title, "url": rel.url, "fetched_at": rel.fetched_at,
            "sha256": rel.sha256, "size": rel.size}


def mps_ward_step(ctx: BuildContext) -> StepResult:
    """The Met's ward extracts: the base's (raw files or the seed), then every kept download.

    For each month the newest extract holding it wins (history never shrinks: a month only
    older extracts hold stays); months a newer extract revised, and the cells it changed,
    are counted.
    """
    ctx.say("Met ward recorded crime")
    data_dir = ctx.data_dir
    acc = SourceAccount()
    extracts = []
    stubs = []
    known = set(ctx.geo.wards["ward_code"])
    seed_manifest: dict[str, Any] = {}
    if ctx.seeded:
        seed_manifest = json.loads((data_dir / MANIFEST).read_text())
        seed = read_seed_table(data_dir, "counts_mps_ward")
        frame = MPS_WARD_CRIME.conform(pd.DataFrame({
            "ward_code": seed["area_code"], "month": seed["month"], "offence_group": seed["crime_group"],
            "offence_subgroup": seed["crime_type"], "count": seed["count"], "source_file": "embedded snapshot"}))
        extracts.append(frame)
        seed_acc = seed_manifest.get("sources", {}).get("mps_ward", {})
        acc.files.extend(dict(f, path=f"embedded snapshot: {f['path']}") for f in seed_acc.get("files", []))
        stubs.extend(seed_acc.get("stubs", []))
    else:
        for path in sorted((data_dir / mps_ward.MPS_WARD_DIR).glob("*.csv")):
            release = mps_ward.read_mps_ward_release(path, known)
            extracts.append(release.frame.assign(source_file=_rel(path, data_dir)))
            acc.files.append({"path": _rel(path, data_dir), "sha256": sha256_file(path), "rows": len(release.frame)})
            acc.notes.extend(release.notes)
            if release.stub is not None:
                stubs.append({**release.stub.as_dict(), "release": _rel(path, data_dir)})
    kept = releases.list_releases(ctx.store_dir, "mps_ward")
    for rel in kept:
        with warnings.catch_warnings():  # the stub is recorded below, with the release's title
            warnings.simplefilter("ignore")
            release = mps_ward.read_mps_ward_release(releases.release_path(ctx.store_dir, rel), known)
        extracts.append(release.frame.assign(source_file=_release_label(rel)))
        acc.files.append({**_release_file(rel), "rows": len(release.frame)})
        acc.notes.extend(n.replace(rel.file, rel.title) for n in release.notes)
        if release.stub is not None:
            stubs.append({**release.stub.as_dict(), "release": _release_label(rel)})
    if not extracts:
        acc.notes.append(f"no extracts in {mps_ward.MPS_WARD_DIR}: no Met ward recorded crime")
    shrunk = mps_ward.shrunk_months(extracts)
    mps = mps_ward.combine_extracts(extracts, keep_earlier=set(shrunk))
    acc.rows_read = int(sum(f["count"].sum() for f in extracts))
    acc.rows_kept = int(mps["count"].sum())
    acc.drop("superseded_month", acc.rows_read - acc.rows_kept)
    acc.months = set(mps["month"].unique())
    revised, cells = mps_ward.count_revisions(extracts)
    acc.extra = {"unit": "crimes (the file holds counts, not rows)",
                 "revisions": {"months_revised": revised, "cells_changed": cells}, "stubs": stubs}
    counts = ward_counts(mps, source="mps_ward", type_col="offence_subgroup", group_col="offence_group",
                         geo=ctx.geo, count_col="count")
    totals = mps_ward_totals(mps)
    held = set(mps["month"].astype(str))
    gaps = [{**g.as_dict(), "missing": True} for g in find_gaps(totals)]
    for stub in stubs:
        filled = stub["month"] in held
        gaps.append({k: stub[k] for k in ("month", "count", "expected")} | {
            "reason": f"stub month in {stub.get('release', 'a Met release')}"
                      + ("; an earlier release's figures are used" if filled else "; left out"),
            "missing": not filled})
    for month, (now, before) in shrunk.items():
        gaps.append({"month": month, "count": now, "expected": before, "missing": False,
                     "reason": f"a newer Met release holds {1 - now / before:.0%} fewer crimes than the one before "
                               f"(more than the {mps_ward.SHRINK_TOLERANCE:.0%} a revision may change); "
                               "the earlier release's figures are kept"})
    fetched = [{"what": rel.title, "from": rel.url, "at": rel.fetched_at, "sha256": rel.sha256} for rel in kept]
    if ctx.seeded:
        fetched = [*seed_manifest.get("currency", {}).get("mps_ward", {}).get("fetched", []), *fetched]
    return StepResult({"mps_ward": mps, "counts_mps_ward": counts, "totals_mps_ward": totals}, {"mps_ward": acc},
                      gaps={"mps_ward": sorted({g["month"]: g for g in gaps}.values(), key=lambda g: g["month"])},
                      fetched={"mps_ward": fetched})


def trust_step(ctx: BuildContext) -> StepResult:
    """MOPAC PAS from every publication, official first, plus the users' confirmed trust tables.

    Inputs: the base's workbook sheets (raw ``PAS_buroughs.csv``/``PAS_Total.csv``, or the
    seed's trust table), the dashboard extracts and the official London series when the
    raw folder has them, every kept workbook download, and the uploads. They are merged by
    ``data_sources.build.trust_merge`` (official wins, newest release first) and London figures
    are derived only where none is published.
    """
    ctx.say("PAS trust")
    data_dir, geo = ctx.data_dir, ctx.geo
    acc = SourceAccount()
    codes = lookup.borough_codes_by_name(geo.lookup)
    parts: list[pd.DataFrame] = []
    order: list[str] = []
    seed_manifest: dict[str, Any] = {}
    if ctx.seeded:
        seed_manifest = json.loads((data_dir / MANIFEST).read_text())
        seed = read_seed_table(data_dir, "trust")
        seed = TRUST.conform(seed[seed["publication"] != pas.DERIVED])
        parts.append(seed)
        order.append("")
        acc.files.extend(dict(f, path=f"embedded snapshot: {f['path']}")
                         for f in seed_manifest.get("sources", {}).get("pas", {}).get("files", []))
    else:
        for rel in (pas.PAS_BOROUGH_FILE, pas.PAS_LONDON_FILE):
            t = pas.read_pas(data_dir / rel, codes).assign(source_file=rel)
            parts.append(t)
            order.append(f"{t['period_end'].max():%Y-%m}|")
            acc.files.append({"path": rel, "sha256": sha256_file(data_dir / rel), "rows": len(t)})
        for path in sorted((data_dir / pas_extra.DASHBOARD_DIR).glob("*.csv")):
            t, dropped = pas_extra.read_dashboard_extract(path, codes)
            parts.append(t.assign(source_file=_rel(path, data_dir)))
            order.append("")
            for reason, n in dropped.items():
                acc.drop(reason, n)
                acc.rows_read += n
            acc.files.append({"path": _rel(path, data_dir), "sha256": sha256_file(path), "rows": len(t),
                              "publication": pas.DASHBOARD})
        series = data_dir / pas_extra.LONDON_SERIES_FILE
        if series.is_file():
            t = pas_extra.read_london_series(series).assign(source_file=pas_extra.LONDON_SERIES_FILE)
            parts.append(t)
            order.append("")
            acc.files.append({"path": pas_extra.LONDON_SERIES_FILE, "sha256": sha256_file(series), "rows": len(t),
                              "publication": pas.LONDON_SERIES})
    kept = releases.list_releases(ctx.store_dir, "pas")
    for kept_release in kept:
        t = pas.read_pas_workbook(releases.release_path(ctx.store_dir, kept_release), codes)
        parts.append(t.assign(source_file=_release_label(kept_release)))
        order.append(f"{kept_release.newest}|{kept_release.fetched_at}")
        acc.files.append({**_release_file(kept_release), "rows": len(t), "publication": pas.WORKBOOK})
    known_areas = {**dict.fromkeys(geo.wards["ward_code"], "ward"),
                   **dict.fromkeys(geo.boroughs["borough_code"], "borough"), LONDON_CODE: "london"}
    for path in sorted((ctx.store_dir / UPLOADS).glob("*.csv")):
        t = pas.read_trust_table(path, known_areas).assign(source_file=f"upload: {path.name}")
        parts.append(t)
        order.append("")
        acc.files.append({"path": f"{UPLOADS}/{path.name}", "sha256": sha256_file(path), "rows": len(t)})
        acc.notes.append(f"user trust table {path.name}: {len(t):,} rows "
                         f"({', '.join(sorted(t['area_level'].unique()))} level)")
    merged, report = trust_merge.merge_trust(parts, order)
    derived = trust_merge.derive_london(merged, geo.population)
    trust = TRUST.conform(pd.concat([merged, derived], ignore_index=True).sort_values(
        ["area_level", "area_code", "measure_id", "period_end"], ignore_index=True))
    acc.rows_read += int(sum(len(t) for t in parts))
    acc.rows_kept = len(merged)
    acc.drop("superseded_by_higher_publication", sum(report.overlapping.values()))
    acc.months = {d.strftime("%Y-%m") for d in trust["period_end"]}
    acc.notes.extend(report.notes())
    acc.notes.append("No City of London: MOPAC surveys the Met's area only. No sample sizes are published.")
    currency = trust_currency(trust, [])
    acc.extra = {"derived_london": len(derived),
                 "by_publication": {k: v["by_publication"] for k, v in currency.items()}}
    fetched = [{"what": k.title, "from": k.url, "at": k.fetched_at, "sha256": k.sha256} for k in kept]
    if ctx.seeded:
        fetched = [*seed_manifest.get("currency", {}).get("pas", {}).get("fetched", []), *fetched]
    return StepResult({"trust": trust}, {"pas": acc}, fetched={"pas": fetched})


def harm_step(ctx: BuildContext) -> StepResult:
    """The harm weights table (no row account: it is reference data, not a count source)."""
    ctx.say("harm weights")
    if ctx.seeded:
        return StepResult({"harm_weights": read_seed_table(ctx.data_dir, "harm_weights")})
    weights = harm.read_cchi(ctx.data_dir / harm.CCHI_BY_TYPE_FILE, ctx.data_dir / harm.CCHI_BY_SUBGROUP_FILE)
    return StepResult({"harm_weights": weights})


#: The source steps, in the order they run; each adds tables, accounts and coverage.
STEPS: tuple[Callable[[BuildContext], StepResult], ...] = (police_uk_step, mps_ward_step, trust_step, harm_step)

