"""The stop-and-search build step: police.uk files and API answers → placed searches, counts, coverage.

Reads every bulk file under ``stop_search/`` (both forces) and every ``stops-force``
answer, places each search with coordinates in its 2022 ward (point in polygon, as crimes
are; there is no LSOA to fall back on), drops the few whose point lies outside London
(counted), and derives what the snapshot carries: counts per ward (or none, for searches
without coordinates), force, month and category (:func:`derive_counts`), coverage per force
and month with the gaps named (``data_sources.build.stop_search_coverage``), and the Census
ethnic-group denominators. A bulk file wins over an API answer for the same force and month.
On a seed (the embedded snapshot) the derived tables are carried over as they are.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_sources.build._frames import without_rows
from data_sources.build.inputs import InputCache, SourceAccount, read_seed_table, sha256_file
from data_sources.build.steps import BuildContext, StepResult
from data_sources.build.stop_search_coverage import judge_months
from data_sources.read import census_ethnicity, stop_search_api, stop_search_csv
from data_sources.read._stop_search import StopSearchReport
from data_sources.schemas import (
    CENSUS_ETHNICITY,
    STOP_SEARCH,
    STOP_SEARCH_COUNTS,
    STOP_SEARCH_MONTHS,
    STOP_SEARCH_PLACED,
)
from data_sources.store.kept_stops import kept_answers, kept_folder
from data_sources.store.versions import MANIFEST, STOP_SEARCH_TABLES
from geo.assign import WardLocator, assign_wards

STOP_SEARCH_DIR = "stop_search"
#: API answers of the Met (force from the folder: the files are named ``YYYY-MM.json.gz``).
API_DIRS = {"police_uk_api_met_stops_force": "metropolitan"}
#: Categories counted per ward, force and month.
DIMENSIONS = ("officer_defined_ethnicity", "self_defined_ethnicity", "age_range", "gender", "legislation",
              "object_of_search", "outcome", "outcome_linked", "search_type")
NOT_RECORDED = "(not recorded)"
#: Bumped when reading or validation changes, so cached files are read again.
READER_VERSION = "1"
ARREST, NFA = "Arrest", "A no further action disposal"


def _rel(path: Path, data_dir: Path) -> str:
    try:
        return str(path.relative_to(data_dir))
    except ValueError:
        return str(path)


def _read_cached(path: Path, cache: InputCache, read: Callable[[], tuple[pd.DataFrame, StopSearchReport]],
                 unit: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One file's validated rows and report, from the input cache when its content was read before."""
    sha = sha256_file(path)
    key = f"stop-search-{READER_VERSION}-{sha}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    frame, report = read()
    meta = {**report.as_dict(), "sha256": sha, "notes": report.notes(unit)}
    cache.put(key, frame, meta)
    return frame, meta


def read_all(data_dir: Path, store_dir: Path, cache: InputCache, account: SourceAccount) -> pd.DataFrame:
    """Every bulk file and API answer under ``data_dir/stop_search`` and kept by ``update``, validated.

    A bulk file wins over an API answer for the same force and month, and an answer kept by
    ``update`` (``data_sources.store.kept_stops``) over the raw folder's. Parsed files are
    cached by content hash (``store/inputs``), so a rebuild reads none again.
    """
    folder = data_dir / STOP_SEARCH_DIR
    frames: list[pd.DataFrame] = []
    held: set[tuple[str, str]] = set()
    for src in stop_search_csv.discover(folder) if folder.is_dir() else []:
        frame, meta = _read_cached(src.path, cache, partial(stop_search_csv.read_bulk_file, src,
                                                            label=_rel(src.path, data_dir)), "line")
        _account(account, meta)
        frames.append(frame)
        held.add((src.force, src.month))
    answers = [a for sub, force in API_DIRS.items() for a in stop_search_api.discover(folder / sub, force)]
    kept = kept_answers(store_dir)
    newer = {(force, month) for _, month, force in kept}
    for path, month, file_force in [*answers, *kept]:
        def read(path: Path = path, month: str = month, file_force: str = file_force
                 ) -> tuple[pd.DataFrame, StopSearchReport]:
            return stop_search_api.read_stops_force(stop_search_api.load_records(path),
                                                    name=_rel(path, data_dir), force=file_force, month=month)
        frame, meta = _read_cached(path, cache, read, "record")
        _account(account, meta)
        if (file_force, month) in held:
            account.drop("superseded_by_bulk_file", len(frame))
        elif (file_force, month) in newer and not path.is_relative_to(kept_folder(store_dir)):
            account.drop("superseded_by_update", len(frame))
        else:
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else STOP_SEARCH.empty()


