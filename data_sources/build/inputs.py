"""What the build reads and how it places it: the geography, street files, fetched months, row accounts.

Shared by every source step (``data_sources.build.steps``): the spatial inputs read once
(:class:`Geography`), the parsed-and-placed input files cached by content hash
(:class:`InputCache`), and the row account each source keeps (:class:`SourceAccount`:
rows read = kept + every drop reason).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from core.errors import InputFileError
from data_sources.build._frames import without_rows
from data_sources.read import lookup, points_2022, population
from data_sources.read.police_uk_csv import StreetInput, read_street_file
from data_sources.schemas import AREAS, COUNTS, STREET_CRIMES_PLACED
from data_sources.store.ingested import IngestedInput, read_ingested
from data_sources.store.seed import is_seed
from data_sources.store.versions import write_atomic_bytes, write_table_atomic
from geo.assign import WardLocator, assign_wards
from geo.london import LONDON_CODE
from geo.wards import build_wards, dissolve_boroughs

KML_DIR = "boundaries/police_uk_boundaries_2025-02/neighborhood boundaries(2025-02)"
#: Bumped when placement or parsing changes, so cached inputs are re-read.
PARSER_VERSION = "1"

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


TOTALS_TYPES = {"source": "string", "month": "string", "crime_type": "string", "count": "int64", "unplaced": "int64"}


def police_uk_totals(street: pd.DataFrame) -> pd.DataFrame:
    """Monthly London police.uk totals per type, including crimes with no usable location."""
    pu = street.groupby(["month", "crime_type"], observed=True).agg(
        count=("crime_type", "size"), unplaced=("ward_code", lambda s: int(s.isna().sum()))).reset_index()
    return pu.assign(source="police_uk")[list(TOTALS_TYPES)].astype(TOTALS_TYPES)


def mps_ward_totals(mps: pd.DataFrame) -> pd.DataFrame:
    """Monthly London totals of the Met's table per offence subgroup."""
    mw = mps.groupby(["month", "offence_subgroup"], observed=True)["count"].sum().reset_index()
    mw = mw.rename(columns={"offence_subgroup": "crime_type"}).assign(unplaced=0, source="mps_ward")
    return mw[list(TOTALS_TYPES)].astype(TOTALS_TYPES)


def london_totals(street: pd.DataFrame, mps: pd.DataFrame) -> pd.DataFrame:
    """Monthly London totals per source and type, including crimes with no usable location."""
    out = pd.concat([police_uk_totals(street), mps_ward_totals(mps)], ignore_index=True)
    return out.astype(TOTALS_TYPES)
