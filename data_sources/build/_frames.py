"""Row removal that does not copy a million rows to drop a few hundred.

The street tables hold Arrow-backed text columns. Removing the handful of crimes that
fall outside London with a boolean mask copies every string of every kept row (about a
quarter of a one-million-row ingest); cutting each column into zero-copy slices around
the dropped rows costs almost nothing. Scattered drops would make many tiny slices, so
beyond ``MAX_SLICES`` the ordinary copy is used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

#: Above this many kept runs, slicing gives way to one copy (tiny chunks slow later steps).
MAX_SLICES = 4096


def without_rows(frame: pd.DataFrame, drop: np.ndarray) -> pd.DataFrame:
    """``frame`` without the rows where ``drop`` is True, on a fresh RangeIndex.

    >>> df = pd.DataFrame({"a": pd.array(["x", "y", "z"], dtype="string[pyarrow]"), "b": [1.0, 2.0, 3.0]})
    >>> without_rows(df, np.array([False, True, False]))
       a    b
    0  x  1.0
    1  z  3.0
    """
    drop = np.asarray(drop, dtype=bool)
    if not drop.any():
        return frame.reset_index(drop=True)
    dropped = np.flatnonzero(drop)
    starts = np.concatenate([[0], dropped + 1])
    ends = np.concatenate([dropped, [len(frame)]])
    runs = [(int(s), int(e - s)) for s, e in zip(starts, ends, strict=True) if e > s]
    if len(runs) > MAX_SLICES:
        return frame.loc[~drop].reset_index(drop=True)
    keep = ~drop
    columns = {}
    for name, column in frame.items():
        values = column.array
        if isinstance(values, pd.arrays.ArrowStringArray):
            chunked = values._pa_array  # type: ignore[attr-defined]
            parts = [chunk for start, length in runs for chunk in chunked.slice(start, length).chunks]
            columns[name] = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(parts, type=chunked.type)),
                                      dtype=column.dtype)
        else:
            columns[name] = pd.Series(values[keep], dtype=column.dtype)
    return pd.DataFrame(columns)