def _account(account: SourceAccount, meta: dict[str, Any]) -> None:
    account.rows_read += int(meta["rows"])
    for reason, bad in meta["bad"].items():
        account.drop(reason, bad["count"])
    account.files.append({k: v for k, v in meta.items() if k != "notes"})
    account.notes.extend(meta["notes"])


def place_searches(rows: pd.DataFrame, locator: WardLocator, account: SourceAccount) -> pd.DataFrame:
    """Add ward and borough by point in polygon; drop (and count) searches whose point is in no London ward.

    Searches have no LSOA, so there is no fallback: no coordinates, no ward.
    """
    no_lsoa = pd.Series(pd.NA, index=range(len(rows)), dtype="string")
    ward, borough, placed_by = assign_wards(rows["longitude"].to_numpy(), rows["latitude"].to_numpy(), no_lsoa,
                                            locator=locator, lsoa_to_ward=pd.Series(dtype="string"))
    placed = rows.reset_index(drop=True).assign(ward_code=ward, borough_code=borough)
    outside = ((placed_by == "none") & rows["longitude"].notna().to_numpy()).to_numpy()
    account.drop("outside_london", int(outside.sum()))
    return STOP_SEARCH_PLACED.conform(without_rows(placed, outside))


def _outcome_group(outcome: pd.Series) -> pd.Series:
    arrest = (outcome == ARREST).fillna(False).to_numpy(dtype=bool)
    nfa = (outcome == NFA).fillna(False).to_numpy(dtype=bool)
    groups = np.where(arrest, "arrest", np.where(nfa, "nfa", "other"))
    return pd.Series(groups, index=outcome.index).where(outcome.notna(), NOT_RECORDED)


