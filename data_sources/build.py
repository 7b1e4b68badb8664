"""Build the store from its base and everything pulled since: sources → tidy tables → placed → store.

The **base** is the raw data folder (layout as in ``../shared/data``) or, on a machine
without one, the seed: the embedded snapshot copied into ``store/inputs/seed``
(``data_sources.seed``). Over the base the build lays everything kept in the store:
police.uk months fetched by ``refresh``/``update`` (``store/inputs/ingested``), Met and
PAS releases downloaded from the London Datastore (``store/inputs/releases``), and users'
trust tables (``store/inputs/uploads``). One step per source (:data:`STEPS`) reads its
inputs; the newest release wins per month (Met) and per quarter, area and measure (PAS,
after the official-first precedence of ``data_sources.trust_merge``).

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
  gaps and where each downloaded piece came from (shape in ``data_sources.currency``);
- ``base``: ``{"kind": "raw" | "seed", "folder": ...}``; ``data_dir``: the base folder;
- ``tables`` (rows per table), ``built_at``, ``code_version``, ``seconds``.

Coverage gaps (``data_sources.coverage``: a month empty or below half of its
neighbours, or a stub month in a Met release) are recorded in ``currency`` and printed
by :func:`summary_lines`; the rows are kept as they are, and the months are marked so
that charts can show them as missing rather than as a drop.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from data_sources import harm, lookup, mps_ward, pas, pas_extra, points_2022, population, releases, trust_merge
from data_sources._frames import without_rows
from data_sources.api_mapping import CITY, MET
from data_sources.coverage import find_gaps, month_range
from data_sources.currency import crime_currency, trust_currency
from data_sources.errors import InputFileError
from data_sources.ingested import IngestedInput, list_ingested, read_ingested
from data_sources.police_uk_csv import StreetInput, discover_street_files, read_street_file
from data_sources.schemas import AREAS, COUNTS, MPS_WARD_CRIME, STREET_CRIMES_PLACED, TRUST
from data_sources.seed import is_seed
from data_sources.settings import CITY_OF_LONDON_CODE, LONDON_CODE, REPO_ROOT
from data_sources.store import MANIFEST, VersionWriter, write_atomic_bytes, write_table_atomic
from geo.assign import WardLocator, assign_wards
from geo.wards import build_wards, display_geometry, dissolve_boroughs

STREET_DIR = "crime"
KML_DIR = "boundaries/police_uk_boundaries_2025-02/neighborhood boundaries(2025-02)"
#: Bumped when placement or parsing changes, so cached inputs are re-read.
PARSER_VERSION = "1"
#: Users' own trust tables, confirmed in the app, are kept here and read by every build.
UPLOADS = "inputs/uploads"

Progress = Callable[[str], None]


@dataclass
class SourceAccount:
    """Row accounting for one source: rows read = kept + every drop reason."""

    rows_read: int = 0
    rows_kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    months: set[str] = field(default_factory=set)
    files: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def drop(self, reason: str, n: int) -> None:
        if n:
            self.dropped[reason] = self.dropped.get(reason, 0) + int(n)

    def as_dict(self) -> dict[str, Any]:
        return {"rows_read": self.rows_read, "rows_kept": self.rows_kept, "dropped": self.dropped,
                "months": sorted(self.months), "files": self.files, "notes": self.notes, **self.extra}


@dataclass(frozen=True)
class Geography:
    """Everything spatial the build needs, read once."""

    lookup: pd.DataFrame
    wards: gpd.GeoDataFrame
    boroughs: gpd.GeoDataFrame
    population: pd.DataFrame
    locator: WardLocator
    key: str
    #: "raw" (the raw data folder) or "seed" (the embedded snapshot).
    base: str = "raw"

    @property
    def lsoa_to_ward(self) -> pd.Series:
        return self.lookup.set_index("lsoa_code")["ward_code"]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def code_version() -> str:
    """The git commit of this code (with '-dirty' for local changes), or 'unknown'."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=REPO_ROOT, capture_output=True,
                             text=True, timeout=5, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def read_seed_table(seed_dir: Path, name: str) -> pd.DataFrame:
    """One table of a seed (the snapshot's layout); a missing one is an InputFileError saying what to do."""
    path = seed_dir / f"{name}.parquet"
    try:
        if name in ("wards_placement", "wards_display", "boroughs_display"):
            return gpd.read_parquet(path)
        return pd.read_parquet(path)
    except (OSError, ValueError) as e:
        raise InputFileError(path, f"cannot be read from the seed ({e})",
                             hint="delete store/inputs/seed and run the update again to re-seed") from e


