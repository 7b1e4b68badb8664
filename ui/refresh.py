"""Bringing the data up to date from the app: how current each source is, update all, refresh, rebuild.

"Update all" runs the same code as ``python -m data_sources update`` (each publisher asked
what is newest, only what the store lacks fetched, one atomic new store version), with a
progress bar per source; on a fresh clone the first update seeds ``./store`` from the
embedded snapshot. A refresh fetches chosen police.uk months; a rebuild re-reads the raw data
folder a store was built from (and any confirmed uploads). Afterwards the data caches are
dropped so every page shows the new version. Offline, the app says so in one sentence and
nothing changes; any other expected failure is one ``st.error`` line, never a traceback. The
write actions are drawn only for a session that may write (``ui.access``), and each holds
the store's lock as the command line does (another update running is one error line).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from analysis.periods import month_runs
from core.errors import ApiError, CrimeTrustError, OfflineError
from data_sources.build import build_store, currency_rows, month_words
from data_sources.fetch import (
    SOURCES,
    PoliceApi,
    SourceCheck,
    check_updates,
    parse_month_range,
    refresh_store,
    update_store,
)
from data_sources.settings import get_settings
from data_sources.store import store_lock
from ui import access, data

BUILD_COMMAND = "python -m data_sources build"
UPDATE_COMMAND = "python -m data_sources update"
_NOTE = "_refresh_note"  # a success message kept across the rerun that shows the new data
_CHECKED = "_update_checks"  # the publishers' answers to the last check, kept for this session


def offline_message() -> str:
    """The one sentence shown when the publishers cannot be reached."""
    where = "store" if data.handle().kind == "store" else "embedded snapshot"
    return f"No internet connection: showing the data already in the {where}; nothing was changed."


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
    failed = st.session_state.pop(_NOTE + "_failed", None)
    if failed:
        st.error(f"Some sources could not be updated (the others were): {failed}")


def refresh_panel() -> None:
    """Draw the refresh form (months, area) and run a refresh with a progress bar (only for those who may write)."""
    if not access.can_write():
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
    """Offer to rebuild the store from what it was built from (and confirmed uploads); store only."""
    handle = data.handle()
    if handle.kind != "store" or not access.can_write():
        return
    if not st.button("Rebuild the store now", key="rebuild", help=f"The same as `{BUILD_COMMAND}`."):
        return
    data_dir = handle.manifest.get("data_dir")
    if not data_dir:
        st.error(f"This store does not record the data folder it was built from; run `{BUILD_COMMAND}`.")
        return
    try:
        store_dir = get_settings().store_dir
        with st.spinner("Rebuilding the store… (a minute or two)"), store_lock(store_dir, what="rebuild"):
            manifest = build_store(Path(data_dir), store_dir)
    except (CrimeTrustError, OSError) as e:
        st.error(f"The rebuild failed: {e}")
        return
    _done(f"Store rebuilt {manifest.get('built_at', '')}.")


def _published_words(check: SourceCheck) -> str:
    """'March 2025', or per force for stop and search ('metropolitan 2025-05, city-of-london 2025-02')."""
    newest = check.newest_published
    return month_words(newest) if newest is None or len(newest) == 7 else newest


def currency_panel() -> None:
    """How current each source is (newest held, and newest published once checked), and any gaps."""
    manifest = data.handle().manifest
    frame = pd.DataFrame(currency_rows(manifest))
    checks: dict[str, SourceCheck] = st.session_state.get(_CHECKED, {})
    frame["newest published"] = [_published_words(checks[s]) if s in checks else "not checked"
                                 for s in frame["source"]]
    frame["an update would fetch"] = [checks[s].note if s in checks else "" for s in frame["source"]]
    # a static table: its few rows of words wrap and stay readable on a projected screen
    st.table(frame.drop(columns="source").set_index("what"))
    publications = manifest.get("currency", {}).get("pas", {}).get("by_publication", {})
    if publications:
        st.caption("Trust figures by publication (where two publish the same figure, the official one is used): "
                   + "; ".join(f"{name} {month_words(p['first'])} to {month_words(p['newest'])}"
                               for name, p in publications.items()) + ".")


def update_panel() -> None:
    """Check the publishers, and update every source with a progress bar each (as ``data_sources update``)."""
    st.write(f"Asks police.uk (crime, and stop and search for the Met and the City), the London Datastore (the Met's "
             f"ward figures) and MOPAC's survey what is newest and "
             f"fetches only what is missing: the same as `{UPDATE_COMMAND}`. The app keeps showing the current "
             "data until the new version is complete.")
    left, right = st.columns(2)
    if left.button("Check for newer data", key="update_check"):
        try:
            with st.spinner("Asking the publishers…"):
                st.session_state[_CHECKED] = {c.source: c for c in check_updates(get_settings())}
        except OfflineError:
            st.warning(offline_message())
        except CrimeTrustError as e:
            st.error(f"The check failed: {e}")
        else:
            st.rerun()
    if not access.can_write() or not right.button("Update all", key="update_all", type="primary"):
        return
    bars = {source: st.progress(0.0, text=f"{source}: waiting") for source in SOURCES}

    def progress(source: str, done: int, total: int) -> None:
        bars[source].progress(min(1.0, done / max(total, 1)), text=f"{source}: {done:,} of {total:,}")

    try:
        with st.spinner("Fetching, then building the new store version…"):
            report = update_store(get_settings(), progress=progress)
    except OfflineError:
        st.warning(offline_message())
        return
    except CrimeTrustError as e:
        st.error(f"The update failed and nothing was changed: {e}")
        return
    st.session_state.pop(_CHECKED, None)
    if report.failed:  # the others were updated; say which failed before the rerun shows the new data
        st.session_state[_NOTE + "_failed"] = " ".join(f"{r.source}: {r.error}" for r in report.failed)
    _done(" ".join(f"{r.source}: {r.note}" for r in report.results))
