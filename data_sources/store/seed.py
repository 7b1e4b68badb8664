"""The embedded snapshot as a seed: the base a store grows from on a machine without raw data.

A fresh clone has the committed snapshot (``data/snapshot/``) and no raw data folder. The
first ``update`` or ``refresh`` copies the snapshot into ``store/inputs/seed/`` (whole, by
renaming a finished copy into place) and builds a normal store version from it plus what
was pulled. The seed plays the part of the raw data folder: ``build_store`` given the seed
folder reads its tables (counts, trust, population, placement-grade ward polygons, the
LSOA → ward lookup) where it would read raw files, and every later build of that store
starts from it again. A store built from a raw data folder keeps using that folder.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

from core.errors import StoreError
from data_sources.store.versions import MANIFEST, current_version_dir

#: Where the seed is kept inside a store.
SEED = "inputs/seed"
#: Tables the snapshot carries only so that a store can grow from it (name → has geometry).
SEED_TABLES = {"wards_placement": True, "lsoa_lookup": False}


def is_seed(folder: Path) -> bool:
    """Whether ``folder`` is a snapshot (the embedded one, or a seed copied from it)."""
    try:
        return json.loads((folder / MANIFEST).read_text()).get("kind") == "snapshot"
    except (OSError, ValueError):
        return False


def plant_seed(snapshot_dir: Path, store_dir: Path) -> Path:
    """Copy the snapshot into ``store_dir/inputs/seed`` (once) and return that folder.

    The copy is made beside its final place and renamed into it, so a killed process
    leaves either no seed or a whole one.

    Raises
    ------
    StoreError
        When the snapshot is missing or lacks the seed tables (an old snapshot).
    """
    dest = store_dir / SEED
    if is_seed(dest):
        return dest
    missing = [f"{t}.parquet" for t in SEED_TABLES if not (snapshot_dir / f"{t}.parquet").is_file()]
    if not is_seed(snapshot_dir) or missing:
        raise StoreError(f"the embedded snapshot at {snapshot_dir} cannot seed a store (missing "
                         f"{missing or [MANIFEST]}); rebuild it with `python -m data_sources build --snapshot` "
                         "on a machine with the raw data")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".seed-{uuid.uuid4().hex}")
    try:
        shutil.copytree(snapshot_dir, tmp)
        if dest.exists():  # a damaged earlier seed
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def base_folder(store_dir: Path, snapshot_dir: Path) -> Path:
    """The folder the next build of ``store_dir`` starts from: its raw data folder, or its seed.

    A store that has been built remembers its base in its manifest (``data_dir``); a
    store that does not exist yet is seeded from the snapshot.
    """
    folder = current_version_dir(store_dir)
    if folder is None:
        return plant_seed(snapshot_dir, store_dir)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as e:
        raise StoreError(f"store manifest at {folder / MANIFEST} is damaged ({e}); rebuild the store") from e
    if manifest.get("base", {}).get("kind") == "seed":  # wherever the store has moved to
        return plant_seed(snapshot_dir, store_dir)
    return Path(manifest["data_dir"])
