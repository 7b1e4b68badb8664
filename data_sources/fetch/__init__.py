"""Publishers: HTTP with retries, cache and rate limit, each publisher's client, refresh and update.

Belongs here: everything that talks to police.uk or the London Datastore (``_http``,
``rate_limit``, ``http_cache``, ``police_api``, ``datastore``), what each publisher offers
(``publishers``), and bringing the store up to date from them (``refresh``, ``update``).
Does not belong here: parsing what arrives (``read``) or building the version (``build``);
they are called from here.
"""

from data_sources.fetch.police_api import PoliceApi
from data_sources.fetch.refresh import parse_month_range
from data_sources.fetch.update import SOURCES, SourceCheck, check_updates, refresh_store, update_store

__all__ = ["SOURCES", "PoliceApi", "SourceCheck", "check_updates", "parse_month_range", "refresh_store", "update_store"]
