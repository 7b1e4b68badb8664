"""Typed, documented defaults for where data lives and how the live API is used.

Every value can be overridden by an environment variable so that a scheduled job, a
test or a user with a mirror can point the same code elsewhere without editing it.
Nothing here touches the disk or the network at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Public police.uk API; override with POLICE_API_URL for a mirror or a local stub.
DEFAULT_POLICE_API_URL = "https://data.police.uk/api"
#: The London Datastore (Met ward crime, MOPAC surveys); override with LONDON_DATASTORE_URL.
DEFAULT_DATASTORE_URL = "https://data.london.gov.uk"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


@dataclass(frozen=True)
class Settings:
    """Paths and limits, read once from the environment.

    Attributes
    ----------
    data_dir
        Raw public data (``$CRIME_TRUST_DATA``, else ``../shared/data`` beside the repo).
    store_dir
        The built store of Parquet tables (``$CRIME_TRUST_STORE``, else ``./store``).
    snapshot_dir
        The small committed snapshot a fresh clone runs on.
    cache_dir
        HTTP response cache for the live API (``$CRIME_TRUST_CACHE``, else ``./cache``).
    api_url
        Base URL of the police.uk API (``$POLICE_API_URL``).
    datastore_url
        Base URL of the London Datastore (``$LONDON_DATASTORE_URL``); datasets are read from
        ``<datastore_url>/api/dataset/<slug>``.
    api_timeout_s
        Per-request timeout (both publishers); police.uk can take over a minute for a large polygon.
    api_rate_per_s, api_burst
        The API's documented leaky bucket: 15 requests per second, burst of 30.
    api_max_retries
        Retries for 429, 5xx and timeouts before giving up (both publishers).
    publisher_wait_s
        The most a client waits on one publisher without getting any answer, across its
        retries (``$CRIME_TRUST_PUBLISHER_WAIT_S``, default 180 s); then it gives up.
    """

    data_dir: Path = field(default_factory=lambda: _env_path("CRIME_TRUST_DATA", REPO_ROOT.parent / "shared" / "data"))
    store_dir: Path = field(default_factory=lambda: _env_path("CRIME_TRUST_STORE", REPO_ROOT / "store"))
    snapshot_dir: Path = field(
        default_factory=lambda: _env_path("CRIME_TRUST_SNAPSHOT", REPO_ROOT / "data" / "snapshot"))
    cache_dir: Path = field(default_factory=lambda: _env_path("CRIME_TRUST_CACHE", REPO_ROOT / "cache"))
    api_url: str = field(default_factory=lambda: os.environ.get("POLICE_API_URL", DEFAULT_POLICE_API_URL).rstrip("/"))
    datastore_url: str = field(
        default_factory=lambda: os.environ.get("LONDON_DATASTORE_URL", DEFAULT_DATASTORE_URL).rstrip("/"))
    api_timeout_s: float = field(default_factory=lambda: float(os.environ.get("POLICE_API_TIMEOUT", "120")))
    api_rate_per_s: float = 15.0
    api_burst: int = 30
    api_max_retries: int = 5
    publisher_wait_s: float = field(
        default_factory=lambda: float(os.environ.get("CRIME_TRUST_PUBLISHER_WAIT_S", "180")))


def get_settings() -> Settings:
    """Return settings read from the current environment."""
    return Settings()