def derive_counts(placed: pd.DataFrame) -> pd.DataFrame:
    """Searches per ward (or none), force, month and category of each dimension (STOP_SEARCH_COUNTS).

    Besides the published dimensions, ``all`` counts every search and
    ``officer_ethnicity_outcome`` crosses officer-defined ethnicity with arrest / no
    further action / other, so that outcomes can be compared between groups. The keys
    are factorised once and each dimension counted with one ``bincount``.
    """
    keys = ["ward_code", "borough_code", "force", "month"]
    key_frame = placed[keys].astype("string")
    key_codes = key_frame.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()
    key_index = key_frame.iloc[np.unique(key_codes, return_index=True)[1]].reset_index(drop=True)
    columns = {"all": pd.Series("all", index=placed.index, dtype="string")}
    for dim in DIMENSIONS:
        columns[dim] = placed[dim].astype("string").fillna(NOT_RECORDED)
    columns["officer_ethnicity_outcome"] = (columns["officer_defined_ethnicity"] + "|"
                                            + _outcome_group(placed["outcome"]).astype("string"))
    parts = []
    for dim, values in columns.items():
        cat_codes, cats = pd.factorize(values)
        combined = key_codes.astype(np.int64) * len(cats) + cat_codes
        cells, n = np.unique(combined, return_counts=True)
        part = key_index.iloc[cells // len(cats)].reset_index(drop=True)
        parts.append(part.assign(category=np.asarray(cats, dtype=object)[cells % len(cats)], count=n,
                                 dimension=dim))
    counts = pd.concat(parts, ignore_index=True)
    counts = counts.sort_values(["dimension", "month", "force", "ward_code", "category"], ignore_index=True)
    return STOP_SEARCH_COUNTS.conform(counts)


def derive_months(placed: pd.DataFrame, outside: dict[tuple[str, str], int]) -> pd.DataFrame:
    """Coverage per force and month, every month of each force's span, with gaps judged."""
    if placed.empty:
        return STOP_SEARCH_MONTHS.empty()
    local_day = placed["datetime"].dt.tz_convert("Europe/London").dt.day
    g = placed.assign(day=local_day, no_loc=placed["longitude"].isna()).groupby(["force", "month"], observed=True)
    held = g.agg(searches=("day", "size"), no_location=("no_loc", "sum"), first_day=("day", "min"),
                 last_day=("day", "max"), dataset=("dataset", "first")).reset_index()
    held["outside_london"] = [outside.get((str(f), str(m)), 0) for f, m in zip(held["force"], held["month"],
                                                                                strict=True)]
    return judge_forces(held)


def judge_forces(held: pd.DataFrame) -> pd.DataFrame:
    """Judge each force's held months into the STOP_SEARCH_MONTHS table.

    ``held`` has ``force, month, searches, no_location, outside_london, first_day, last_day,
    dataset``, one row per force and month with searches.
    """
    frames = []
    for force, part in held.groupby("force", sort=True, observed=True):
        frames.append(judge_months(part.drop(columns="force").astype({"month": str})).assign(force=str(force)))
    if not frames:
        return STOP_SEARCH_MONTHS.empty()
    out = pd.concat(frames, ignore_index=True)
    ints = ("searches", "no_location", "outside_london", "first_day", "last_day")
    return STOP_SEARCH_MONTHS.conform(out.astype(dict.fromkeys(ints, "int64")))


def stop_search_step(ctx: BuildContext) -> StepResult:
    """Stop and search: placed rows (``stop_search``), counts, coverage and the Census denominators."""
    ctx.say("stop and search")
    if ctx.seeded:
        return _from_seed(ctx)
    placed, counts, months, acc = _placed_and_counted(ctx)
    codes = set(ctx.geo.boroughs["borough_code"])
    census_path = ctx.data_dir / census_ethnicity.CENSUS_ETHNICITY_FILE
    if census_path.is_file():
        census, notes = census_ethnicity.read_census_ethnicity(census_path, codes)
        acc.notes.extend(notes)
    else:
        census = CENSUS_ETHNICITY.empty()
        acc.notes.append(f"{census_ethnicity.CENSUS_ETHNICITY_FILE} not found: no rates by ethnic group")
    return StepResult({"stop_search": placed, "stop_search_counts": counts, "stop_search_months": months,
                       "census_ethnicity": census}, {"stop_search": acc})


def _input_key(data_dir: Path, store_dir: Path, geo_key: str) -> str:
    """One key for every input file's content (and the reader and ward geometry versions)."""
    folder = data_dir / STOP_SEARCH_DIR
    paths = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    paths += [p for p, _, _ in kept_answers(store_dir)]
    parts = [f"{_rel(p, data_dir)}:{sha256_file(p)}" for p in paths]
    return hashlib.sha256("|".join([READER_VERSION, geo_key, *parts]).encode()).hexdigest()[:32]


def _placed_and_counted(ctx: BuildContext) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, SourceAccount]:
    """Placed rows, counts, coverage and the row account: from the input cache when no input changed.

    Reading, placing and counting 530k searches takes seconds; a rebuild with the same
    files (the usual case: a new crime month, a new survey) reuses the result whole.
    """
    key = f"stop-search-all-{_input_key(ctx.data_dir, ctx.store_dir, ctx.geo.key)}"
    hit, counts_hit = ctx.cache.get(f"{key}-placed"), ctx.cache.get(f"{key}-counts")
    if hit is not None and counts_hit is not None:
        placed, meta = hit
        months = STOP_SEARCH_MONTHS.conform(pd.DataFrame(meta["months"]).astype({"gap_reason": "string"}))
        return (STOP_SEARCH_PLACED.conform(placed), STOP_SEARCH_COUNTS.conform(counts_hit[0]), months,
                _account_from(meta["account"]))
    acc = SourceAccount()
    rows = read_all(ctx.data_dir, ctx.store_dir, ctx.cache, acc)
    placed = place_searches(rows, ctx.geo.locator, acc)
    acc.rows_kept = len(placed)
    acc.months = set(placed["month"].astype(str))
    months = derive_months(placed, _outside_by_month(rows, placed))
    acc.extra = {"no_location_kept": int(placed["ward_code"].isna().sum()),
                 "identical_rows_kept": int(sum(f["identical_rows"] for f in acc.files)),
                 "gaps": _gap_list(months)}
    counts = derive_counts(placed)
    as_json = months.astype({"gap_reason": object}).where(months.notna(), None)
    ctx.cache.put(f"{key}-placed", placed, {"account": acc.as_dict(), "months": as_json.to_dict(orient="list")})
    ctx.cache.put(f"{key}-counts", counts, {})
    return placed, counts, months, acc


