"""The map's pure helpers: bounds of GeoJSON (a borough's view) and dimming areas outside it."""

from __future__ import annotations

import pandas as pd
import pytest

from ui import maps

SQUARE = {"type": "Polygon", "coordinates": [[[0.0, 51.0], [0.1, 51.0], [0.1, 51.1], [0.0, 51.1], [0.0, 51.0]]]}
TWO_PARTS = {"type": "MultiPolygon", "coordinates": [
    [[[-0.2, 51.4], [-0.1, 51.4], [-0.1, 51.5], [-0.2, 51.4]]],
    [[[0.3, 51.6], [0.4, 51.6], [0.4, 51.7], [0.3, 51.6]]]]}


@pytest.mark.parametrize(("geometries", "expected"), [
    ([SQUARE], (0.0, 51.0, 0.1, 51.1)),
    ([TWO_PARTS], (-0.2, 51.4, 0.4, 51.7)),            # both parts of a multipolygon
    ([SQUARE, TWO_PARTS], (-0.2, 51.0, 0.4, 51.7)),    # several geometries together
])
def test_bounds(geometries, expected):
    assert maps.bounds(geometries) == pytest.approx(expected)


def test_bounds_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="no coordinates"):
        maps.bounds([])


def test_dim_outside_fades_only_the_areas_outside():
    rows = pd.DataFrame({"area_code": ["A", "B", "C"], "fill": [(1, 2, 3), (4, 5, 6), (7, 8, 9)]})
    out = maps.dim_outside(rows, {"B"})
    assert out["fill"].tolist() == [(1, 2, 3, maps.DIMMED_ALPHA), (4, 5, 6), (7, 8, 9, maps.DIMMED_ALPHA)]
    assert rows["fill"].tolist()[0] == (1, 2, 3)   # the input is left as it was