def load_geography(data_dir: Path) -> Geography:
    """Read the lookup, ward polygons and population, and index the wards."""
    if is_seed(data_dir):
        wards = read_seed_table(data_dir, "wards_placement")
        lk = read_seed_table(data_dir, "lsoa_lookup").astype("string")
        pop = read_seed_table(data_dir, "population")
        key = hashlib.sha256(b"".join(wards.geometry.to_wkb().tolist()) + PARSER_VERSION.encode()).hexdigest()[:16]
        return Geography(lk, wards, dissolve_boroughs(wards), pop, WardLocator.from_wards(wards), key, "seed")
    lk = lookup.read_lsoa_lookup(data_dir / lookup.LOOKUP_FILE)
    kml = data_dir / KML_DIR
    wards = build_wards(kml / "metropolitan", kml / "city-of-london", lookup.ward_names(lk))
    pop = population.read_population(data_dir / population.POPULATION_LSOA_FILE,
                                     data_dir / population.POPULATION_LTLA_FILE, lk)
    key = hashlib.sha256(b"".join(wards.geometry.to_wkb().tolist()) + PARSER_VERSION.encode()).hexdigest()[:16]
    return Geography(lk, wards, dissolve_boroughs(wards), pop, WardLocator.from_wards(wards), key)


def areas_table(geo: Geography) -> pd.DataFrame:
    """The AREAS table: every ward, borough and London with names and km²."""
    w = geo.wards
    wards = pd.DataFrame({"area_code": w["ward_code"], "area_name": w["ward_name"], "area_level": "ward",
                          "borough_code": w["borough_code"], "borough_name": w["borough_name"],
                          "area_km2": w.area.to_numpy() / 1e6})
    b = geo.boroughs
    boroughs = pd.DataFrame({"area_code": b["borough_code"], "area_name": b["borough_name"], "area_level": "borough",
                             "borough_code": b["borough_code"], "borough_name": b["borough_name"],
                             "area_km2": b.area.to_numpy() / 1e6})
    london = pd.DataFrame({"area_code": [LONDON_CODE], "area_name": ["London"], "area_level": ["london"],
                           "borough_code": [pd.NA], "borough_name": [pd.NA], "area_km2": [b.area.sum() / 1e6]})
    return AREAS.conform(pd.concat([wards, boroughs, london], ignore_index=True))


def place(frame: pd.DataFrame, geo: Geography) -> pd.DataFrame:
    """Add ``ward_code, borough_code, placed_by`` to street rows."""
    ward, borough, placed_by = assign_wards(frame["longitude"].to_numpy(), frame["latitude"].to_numpy(),
                                            frame["lsoa_code"], locator=geo.locator, lsoa_to_ward=geo.lsoa_to_ward)
    out = frame.reset_index(drop=True).assign(ward_code=ward, borough_code=borough, placed_by=placed_by)
    return STREET_CRIMES_PLACED.conform(out)