def _account_from(src: dict[str, Any]) -> SourceAccount:
    src = dict(src)
    acc = SourceAccount(int(src.pop("rows_read", 0)), int(src.pop("rows_kept", 0)), dict(src.pop("dropped", {})),
                        set(src.pop("months", [])), list(src.pop("files", [])), list(src.pop("notes", [])))
    acc.extra = src
    return acc


def _outside_by_month(rows: pd.DataFrame, placed: pd.DataFrame) -> dict[tuple[str, str], int]:
    before = rows.groupby(["force", "month"], observed=True).size()
    after = placed.groupby(["force", "month"], observed=True).size().reindex(before.index, fill_value=0)
    return {(str(f), str(m)): int(n) for (f, m), n in (before - after).items() if n}


def _gap_list(months: pd.DataFrame) -> list[dict[str, object]]:
    gaps = months[months["gap"]]
    return [{"force": str(f), "month": str(m), "searches": int(n), "reason": str(r)}
            for f, m, n, r in gaps[["force", "month", "searches", "gap_reason"]].itertuples(index=False)]


def _from_seed(ctx: BuildContext) -> StepResult:
    """The snapshot's derived tables, with any force-months kept by ``update`` laid over them."""
    seed_manifest = json.loads((ctx.data_dir / MANIFEST).read_text())
    tables = {}
    for name in STOP_SEARCH_TABLES:
        path = ctx.data_dir / f"{name}.parquet"
        tables[name] = read_seed_table(ctx.data_dir, name) if path.is_file() else {
            "stop_search_counts": STOP_SEARCH_COUNTS, "stop_search_months": STOP_SEARCH_MONTHS,
            "census_ethnicity": CENSUS_ETHNICITY}[name].empty()
    acc = _account_from(seed_manifest.get("sources", {}).get("stop_search") or {})
    acc.notes.append("from the embedded snapshot's build: counts only, no search rows")
    placed = STOP_SEARCH_PLACED.empty()
    if kept_answers(ctx.store_dir):
        fetched = SourceAccount()
        rows = read_all(ctx.data_dir / "(no raw folder)", ctx.store_dir, ctx.cache, fetched)
        placed = place_searches(rows, ctx.geo.locator, fetched)
        pairs = set(zip(placed["force"].astype(str), placed["month"].astype(str), strict=True))
        counts, months = tables["stop_search_counts"], tables["stop_search_months"]
        old = [(str(f), str(m)) in pairs for f, m in zip(counts["force"], counts["month"], strict=True)]
        text = [c for c in STOP_SEARCH_COUNTS.columns if c != "count"]
        counts = pd.concat([counts[~np.array(old, dtype=bool)].astype(dict.fromkeys(text, object)),
                            derive_counts(placed).astype(dict.fromkeys(text, object))], ignore_index=True)
        tables["stop_search_counts"] = STOP_SEARCH_COUNTS.conform(counts)
        new_months = derive_months(placed, _outside_by_month(rows, placed))
        kept_rows = months[[(str(f), str(m)) not in pairs for f, m in zip(months["force"], months["month"],
                                                                           strict=True)]]
        held = pd.concat([kept_rows, new_months], ignore_index=True)
        tables["stop_search_months"] = judge_forces(held[held["searches"] > 0].drop(columns=["gap", "gap_reason"]))
        acc.rows_read += fetched.rows_read
        acc.rows_kept += len(placed)
        for reason, n in fetched.dropped.items():
            acc.drop(reason, n)
        acc.months |= {m for _, m in pairs}
        acc.files.extend(fetched.files)
        acc.notes.append(f"{len(pairs)} force-month(s) pulled by update laid over the snapshot's counts")
        acc.extra["gaps"] = _gap_list(tables["stop_search_months"])
    return StepResult({"stop_search": placed, **tables}, {"stop_search": acc})
