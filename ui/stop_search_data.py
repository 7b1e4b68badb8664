"""Cached stop-and-search results for the pages, keyed on the data version and frozen queries.

Like ``ui.data``: the tables are read once per data version and shared (a resource); each
result is cached on small hashable keys; an expected failure is shown with what to do.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.stop_search import StopSearchQuery, StopSearchResult, measure_areas
from analysis.stop_search_data import StopSearchData, default_period, load_stop_search
from analysis.stop_search_export import stop_search_files
from analysis.stop_search_views import TrustScatter, monthly_trend, trust_scatter
from ui import data

NO_DATA = ("This data holds no stop and search tables (an older snapshot). Rebuild with "
           "`python -m data_sources build --snapshot` on a machine with the raw data.")


@st.cache_resource(show_spinner="Reading stop and search…")
def _data(key: str) -> StopSearchData | None:
    return load_stop_search(data.loaded().handle)


def available() -> bool:
    """Whether the open data holds the stop-and-search tables."""
    with data.shown_errors():
        return _data(data.loaded().key) is not None


def stop_search() -> StopSearchData:
    """The stop-and-search tables of the open data; stops the page with a message when there are none."""
    with data.shown_errors():
        found = _data(data.loaded().key)
    if found is None:
        st.info(NO_DATA)
        st.stop()
    return found


@st.cache_data(show_spinner=False, max_entries=8)
def _period_default(key: str) -> tuple[str, str]:
    return default_period(stop_search())


def period_default() -> tuple[str, str]:
    """The latest 12 months that are no coverage gap for London (judged once per data version)."""
    stop_search()
    with data.shown_errors():
        return _period_default(data.loaded().key)


@st.cache_data(show_spinner=False, max_entries=64)
def _measures(key: str, q: StopSearchQuery) -> StopSearchResult:
    return measure_areas(data.tables(), stop_search(), q)


def measures(q: StopSearchQuery) -> StopSearchResult:
    """Every area's measures and London's (``analysis.stop_search.measure_areas``)."""
    with data.shown_errors():
        return _measures(data.loaded().key, q)


@st.cache_data(show_spinner=False, max_entries=128)
def _trend(key: str, q: StopSearchQuery, area_code: str) -> pd.DataFrame:
    return monthly_trend(data.tables(), stop_search(), q, area_code)


def trend(q: StopSearchQuery, area_code: str) -> pd.DataFrame:
    """Searches per month for an area or London, gaps marked (``analysis.stop_search_views.monthly_trend``)."""
    with data.shown_errors():
        return _trend(data.loaded().key, q, area_code)


@st.cache_data(show_spinner=False, max_entries=64)
def _scatter(key: str, q: StopSearchQuery, measure_id: str, group: str) -> TrustScatter:
    return trust_scatter(data.tables(), _measures(key, q), measure_id, group)


def scatter(q: StopSearchQuery, measure_id: str, group: str) -> TrustScatter:
    """Boroughs' ratios beside trust, with the correlation (borough-level query)."""
    with data.shown_errors():
        return _scatter(data.loaded().key, q, measure_id, group)


@st.cache_data(show_spinner="Preparing the download…", max_entries=32)
def _files(key: str, q: StopSearchQuery, name: str) -> dict[str, bytes]:
    return stop_search_files(data.tables(), _measures(key, q), name)


def files(q: StopSearchQuery, name: str) -> dict[str, bytes]:
    """The CSV and metadata, as ``python -m analysis export stop-search --out NAME`` writes them."""
    with data.shown_errors():
        return _files(data.loaded().key, q, name)