class InputCache:
    """Parsed-and-placed input files under ``store/inputs``, keyed by content hash.

    A small index maps (path, size, mtime) to the hash so unchanged files are not even
    re-hashed on the next build.
    """

    def __init__(self, store_dir: Path, geo_key: str) -> None:
        self.dir = store_dir / "inputs"
        self.geo_key = geo_key
        self.pending: dict[str, tuple[pd.DataFrame, dict[str, Any]]] = {}
        self.index_path = self.dir / "index.json"
        try:
            self.index: dict[str, str] = json.loads(self.index_path.read_text())
        except (OSError, ValueError):
            self.index = {}

    def fingerprint(self, src: StreetInput, raw_hash: Callable[[], str]) -> str:
        stat_key = f"{src.name}|{src.size}|{src.mtime_ns}"
        if stat_key not in self.index:
            self.index[stat_key] = raw_hash()
        return self.index[stat_key]

    def get(self, sha: str) -> tuple[pd.DataFrame, dict[str, Any]] | None:
        data, meta = self.dir / f"{sha}-{self.geo_key}.parquet", self.dir / f"{sha}-{self.geo_key}.json"
        if data.is_file() and meta.is_file():
            try:
                return pd.read_parquet(data), json.loads(meta.read_text())
            except (OSError, ValueError):
                return None
        return None

    def put(self, sha: str, frame: pd.DataFrame, meta: dict[str, Any]) -> None:
        """Stage a parsed file; nothing is written until :meth:`flush`."""
        self.pending[sha] = (frame, meta)

    def flush(self) -> None:
        """Write staged files and the index.

        Called only once the build has been published, so a failed build leaves
        ``store/inputs`` exactly as it was.
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        for sha, (frame, meta) in self.pending.items():
            write_table_atomic(self.dir / f"{sha}-{self.geo_key}.parquet", frame)
            write_atomic_bytes(self.dir / f"{sha}-{self.geo_key}.json", json.dumps(meta).encode())
        self.pending.clear()
        write_atomic_bytes(self.index_path, json.dumps(self.index, indent=0).encode())


def _content_key(src: StreetInput) -> str:
    """A key for a file's content without unpacking it.

    Plain and gzipped files: the SHA-256 of their bytes on disk. Archive members: the CRC-32
    and size the zip directory records for them, so a 36-month archive is not unpacked
    just to be recognised.
    """
    if src.archive:
        return f"zip-{src.crc32:08x}-{src.size}"
    return sha256_file(Path(src.name))


def read_street_inputs(sources: list[StreetInput], geo: Geography, cache: InputCache, account: SourceAccount,
                       progress: Progress) -> pd.DataFrame:
    """Read (or take from cache) every street file, resolve overlaps and drop rows outside London.

    When the same month and force arrive in several files (overlapping archives), the
    newest file wins and the others' rows are dropped as ``superseded_month``.
    """
    chosen: dict[tuple[str, str], tuple[tuple[str, int], StreetInput]] = {}
    for src in sources:
        rank = (Path(src.archive).name if src.archive else "", src.mtime_ns)
        key = (src.month, src.force)
        if key not in chosen or rank >= chosen[key][0]:
            chosen[key] = (rank, src)
    winners = {id(s) for _, s in chosen.values()}
    frames: list[pd.DataFrame] = []
    seen_sha: set[str] = set()
    meta: dict[str, Any]
    for src in sources:
        progress(f"street file {Path(src.name).name}")
        sha = cache.fingerprint(src, partial(_content_key, src))
        cached = cache.get(sha)
        if cached is None:
            frame, report = read_street_file(src)
            placed = place(frame, geo)
            meta = {"rows": report.rows, "no_location": report.no_location, "repeated_ids": report.repeated_ids,
                    "identical_rows": report.identical_rows, "blank_ids": report.blank_ids,
                    "crime_types": report.crime_types, "warnings": list(report.warnings)}
            cache.put(sha, placed, meta)
        else:
            placed, meta = cached
            placed = placed.assign(source_file=src.name)
        account.rows_read += meta["rows"]
        account.files.append({"path": src.name, "sha256": sha, "month": src.month, "force": src.force, **meta})
        account.notes.extend(meta["warnings"])
        if id(src) not in winners:
            reason = "duplicate_file" if sha in seen_sha else "superseded_month"
            account.drop(reason, len(placed))
            continue
        seen_sha.add(sha)
        frames.append(placed)
    if not frames:
        return STREET_CRIMES_PLACED.empty()
    rows = pd.concat(frames, ignore_index=True)
    return drop_outside_london(rows, account)


def drop_outside_london(rows: pd.DataFrame, account: SourceAccount) -> pd.DataFrame:
    """Rows with coordinates that no London ward or London LSOA claims are outside London."""
    outside = (rows["placed_by"] == "none") & rows["longitude"].notna()
    account.drop("outside_london", int(outside.sum()))
    return without_rows(rows, outside.to_numpy())


def apply_ingested(street: pd.DataFrame, entries: list[IngestedInput], store_dir: Path, geo: Geography,
                   accounts: dict[str, SourceAccount]) -> pd.DataFrame:
    """Lay fetched months over the rows read from files, oldest fetch first.

    An API fetch replaces the month's rows in the wards it covered (all of London when it
    lists none); an archive file replaces the month's rows published by the same force.
    Replaced rows are counted as ``superseded_by_refresh`` in the source they came from.
    """
    fetched = accounts["fetched"]
    for entry in entries:
        rows = place(read_ingested(store_dir, entry), geo)
        fetched.rows_read += len(rows)
        fetched.files.append({"path": entry.file, "month": entry.month, "kind": entry.kind, "scope": entry.scope,
                              "fetched_at": entry.fetched_at, "source": entry.source, "rows": entry.rows})
        rows = drop_outside_london(rows, fetched)
        same_month = (street["month"] == entry.month).to_numpy()
        if entry.kind == "archive":
            replaced = same_month & (street["reported_by"] == entry.scope).fillna(False).to_numpy()
        elif entry.wards:
            replaced = same_month & street["ward_code"].isin(entry.wards).to_numpy()
        else:
            replaced = same_month
        for dataset, n in street.loc[replaced, "dataset"].value_counts().items():
            accounts["files" if dataset == "street_csv" else "fetched"].drop("superseded_by_refresh", int(n))
        street = pd.concat([street.loc[~replaced], rows], ignore_index=True)
    return street


def read_points(path: Path, geo: Geography, covered: set[tuple[str, str]], account: SourceAccount,
                cache: InputCache) -> pd.DataFrame:
    """Read the 2022 points, keep London's, and drop month/type pairs a street file already covers.

    The placed points are cached by content hash like the street files, so a rebuild does
    not parse and place 849k rows again.
    """
    sha = sha256_file(path)
    cached = cache.get(sha)
    if cached is None:
        placed = place(points_2022.read_points_2022(path), geo)
        cache.put(sha, placed, {"rows": len(placed)})
    else:
        placed = cached[0]
    account.rows_read += len(placed)
    account.files.append({"path": points_2022.POINTS_FILE, "sha256": sha, "rows": len(placed)})
    rows = drop_outside_london(placed, account)
    keys = rows["month"].astype(str) + "|" + rows["crime_type"].astype(str)
    dup = keys.isin({f"{m}|{t}" for m, t in covered}).to_numpy()
    account.drop("covered_by_street_file", int(dup.sum()))
    return without_rows(rows, dup)


def ward_counts(rows: pd.DataFrame, *, source: str, type_col: str, group_col: str | None,
                geo: Geography, count_col: str | None = None) -> pd.DataFrame:
    """Aggregate placed rows (or counted rows) to the COUNTS table at ward level."""
    rows = rows[rows["ward_code"].notna()]
    keys = ["ward_code", "month", type_col] + ([group_col] if group_col and group_col != type_col else [])
    if count_col:
        agg = rows.groupby(keys, as_index=False, observed=True)[count_col].sum().rename(columns={count_col: "count"})
    else:
        agg = rows.groupby(keys, as_index=False, observed=True).size().rename(columns={"size": "count"})
    names = geo.wards.set_index("ward_code")[["ward_name", "borough_code"]]
    agg = agg.join(names, on="ward_code")
    out = pd.DataFrame({
        "area_code": agg["ward_code"], "area_name": agg["ward_name"], "borough_code": agg["borough_code"],
        "month": agg["month"], "source": source, "crime_type": agg[type_col],
        "crime_group": agg[group_col] if group_col else agg[type_col], "count": agg["count"],
    })
    return COUNTS.conform(out.sort_values(["month", "area_code", "crime_type"], ignore_index=True))


_TOTALS_TYPES = {"source": "string", "month": "string", "crime_type": "string", "count": "int64", "unplaced": "int64"}


def police_uk_totals(street: pd.DataFrame) -> pd.DataFrame:
    """Monthly London police.uk totals per type, including crimes with no usable location."""
    pu = street.groupby(["month", "crime_type"], observed=True).agg(
        count=("crime_type", "size"), unplaced=("ward_code", lambda s: int(s.isna().sum()))).reset_index()
    return pu.assign(source="police_uk")[list(_TOTALS_TYPES)].astype(_TOTALS_TYPES)


def mps_ward_totals(mps: pd.DataFrame) -> pd.DataFrame:
    """Monthly London totals of the Met's table per offence subgroup."""
    mw = mps.groupby(["month", "offence_subgroup"], observed=True)["count"].sum().reset_index()
    mw = mw.rename(columns={"offence_subgroup": "crime_type"}).assign(unplaced=0, source="mps_ward")
    return mw[list(_TOTALS_TYPES)].astype(_TOTALS_TYPES)


