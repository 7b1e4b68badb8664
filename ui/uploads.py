"""The upload box for a user's trust table: checked, previewed, kept only on confirmation.

The checks and the keeping are ``data_sources.store.uploads`` (no Streamlit); this module draws
them. A file is shown, confirmed and kept under the user's own file name (without folders),
so the store's manifest lists it by that name; one upload is kept at a time, and the page
says which earlier file a save would replace before the user confirms.
"""

from __future__ import annotations

import streamlit as st

from core.errors import CrimeTrustError
from data_sources.settings import get_settings
from data_sources.store import (
    MAX_UPLOAD_MB,
    UPLOADS,
    CheckedUpload,
    check_upload,
    save_upload,
    saved_uploads,
    upload_name,
)
from ui import access, data, refresh


def validate_upload(name: str, content: bytes) -> CheckedUpload:
    """Check an upload against the open data's areas; raise CrimeTrustError naming the problem."""
    areas = data.tables().areas
    known = dict(zip(areas["area_code"].astype(str), areas["area_level"].astype(str), strict=True))
    return check_upload(upload_name(name), content, known, get_settings().cache_dir)


def trust_upload() -> None:
    """Draw the upload box, the check's result with a preview, and the confirm button (only for those who may write)."""
    if not access.can_write():
        st.caption("Uploading a trust table is switched off for visitors on this server.")
        return
    st.write("A CSV with columns `area_code, period_end, measure_id, proportion` and optionally "
             "`area_level, measure_label, sample_size` — for example ward-level survey results you hold. "
             "Separated by commas or semicolons, with decimal points or commas (as Excel saves CSV in your "
             "region); dates as YYYY-MM-DD or DD/MM/YYYY.")
    store_dir = get_settings().store_dir
    saved = saved_uploads(store_dir)
    if saved:
        st.caption(f"Saved upload the build reads: {', '.join(saved)}. Saving another file replaces it.")
    refresh.rebuild_button()
    upload = st.file_uploader("Trust table (CSV)", type=["csv"], key="trust_upload", max_upload_size=MAX_UPLOAD_MB)
    st.caption(f"Up to {MAX_UPLOAD_MB} MB. A larger file is marked red in the box and is not sent: save only the rows "
               "you need, or split the table.")
    if upload is None:
        return
    try:
        checked = validate_upload(upload.name, upload.getvalue())
    except CrimeTrustError as e:
        st.error(f"This file cannot be used: {e}. Nothing was saved.")
        return
    name = checked.name
    st.success(f"{name}: {len(checked.frame)} rows read and checked ({checked.dialect.describe()}). "
               "Preview (nothing is saved yet):")
    st.dataframe(checked.frame.head(50), key="upload_preview", width="stretch", hide_index=True,
                 column_config={"period_end": st.column_config.DateColumn(format="YYYY-MM-DD")})
    replaces = [n for n in saved if n != name] or [n for n in saved if n == name]
    if replaces:
        st.caption(f"Saving replaces the earlier upload {', '.join(replaces)}.")
    if st.button(f"Save {name} for the next build", key="confirm_upload"):
        replaced = save_upload(store_dir, name, upload.getvalue())
        instead = f", replacing {', '.join(replaced)}" if replaced else ""
        rebuild = " (or press “Rebuild the store now” above)" if data.handle().kind == "store" else ""
        st.success(f"Saved {name} as {UPLOADS}/{name}{instead}; run `{refresh.BUILD_COMMAND}`{rebuild} to use it.")
