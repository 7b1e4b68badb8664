"""``without_rows`` must give exactly what a boolean ``.loc`` gives, by either path."""

import numpy as np
import pandas as pd
import pytest

from data_sources.build import _frames
from data_sources.build._frames import without_rows


def _frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    text = pd.array(rng.choice(["a", "bb", None], n), dtype="string[pyarrow]")
    return pd.DataFrame({
        "text": pd.concat([pd.Series(text[: n // 2]), pd.Series(text[n // 2:])], ignore_index=True),  # 2 chunks
        "number": rng.random(n),
        "count": pd.array(rng.integers(0, 5, n), dtype="Int64"),
    }, index=np.arange(n) + 100)


@pytest.mark.parametrize("max_slices", [_frames.MAX_SLICES, 1])
@pytest.mark.parametrize("drop_at", [[], [0], [999], [0, 1, 2, 500, 998, 999], list(range(0, 1000, 7))])
def test_same_as_boolean_loc(monkeypatch: pytest.MonkeyPatch, max_slices: int, drop_at: list[int]) -> None:
    monkeypatch.setattr(_frames, "MAX_SLICES", max_slices)
    frame = _frame(1000)
    drop = np.zeros(len(frame), dtype=bool)
    drop[drop_at] = True
    got = without_rows(frame, drop)
    pd.testing.assert_frame_equal(got, frame.loc[~drop].reset_index(drop=True))


def test_all_rows_dropped() -> None:
    frame = _frame(10)
    got = without_rows(frame, np.ones(10, dtype=bool))
    assert len(got) == 0 and list(got.dtypes) == list(frame.dtypes)
