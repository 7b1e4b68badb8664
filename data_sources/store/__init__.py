"""The store on disk: atomic versions, the snapshot and seed, and the inputs kept for every build.

Belongs here: writing and opening versions (``versions``), the compact snapshot
(``snapshot``) and a store seeded from it (``seed``), and what is kept under
``store/inputs`` (``ingested`` months, Met ``releases``, users' ``uploads``). Does not belong
here: reading a publisher's layout (``read``), deciding what a version holds (``build``),
the network (``fetch``).
"""

from data_sources.store.lock import lease_version, store_lock
from data_sources.store.uploads import (
    MAX_UPLOAD_MB,
    UPLOADS,
    CheckedUpload,
    check_upload,
    save_upload,
    saved_uploads,
    upload_name,
)
from data_sources.store.versions import CURRENT, DataHandle, open_data, open_snapshot, open_store

__all__ = [
    "CURRENT",
    "MAX_UPLOAD_MB",
    "UPLOADS",
    "CheckedUpload",
    "DataHandle",
    "check_upload",
    "lease_version",
    "open_data",
    "open_snapshot",
    "open_store",
    "save_upload",
    "saved_uploads",
    "store_lock",
    "upload_name",
]
