"""Build the store from the raw public files: sources → tidy tables → placed → store.

Every input row is accounted for: kept, or dropped for a named reason, per source, and
the same numbers go to the manifest and the closing summary. Parsed-and-placed input
files are cached by content hash, so adding a month reads only the new file.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from data_sources import harm, lookup, mps_ward, pas, points_2022, population
from data_sources._frames import without_rows
from data_sources.errors import InputFileError
from data_sources.ingested import IngestedInput, list_ingested, read_ingested
from data_sources.police_uk_csv import StreetInput, discover_street_files, read_street_file
from data_sources.schemas import AREAS, COUNTS, STREET_CRIMES_PLACED
from data_sources.settings import LONDON_CODE, REPO_ROOT
from data_sources.store import VersionWriter, write_atomic_bytes, write_table_atomic
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


def load_geography(data_dir: Path) -> Geography:
    """Read the lookup, ward polygons and population, and index the wards."""
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


def london_totals(street: pd.DataFrame, mps: pd.DataFrame) -> pd.DataFrame:
    """Monthly London totals per source and type, including crimes with no usable location."""
    pu = street.groupby(["month", "crime_type"], observed=True).agg(
        count=("crime_type", "size"), unplaced=("ward_code", lambda s: int(s.isna().sum()))).reset_index()
    mw = mps.groupby(["month", "offence_subgroup"], observed=True)["count"].sum().reset_index()
    mw = mw.rename(columns={"offence_subgroup": "crime_type"}).assign(unplaced=0)
    out = pd.concat([pu.assign(source="police_uk"), mw.assign(source="mps_ward")], ignore_index=True)
    return out[["source", "month", "crime_type", "count", "unplaced"]].astype(
        {"source": "string", "month": "string", "crime_type": "string", "count": "int64", "unplaced": "int64"})


def _rel(path: Path | str, data_dir: Path) -> str:
    try:
        return str(Path(path).relative_to(data_dir))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class BuildContext:
    """What every source step reads: the inputs' folders, the geography and the input cache."""

    data_dir: Path
    store_dir: Path
    geo: Geography
    cache: InputCache
    say: Progress
    street_paths: list[Path] | None = None


@dataclass
class StepResult:
    """One source step's output: its tables (by name) and its row accounts (by manifest key)."""

    tables: dict[str, pd.DataFrame]
    accounts: dict[str, SourceAccount] = field(default_factory=dict)


def police_uk_step(ctx: BuildContext) -> StepResult:
    """police.uk street rows: street files, then fetched months laid over them, then the 2022 points.

    Returns the placed rows as table ``street`` and the accounts ``police_uk_street``,
    ``police_uk_fetched`` and ``police_uk_points_2022``.
    """
    data_dir, geo, cache, say = ctx.data_dir, ctx.geo, ctx.cache, ctx.say
    say("street-level files")
    street_acc = SourceAccount()
    sources = [s for p in (ctx.street_paths or [data_dir / STREET_DIR]) for s in discover_street_files(p)]
    street = read_street_inputs(sources, geo, cache, street_acc, say)
    fetched_acc = SourceAccount()
    say("months fetched by refresh")
    street = apply_ingested(street, list_ingested(ctx.store_dir), ctx.store_dir, geo,
                            {"files": street_acc, "fetched": fetched_acc})
    covered = set(zip(street["month"], street["crime_type"], strict=True))

    say("2022 points")
    points_acc = SourceAccount()
    if (data_dir / points_2022.POINTS_FILE).is_file():
        points = read_points(data_dir / points_2022.POINTS_FILE, geo, covered, points_acc, cache)
        street = pd.concat([street, points], ignore_index=True)
    else:
        points_acc.notes.append(f"{points_2022.POINTS_FILE} not found: no 2022 all-type baseline")
    for acc, datasets in ((street_acc, ["street_csv"]), (points_acc, ["points_2022"]),
                          (fetched_acc, ["api", "archive"])):
        part = street[street["dataset"].isin(datasets)]
        acc.rows_kept = len(part)
        acc.months = set(part["month"].unique())
        acc.extra = {"no_location_kept": int(part["longitude"].isna().sum()),
                     "placed_by": {str(k): int(v) for k, v in part["placed_by"].value_counts().items()},
                     "crime_types": sorted(part["crime_type"].unique())}
        acc.files = [dict(f, path=_rel(f["path"], data_dir)) for f in acc.files]
        acc.notes = [n.replace(str(data_dir) + "/", "") for n in acc.notes]
    return StepResult({"street": street}, {"police_uk_street": street_acc, "police_uk_fetched": fetched_acc,
                                           "police_uk_points_2022": points_acc})


