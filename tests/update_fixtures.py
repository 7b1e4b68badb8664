"""Shared set-up for the update tests and the benchmark: a seed snapshot, stand-ins, a realistic month."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from data_sources.settings import Settings
from tests.api_stub import StubApi, synth_records
from tests.datastore_stub import MET_FILE, StubDatastore, pas_workbook, shifted_met_release, standard_catalogue

BURGLARY = "crime/police_uk_met_street_burglary_only"
NEW_MONTH = "2025-03"


def london_month(shared: Path, month: str = NEW_MONTH, *, others_per_burglary: int = 3, seed: int = 5) -> list[dict]:
    """A month of crimes at real London snap points: burglary as many as in Feb 2025, other types around it.

    Burglary matches its neighbouring months (the shared files hold burglary only), so the
    month is not a coverage gap; the other types are spread over the same points.
    """
    pts = pd.read_csv(shared / BURGLARY / "2025-02-metropolitan-street.csv.gz", usecols=["Longitude", "Latitude"])
    pts = pts.dropna()
    lon, lat = pts["Longitude"].to_numpy(), pts["Latitude"].to_numpy()
    burglary = synth_records(lon, lat, month, first_id=1, seed=seed, btp_share=0.0)
    for r in burglary:
        r["category"] = "burglary"
    others = synth_records(np.tile(lon, others_per_burglary), np.tile(lat, others_per_burglary), month,
                           first_id=len(burglary) + 1, seed=seed + 1)
    for r in others:
        if r["category"] == "burglary":
            r["category"] = "other-theft"
    return burglary + others


def publish_all(ds: StubDatastore, shared: Path) -> dict[str, dict]:
    """The Met release shifted forward and a PAS workbook one quarter past the data; return their facts."""
    met, met_facts = shifted_met_release(shared / MET_FILE)
    book, pas_facts = pas_workbook(shared)
    standard_catalogue(ds, shared, met=met, pas=book)
    return {"mps_ward": met_facts, "pas": pas_facts}


def settings_for(root: Path, snapshot: Path, api: StubApi, ds: StubDatastore, **kw: object) -> Settings:
    """Settings for a machine without raw data, pointed at the two stand-ins."""
    return Settings(data_dir=root / "no-raw-data", store_dir=root / "store", snapshot_dir=snapshot,
                    cache_dir=root / "cache", api_url=api.url, datastore_url=ds.url, api_timeout_s=10,
                    api_max_retries=1, **kw)  # type: ignore[arg-type]
