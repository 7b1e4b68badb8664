"""The map's pure helpers: bounds of GeoJSON, fitting a borough into view, dimming areas outside it."""

from __future__ import annotations

import math

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


def _pixel(lon: float, lat: float, view) -> tuple[float, float]:
    """Where deck.gl's Web Mercator viewport draws a point, in pixels from the map's centre.

    A reference written from deck.gl's definition (a 512 px world at zoom 0), independently of
    the fractions ``fit_view`` works in.
    """
    scale = 512 * 2 ** view.zoom / (2 * math.pi)

    def project(lo: float, la: float) -> tuple[float, float]:
        y = math.pi - math.log(math.tan(math.pi / 4 + math.radians(la) / 2))
        return scale * (math.radians(lo) + math.pi), scale * y

    x, y = project(lon, lat)
    cx, cy = project(view.longitude, view.latitude)
    return x - cx, y - cy


@pytest.mark.parametrize(("box", "size"), [
    ((-0.1510, 51.4117, -0.0787, 51.5087), (760, 640)),   # Lambeth (tall): height decides
    ((-0.5104, 51.2868, 0.3340, 51.6919), (760, 640)),    # all of London (wide): width decides
    ((-0.1, 51.5, -0.09, 51.502), (400, 800)),            # a small, flat box in a tall map
])
def test_fit_view_shows_the_box_whole_and_tight(box, size):
    view = maps.fit_view(box, size_px=size, padding=0.08)
    west, south, east, north = box
    width, height = size
    xs, ys = zip(*(_pixel(lon, lat, view) for lon in (west, east) for lat in (south, north)), strict=True)
    half_w, half_h = width * (1 - 2 * 0.08) / 2, height * (1 - 2 * 0.08) / 2
    assert max(map(abs, xs)) <= half_w + 1e-6 and max(map(abs, ys)) <= half_h + 1e-6   # inside, with padding
    assert max(xs) == pytest.approx(-min(xs)) and max(ys) == pytest.approx(-min(ys))    # centred
    assert max(max(xs) / half_w, max(ys) / half_h) == pytest.approx(1.0)                # and no smaller


@pytest.mark.parametrize(("box", "zoom"), [
    ((-0.1, 51.5, -0.0999, 51.5001), maps.LONDON_VIEW.max_zoom),   # a point-sized box: closest allowed
    ((-10.0, 45.0, 10.0, 60.0), maps.LONDON_VIEW.min_zoom),        # half of Europe: farthest allowed
])
def test_fit_view_keeps_within_the_zoom_limits(box, zoom):
    assert maps.fit_view(box).zoom == zoom


def test_a_borough_from_the_snapshot_is_zoomed_in_on():
    from data_sources.settings import get_settings
    from data_sources.store.versions import open_snapshot

    display = open_snapshot(get_settings().snapshot_dir).read("boroughs_display")
    lambeth = display.loc[display["area_code"] == "E09000022", "geometry"].iloc[0]
    view = maps.fit_view(maps.bounds([lambeth.__geo_interface__]))
    west, south, east, north = lambeth.bounds
    assert west < view.longitude < east and south < view.latitude < north
    assert view.zoom > maps.LONDON_VIEW.zoom + 1   # well closer than all of London


def test_dim_outside_fades_only_the_areas_outside():
    rows = pd.DataFrame({"area_code": ["A", "B", "C"], "fill": [(1, 2, 3), (4, 5, 6), (7, 8, 9)]})
    out = maps.dim_outside(rows, {"B"})
    assert out["fill"].tolist() == [(1, 2, 3, maps.DIMMED_ALPHA), (4, 5, 6), (7, 8, 9, maps.DIMMED_ALPHA)]
    assert rows["fill"].tolist()[0] == (1, 2, 3)   # the input is left as it was