def mps_ward_step(ctx: BuildContext) -> StepResult:
    """The Met's ward extracts, combined so that the newest extract wins for every month it holds."""
    ctx.say("Met ward recorded crime")
    data_dir = ctx.data_dir
    acc = SourceAccount()
    extracts = []
    known = set(ctx.geo.wards["ward_code"])
    for path in sorted((data_dir / mps_ward.MPS_WARD_DIR).glob("*.csv")):
        frame, notes = mps_ward.read_mps_ward_file(path, known)
        extracts.append(frame.assign(source_file=_rel(path, data_dir)))
        acc.files.append({"path": _rel(path, data_dir), "sha256": sha256_file(path), "rows": len(frame)})
        acc.notes.extend(notes)
    if not extracts:
        acc.notes.append(f"no extracts in {mps_ward.MPS_WARD_DIR}: no Met ward recorded crime")
    mps = mps_ward.combine_extracts(extracts)
    acc.rows_read = int(sum(f["count"].sum() for f in extracts))
    acc.rows_kept = int(mps["count"].sum())
    acc.drop("superseded_month", acc.rows_read - acc.rows_kept)
    acc.months = set(mps["month"].unique())
    acc.extra = {"unit": "crimes (the file holds counts, not rows)"}
    return StepResult({"mps_ward": mps}, {"mps_ward": acc})


def trust_step(ctx: BuildContext) -> StepResult:
    """MOPAC PAS (borough and London) and the users' confirmed trust tables."""
    ctx.say("PAS trust")
    data_dir, geo = ctx.data_dir, ctx.geo
    acc = SourceAccount()
    codes = lookup.borough_codes_by_name(geo.lookup)
    parts = []
    for rel in (pas.PAS_BOROUGH_FILE, pas.PAS_LONDON_FILE):
        t = pas.read_pas(data_dir / rel, codes).assign(source_file=rel)
        parts.append(t)
        acc.files.append({"path": rel, "sha256": sha256_file(data_dir / rel), "rows": len(t)})
    known_areas = {**dict.fromkeys(geo.wards["ward_code"], "ward"),
                   **dict.fromkeys(geo.boroughs["borough_code"], "borough"), LONDON_CODE: "london"}
    for path in sorted((ctx.store_dir / UPLOADS).glob("*.csv")):
        t = pas.read_trust_table(path, known_areas).assign(source_file=f"upload: {path.name}")
        parts.append(t)
        acc.files.append({"path": f"{UPLOADS}/{path.name}", "sha256": sha256_file(path), "rows": len(t)})
        acc.notes.append(f"user trust table {path.name}: {len(t):,} rows "
                         f"({', '.join(sorted(t['area_level'].unique()))} level)")
    trust = pd.concat(parts, ignore_index=True)
    acc.rows_read = acc.rows_kept = len(trust)
    acc.months = {d.strftime("%Y-%m") for d in trust["period_end"]}
    acc.notes.append("No City of London: MOPAC surveys the Met's area only. No sample sizes are published.")
    return StepResult({"trust": trust}, {"pas": acc})