def london_totals(street: pd.DataFrame, mps: pd.DataFrame) -> pd.DataFrame:
    """Monthly London totals per source and type, including crimes with no usable location."""
    out = pd.concat([police_uk_totals(street), mps_ward_totals(mps)], ignore_index=True)
    return out.astype(_TOTALS_TYPES)


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
                        new[list(_TOTALS_TYPES)].astype(_TOTALS_TYPES)], ignore_index=True)
    totals = totals.sort_values(["month", "crime_type"], ignore_index=True).astype(_TOTALS_TYPES)
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
    mps = mps_ward.combine_extracts(extracts)
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
    ``data_sources.trust_merge`` (official wins, newest release first) and London figures
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


def build_store(data_dir: Path, store_dir: Path, *, progress: Progress | None = None,
                street_paths: list[Path] | None = None) -> dict[str, Any]:
    """Build a new store version from its base and everything kept in the store, and publish it atomically.

    Parameters
    ----------
    data_dir
        The base: the raw data folder (layout as in ``../shared/data``), or a seed (the
        snapshot copied into ``store/inputs/seed``, see ``data_sources.seed``).
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
    for step in STEPS:
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
    totals = pd.concat([found["totals_police_uk"], found["totals_mps_ward"]], ignore_index=True).astype(_TOTALS_TYPES)
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
