"""Bringing the store up to date from the app: refresh from police.uk, rebuild, months held.

Both actions need a built store (the snapshot is read-only and has no raw data folder). A
refresh fetches months from the police.uk API with a progress bar, keeps them and rebuilds;
a rebuild re-reads the raw data folder the store was built from (and any confirmed uploads).
Either way the data caches are dropped afterwards so every page shows the new version.
Offline, the app says so and keeps showing what the store holds; any other expected failure
is one ``st.error`` line, never a traceback.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from analysis.periods import month_runs
from data_sources.build import build_store
from data_sources.errors import ApiError, CrimeTrustError, OfflineError
from data_sources.police_api import PoliceApi
from data_sources.refresh import parse_month_range
from data_sources.settings import get_settings
from data_sources.update import refresh_store
from ui import data

BUILD_COMMAND = "python -m data_sources build"
_NOTE = "_refresh_note"  # a success message kept across the rerun that shows the new data


def offline_message() -> str:
    """The one sentence shown when police.uk cannot be reached."""
    where = "store" if data.handle().kind == "store" else "embedded snapshot"
    return f"No internet connection: showing the data already in the {where}."


def reachable(timeout: float = 3.0) -> bool:
    """Return whether the police.uk API answers within ``timeout`` seconds (one uncached request)."""
    settings = replace(get_settings(), api_timeout_s=timeout, api_max_retries=0)
    try:
        PoliceApi(settings=settings, cache=False).last_updated()
    except ApiError:
        return False
    return True


def months_frame(manifest: dict) -> pd.DataFrame:
    """One row per source: the months it holds, as runs, and how many."""
    rows = [{"source": name, "months held": month_runs(info.get("months") or []) or "none",
             "months": len(info.get("months") or [])}
            for name, info in manifest.get("sources", {}).items()]
    return pd.DataFrame(rows, columns=["source", "months held", "months"])


def fetched_frame(manifest: dict) -> pd.DataFrame:
    """Months fetched by refresh or archive ingest (``police_uk_fetched``), newest fetch first."""
    files = (manifest.get("sources", {}).get("police_uk_fetched") or {}).get("files") or []
    columns = ["month", "fetched_at", "kind", "scope", "source", "rows"]
    frame = pd.DataFrame([{c: f.get(c) for c in columns} for f in files], columns=columns)
    return frame.sort_values(["fetched_at", "month"], ascending=False, ignore_index=True)


def months_panel() -> None:
    """List the months per source and, for fetched months, when each was fetched."""
    manifest = data.handle().manifest
    st.dataframe(months_frame(manifest), key="months_held", hide_index=True, width="stretch")
    fetched = fetched_frame(manifest)
    if fetched.empty:
        st.caption("No months have been fetched from police.uk into this data yet.")
    else:
        st.markdown("**Months fetched from police.uk** (laid over the files when the store is built)")
        st.dataframe(fetched, key="fetched_months", hide_index=True, width="stretch")


def _done(message: str) -> None:
    """Drop the data caches, keep the message for the next run and rerun to show the new version."""
    data.reopen()
    st.session_state[_NOTE] = message
    st.rerun()


def show_done_note() -> None:
    """Show the message a refresh or rebuild left before the rerun that loaded the new store."""
    note = st.session_state.pop(_NOTE, None)
    if note:
        st.success(note)


def refresh_panel() -> None:
    """Draw the refresh form (months, area) and run a refresh with a progress bar."""
    handle = data.handle()
    if handle.kind != "store":
        st.info(f"Refreshing needs a built store: this is the embedded snapshot. Build it with `{BUILD_COMMAND}` "
                "(it reads the public data folder), then refresh here or with "
                "`python -m data_sources refresh --months 2025-01..2025-03`.")
        return
    boroughs = data.area_names("borough")
    areas = {"london": "All of London", **dict(sorted(boroughs.items(), key=lambda kv: kv[1]))}
    with st.form("refresh_form"):
        text = st.text_input("Months", key="refresh_months", placeholder="2025-03 or 2025-01..2025-03",
                             help="One month (YYYY-MM), a range (2025-01..2025-03) or a comma list of either.")
        area = st.selectbox("Area", list(areas), format_func=areas.get, key="refresh_area")
        go = st.form_submit_button("Fetch from police.uk and rebuild", key="refresh_go")
    if not go:
        return
    try:
        months = parse_month_range(text or "")
    except CrimeTrustError as e:
        st.error(f"Months: {e}")
        return
    if not reachable():
        st.warning(offline_message())
        return
    bar = st.progress(0.0, text="Asking police.uk…")

    def progress(done: int, total: int) -> None:
        bar.progress(min(1.0, done / max(total, 1)), text=f"{done:,} of {total:,} requests")

    try:
        with st.spinner("Fetching, then rebuilding the store…"):
            manifest = refresh_store(months, area, settings=get_settings(), progress=progress)
    except OfflineError:
        bar.empty()
        st.warning(offline_message())
        return
    except CrimeTrustError as e:
        bar.empty()
        st.error(f"The refresh failed: {e}")
        return
    _done(f"Fetched {month_runs(months)} for {areas[area]}; store rebuilt {manifest.get('built_at', '')}.")


def rebuild_button() -> None:
    """Offer to rebuild the store from its raw data folder (and confirmed uploads); store only."""
    handle = data.handle()
    if handle.kind != "store":
        return
    if not st.button("Rebuild the store now", key="rebuild", help=f"The same as `{BUILD_COMMAND}`."):
        return
    data_dir = handle.manifest.get("data_dir")
    if not data_dir:
        st.error(f"This store does not record the data folder it was built from; run `{BUILD_COMMAND}`.")
        return
    try:
        with st.spinner("Rebuilding the store… (a minute or two)"):
            manifest = build_store(Path(data_dir), get_settings().store_dir)
    except (CrimeTrustError, OSError) as e:
        st.error(f"The rebuild failed: {e}")
        return
    _done(f"Store rebuilt {manifest.get('built_at', '')}.")