def harm_step(ctx: BuildContext) -> StepResult:
    """The harm weights table (no row account: it is reference data, not a count source)."""
    ctx.say("harm weights")
    weights = harm.read_cchi(ctx.data_dir / harm.CCHI_BY_TYPE_FILE, ctx.data_dir / harm.CCHI_BY_SUBGROUP_FILE)
    return StepResult({"harm_weights": weights})


#: The source steps, in the order they run; each adds tables and accounts.
STEPS: tuple[Callable[[BuildContext], StepResult], ...] = (police_uk_step, mps_ward_step, trust_step, harm_step)


def build_store(data_dir: Path, store_dir: Path, *, progress: Progress | None = None,
                street_paths: list[Path] | None = None) -> dict[str, Any]:
    """Build a new store version from ``data_dir`` and publish it atomically.

    Parameters
    ----------
    data_dir
        The raw data folder (layout as in ``../shared/data``).
    store_dir
        Where the store lives; the previous version stays live until this one is complete.
    progress
        Called with a short description before each step (for a progress bar).
    street_paths
        Street files, folders or archives; default: everything under ``data_dir/crime``.

    Returns
    -------
    dict
        The manifest written with the new version.
    """
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    if not data_dir.is_dir():
        raise InputFileError(data_dir, "data folder not found",
                             hint="pass --data-dir or set $CRIME_TRUST_DATA to the folder holding crime/, trust/, …")
    say("wards, lookup and population")
    geo = load_geography(data_dir)
    store_dir.mkdir(parents=True, exist_ok=True)
    cache = InputCache(store_dir, geo.key)
    ctx = BuildContext(data_dir, store_dir, geo, cache, say, street_paths)
    found: dict[str, pd.DataFrame] = {}
    accounts: dict[str, SourceAccount] = {}
    for step in STEPS:
        result = step(ctx)
        found.update(result.tables)
        accounts.update(result.accounts)
    street, mps = found["street"], found["mps_ward"]

    say("counts and display geometry")
    counts_pu = ward_counts(street, source="police_uk", type_col="crime_type", group_col=None, geo=geo)
    counts_mw = ward_counts(mps, source="mps_ward", type_col="offence_subgroup", group_col="offence_group",
                            geo=geo, count_col="count")
    tables: dict[str, pd.DataFrame] = {
        "areas": areas_table(geo),
        "population": geo.population,
        "trust": found["trust"],
        "harm_weights": found["harm_weights"],
        "counts_police_uk": counts_pu,
        "counts_mps_ward": counts_mw,
        "london_totals": london_totals(street, mps),
        "wards_display": display_geometry(geo.wards),
        "boroughs_display": display_geometry(geo.boroughs.rename(columns={"borough_code": "area_code"})),
        "wards": geo.wards,
        "boroughs": geo.boroughs,
    }
    manifest: dict[str, Any] = {
        "kind": "store",
        "built_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "code_version": code_version(),
        "data_dir": str(data_dir),
        "sources": {k: v.as_dict() for k, v in accounts.items()},
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


def summary_lines(manifest: dict[str, Any]) -> list[str]:
    """The closing summary: rows per source, months, drops by reason, seconds."""
    lines = []
    for name, src in manifest["sources"].items():
        months = src["months"]
        span = f"{months[0]}…{months[-1]} ({len(months)} months)" if months else "no months"
        drops = ", ".join(f"{r} {n:,}" for r, n in sorted(src["dropped"].items())) or "none"
        check = src["rows_kept"] + sum(src["dropped"].values()) == src["rows_read"]
        lines.append(f"{name}: read {src['rows_read']:,}, kept {src['rows_kept']:,}, dropped: {drops}; "
                     f"{span}{'' if check else '  [ACCOUNTING MISMATCH]'}")
        lines.extend(f"  note: {n}" for n in src["notes"][:5])
    lines.append(f"built in {manifest.get('seconds', '?')} s, code {manifest['code_version']}")
    return lines
