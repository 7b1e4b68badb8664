"""What the map component is sent: shapes encoded once, per-rerun styles in shape order, today's colours."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.fixtures.markup_area import MARKUP, markup_area_table
from ui import maps, style
from ui.map_payload import area_styles, encode_shapes, points_payload

SQUARE = {"type": "Polygon", "coordinates": [[[0.0, 51.0], [0.1, 51.0], [0.1, 51.1], [0.0, 51.1], [0.0, 51.0]]]}
HOLED = {"type": "MultiPolygon", "coordinates": [
    [[[-0.2, 51.4], [-0.1, 51.4], [-0.1, 51.5], [-0.2, 51.4]], [[-0.15, 51.42], [-0.12, 51.42], [-0.12, 51.44],
                                                                 [-0.15, 51.42]]],
    [[[0.3, 51.6], [0.4, 51.6], [0.4, 51.7], [0.3, 51.6]]]]}


def _decode(flat: list[int]) -> list[tuple[float, float]]:
    """The browser's decoding (ui/area_map.js), written again: running sums of 1e-4 degrees."""
    out, x, y = [], 0, 0
    for dx, dy in zip(flat[::2], flat[1::2], strict=True):
        x, y = x + dx, y + dy
        out.append((x / 1e4, y / 1e4))
    return out


def test_shapes_round_trip_every_ring_of_every_part():
    shapes = encode_shapes({"B": HOLED, "A": SQUARE}, {"A": "Alpha"})
    assert shapes.codes == ("A", "B") and shapes.payload["names"] == ["Alpha", "B"]  # a missing name: the code
    rings = [[_decode(r) for r in area] for area in shapes.payload["rings"]]
    expected = [[SQUARE["coordinates"][0]], [ring for polygon in HOLED["coordinates"] for ring in polygon]]
    assert [[[pytest.approx(p) for p in ring] for ring in area] for area in expected] == \
        [[[list(p) for p in ring] for ring in area] for area in rings]


def test_shapes_key_follows_content():
    a = encode_shapes({"A": SQUARE}, {"A": "Alpha"})
    assert a.key == encode_shapes({"A": SQUARE}, {"A": "Alpha"}).key
    assert a.key != encode_shapes({"A": SQUARE}, {"A": "Beta"}).key
    assert a.key != encode_shapes({"A": HOLED}, {"A": "Alpha"}).key


def _rows(codes, fills, tips=None) -> pd.DataFrame:
    return pd.DataFrame({"area_code": codes, "fill": fills, "tip": tips or [[("Rate", c)] for c in codes]})


def test_styles_follow_the_shapes_order_and_skip_unknown_areas():
    shapes = encode_shapes({c: SQUARE for c in "ABC"}, {})
    styles = area_styles(_rows(["C", "A", "Z"], [(0, 0, 0), (255, 255, 255, 50), (1, 2, 3)]), shapes,
                         flagged=["C", "Z"], selected="A")
    assert [styles["palette"][i] if i >= 0 else None for i in styles["fill"]] == ["#ffffff32", None, "#000000"]
    assert styles["ring"] == [2] and styles["selected"] == 0
    tips = styles["tips"]
    shown = [[*zip(tips["layouts"][a[0]], (tips["values"][v] for v in a[1:]), strict=True)] if a else []
             for a in tips["areas"]]
    assert shown == [[("Rate", "A")], [], [("Rate", "C")]]
    assert area_styles(_rows([], []), shapes, selected="Z")["selected"] == -1


def test_colours_sent_are_todays_palettes():
    """The 3×3, viridis and hot-spot colours reach the browser unchanged (the colour-blind check holds)."""
    classes = ["low", "mid", "high"]
    table = pd.concat([markup_area_table("x").assign(area_code=f"{c}{t}", crime_class=c, trust_class=t)
                       for c in classes for t in classes], ignore_index=True)
    rows = maps.map_rows(table, colouring="bivariate", measure_label="rate", level="ward")
    shapes = encode_shapes({c: SQUARE for c in rows["area_code"]}, {})
    styles = area_styles(rows, shapes)
    sent = {code: styles["palette"][i] for code, i in zip(shapes.codes, styles["fill"], strict=True)}
    for i, c in enumerate(classes):
        for j, t in enumerate(classes):
            assert sent[f"{c}{t}"] == "#{:02x}{:02x}{:02x}".format(*style.BIVARIATE[i][j])
    hot = _rows(["A", "B"], [style.HOTSPOT["hot"], style.SEQUENTIAL[0]])
    assert area_styles(hot, encode_shapes({"A": SQUARE, "B": SQUARE}, {}))["palette"] == ["#e66101", "#440154"]


def test_markup_in_names_and_values_is_sent_as_plain_text():
    """Nothing is escaped or built into markup here: the component writes text with textContent."""
    rows = maps.map_rows(markup_area_table(), colouring="bivariate", measure_label="rate", level="ward")
    shapes = encode_shapes({"W1": SQUARE}, {"W1": MARKUP})
    styles = area_styles(rows, shapes)
    assert shapes.payload["names"] == [MARKUP]
    assert MARKUP in styles["tips"]["values"] and "&lt;" not in json.dumps(styles)


def test_points_share_a_palette():
    pts = pd.DataFrame({"lon": [-0.1, -0.2, -0.3], "lat": [51.5, 51.6, 51.7],
                        "fill": [[68, 1, 84], [253, 231, 37], [68, 1, 84]]})
    sent = points_payload(pts, radius_m=230)
    assert sent["palette"] == ["#440154", "#fde725"] and sent["fill"] == [0, 1, 0] and sent["radius_m"] == 230


def test_examples():
    import doctest

    from ui import map_payload

    result = doctest.testmod(map_payload, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
