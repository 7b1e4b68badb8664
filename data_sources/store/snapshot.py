"""The compact snapshot committed under ``data/snapshot/`` so a fresh clone runs alone, and grows.

It holds only derived tables (display geometry, ward × month × type counts from both
crime sources, trust, population, harm weights, areas; stop-and-search counts per ward,
month and category, its coverage and the Census ethnic-group denominators): no raw rows,
≤ 10 MB in all and no file over 2 MB. It is also the **seed** a store grows from on a machine without the raw
data (``data_sources.store.seed``), so it carries what placing newly fetched crimes needs:
placement-grade ward polygons (``wards_placement``: ``geo.wards.placement_geometry``,
≥ 99.9% of crimes in the same ward as the full polygons) and the LSOA → ward lookup
(``lsoa_lookup``) for crimes placed by LSOA.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import StoreError
from data_sources.store.versions import CORE_TABLES, STOP_SEARCH_TABLES, open_store, publish_snapshot
from geo.wards import placement_geometry

MAX_TOTAL_BYTES = 10 * 1024 * 1024
MAX_FILE_BYTES = 2 * 1024 * 1024


def build_snapshot(store_dir: Path, snapshot_dir: Path) -> dict[str, Any]:
    """Copy the core tables of the live store into the snapshot folder, checking its size."""
    handle = open_store(store_dir)
    tables = {name: handle.read(name) for name in CORE_TABLES}
    tables.update({name: handle.read(name) for name in STOP_SEARCH_TABLES if handle.has(name)})
    wards = handle.read("wards")
    seeded = handle.manifest.get("base", {}).get("kind") == "seed"
    tables["wards_placement"] = wards if seeded else placement_geometry(wards)
    tables["lsoa_lookup"] = handle.read("lsoa_lookup")
    manifest = dict(handle.manifest, kind="snapshot", data_dir="(embedded snapshot)")
    for src in manifest["sources"].values():
        src["files"] = [{k: f[k] for k in ("path", "sha256", "url", "fetched_at") if k in f} for f in src["files"]]
    publish_snapshot(snapshot_dir, tables, manifest)
    sizes = {p.name: p.stat().st_size for p in snapshot_dir.iterdir() if p.is_file()}
    too_big = {n: s for n, s in sizes.items() if s > MAX_FILE_BYTES}
    if too_big or sum(sizes.values()) > MAX_TOTAL_BYTES:
        raise StoreError(f"snapshot too large: {sum(sizes.values()):,} bytes in all, oversized files {too_big}")
    return {"bytes": sum(sizes.values()), "files": len(sizes), "sizes": sizes}
