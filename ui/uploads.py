"""Uploading a user's trust table (validated, previewed, saved only on confirmation).

An upload is written to a private temporary file only so that the project's own reader
(``data_sources.pas.read_trust_table``) can validate it; nothing reaches the store unless
the user presses the confirm button, and even then it goes to ``store/inputs/uploads``
for the next build to pick up (``data_sources.build`` reads every CSV there), never into a
live table.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from data_sources.build import UPLOADS
from data_sources.errors import CrimeTrustError
from data_sources.pas import read_trust_table
from data_sources.settings import get_settings
from data_sources.store import write_atomic_bytes
from ui import data, refresh

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def validate_upload(name: str, content: bytes) -> object:
    """Return the validated trust frame, or raise CrimeTrustError naming the problem."""
    if len(content) > MAX_UPLOAD_BYTES:
        raise CrimeTrustError(f"{name}: the file is larger than {MAX_UPLOAD_BYTES // 1024 // 1024} MB; "
                              "upload a smaller trust table")
    areas = data.tables().areas
    known = dict(zip(areas["area_code"].astype(str), areas["area_level"].astype(str), strict=True))
    cache = get_settings().cache_dir
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:  # inside the cache folder, removed at once
        path = Path(tmp) / "upload.csv"  # never the user's file name: it is only a label
        path.write_bytes(content)
        try:
            return read_trust_table(path, known)
        except CrimeTrustError as e:
            raise CrimeTrustError(str(e).replace(str(path), name)) from e


def trust_upload() -> None:
    """Draw the upload box, the validation result and the confirm button."""
    st.write("A CSV with columns `area_code, period_end (YYYY-MM-DD), measure_id, proportion` and optionally "
             "`area_level, measure_label, sample_size` — for example ward-level survey results you hold.")
    store = data.handle().kind == "store"
    saved = sorted(p.name for p in (get_settings().store_dir / UPLOADS).glob("*.csv"))
    if saved:
        st.caption(f"Saved uploads the build reads: {', '.join(saved)}.")
    refresh.rebuild_button()
    upload = st.file_uploader("Trust table (CSV)", type=["csv"], key="trust_upload")
    if upload is None:
        return
    try:
        frame = validate_upload(upload.name, upload.getvalue())
    except CrimeTrustError as e:
        st.error(f"This file cannot be used: {e}")
        return
    st.success(f"{len(frame)} rows read and checked. Preview (nothing is saved yet):")
    st.dataframe(frame.head(50), key="upload_preview", width="stretch")
    if st.button("Save for the next build", key="confirm_upload"):
        folder = get_settings().store_dir / UPLOADS
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic_bytes(folder / "trust_upload.csv", upload.getvalue())
        rebuild = " (or press “Rebuild the store now” above)" if store else ""
        st.success(f"Saved as {UPLOADS}/trust_upload.csv (replacing any earlier upload); "
                   f"run `{refresh.BUILD_COMMAND}`{rebuild} to use it.")
