"""Colours, meeting mode and the static CSS it needs.

Palettes are colour-blind safe: the sequential choropleth uses viridis steps, and the
3×3 crime × trust map uses the blue–orange bivariate scheme of Teuling et al. (2011),
whose nine cells stay apart under simulated deuteranopia, protanopia and tritanopia
(``tests/test_pages.py`` checks the distances). ``st.markdown(..., unsafe_allow_html=True)``
is used here only for CSS written in this file — never with data.
"""

from __future__ import annotations

import altair as alt
import streamlit as st

RGB = tuple[int, int, int]


def _hex(code: str) -> RGB:
    code = code.lstrip("#")
    return int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16)


#: Seven viridis steps, low → high.
SEQUENTIAL: list[RGB] = [_hex(c) for c in
                         ("#440154", "#443983", "#31688e", "#21918c", "#35b779", "#90d743", "#fde725")]

#: Bivariate 3×3 (Teuling et al. 2011): index [crime class][trust class], classes 0..2 low → high.
#: High crime is orange, low trust is blue, both together is near-black.
BIVARIATE: list[list[RGB]] = [
    # trust low,        mid,                high
    [_hex("#509dc2"), _hex("#b4d3e1"), _hex("#f3f3f3")],   # crime low
    [_hex("#376387"), _hex("#b3b3b3"), _hex("#f3e6b3")],   # crime mid
    [_hex("#000000"), _hex("#b36600"), _hex("#f3b300")],   # crime high
]
NO_DATA: RGB = (200, 200, 200)
#: Flagged areas: a cased line, black 4 px under a white 1.5 px core. Neither is a palette colour
#: (the old yellow outline vanished next to the orange cells), and the pair reads on any fill,
#: including the black high-crime/low-trust cell, for every kind of colour vision.
FLAG_UNDER: RGB = (0, 0, 0)
FLAG_OVER: RGB = (255, 255, 255)
FLAG_UNDER_PX, FLAG_OVER_PX = 4.0, 1.5
#: The area currently selected (a profile opened from the map).
SELECTED: RGB = (255, 0, 255)
#: Lines of areas compared in charts: Okabe-Ito (colour-blind safe); London is always black.
CATEGORICAL = ["#E69F00", "#0072B2", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"]
LONDON_LINE = "#000000"
#: Getis-Ord Gi* hot spots: orange / purple (a colour-blind-safe diverging pair), grey otherwise.
HOTSPOT: dict[str, RGB] = {"hot": _hex("#e66101"), "cold": _hex("#5e3c99"), "not significant": _hex("#e8e8e8")}
BOROUGH_LINE: RGB = (60, 60, 60)

_MEETING_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 24px !important; }
[data-testid="stAppViewContainer"] p, [data-testid="stAppViewContainer"] li,
[data-testid="stAppViewContainer"] td, [data-testid="stAppViewContainer"] th,
[data-testid="stMarkdownContainer"] { font-size: 24px !important; color: #000 !important; }
[data-testid="stCaptionContainer"] { font-size: 22px !important; color: #222 !important; }
[data-testid="stAppViewContainer"] [data-testid="stMetricValue"],
[data-testid="stAppViewContainer"] [data-testid="stMetricValue"] * {
  font-size: 56px !important; line-height: 1.2 !important; }
[data-testid="stMetricLabel"] p { font-size: 24px !important; }
h1 { font-size: 56px !important; } h2 { font-size: 40px !important; } h3 { font-size: 32px !important; }
[data-testid="stAppViewContainer"] { background: #fff !important; }
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="collapsedControl"],
[data-testid="stSidebarNav"], header[data-testid="stHeader"], [data-testid="stToolbar"] { display: none !important; }
[data-testid="stMain"] :is([data-testid="stSelectbox"], [data-testid="stMultiSelect"], [data-testid="stCheckbox"],
  [data-testid="stButton"], [data-testid="stDownloadButton"], [data-testid="stFileUploader"], [data-testid="stForm"],
  [data-testid="stTextInput"], [data-testid="stSlider"], [data-testid="stRadio"]) { display: none !important; }
.st-key-meeting [data-testid="stCheckbox"] { display: flex !important; }
.st-key-meeting p { font-size: 18px !important; color: #444 !important; }
</style>
"""


#: On every page: Streamlit draws captions in 60% grey at 60% opacity (2.9:1 on white, below
#: WCAG AA's 4.5:1); full opacity and 85% of the same ink read at about 6.6:1 on white and
#: above 4.5:1 on the sidebar's grey.
_BASE_CSS = """
<style>
[data-testid="stCaptionContainer"] { opacity: 1 !important; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] * { color: rgba(49, 51, 63, 0.85) !important; }
</style>
"""


_PRINT_CSS = """
<style>
@media print {
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="collapsedControl"],
  header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
  [data-testid="stSelectbox"], [data-testid="stMultiSelect"], [data-testid="stCheckbox"],
  [data-testid="stButton"], [data-testid="stDownloadButton"], [data-testid="stSlider"],
  [data-testid="stRadio"], [data-testid="stTextInput"], [data-testid="stFileUploader"],
  [data-testid="stElementToolbar"], .st-key-meeting, .no-print { display: none !important; }
  [data-testid="stMain"], [data-testid="stAppViewContainer"], .block-container, [data-testid="stMainBlockContainer"] {
    margin: 0 !important; padding: 0.5cm !important; max-width: 100% !important; width: 100% !important;
    overflow: visible !important; }
  [data-testid="stVegaLiteChart"], [data-testid="stMetric"], [data-testid="stDataFrame"], [data-testid="stTable"] {
    break-inside: avoid; page-break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
  * { -webkit-print-color-adjust: exact !important; print-color-adjust: exact !important; }
}
</style>
"""


def apply_print_css() -> None:
    """Make the page print cleanly: hide the sidebar and every control, keep charts whole (static CSS)."""
    st.markdown(_PRINT_CSS, unsafe_allow_html=True)


def apply_base_css() -> None:
    """Apply the CSS every page needs (readable caption contrast; static CSS)."""
    st.markdown(_BASE_CSS, unsafe_allow_html=True)


def apply_meeting_mode(on: bool) -> None:
    """Inject the large-type, high-contrast, controls-hidden CSS when meeting mode is on."""
    if on:
        st.markdown(_MEETING_CSS, unsafe_allow_html=True)


def chart_fonts(chart: alt.TopLevelMixin, *, large: bool) -> alt.TopLevelMixin:
    """Return an Altair chart with projector-sized axis and legend text in meeting mode (CSS cannot reach it)."""
    if not large:
        return chart
    return (chart.configure_axis(labelFontSize=20, titleFontSize=22, labelLimit=420)
            .configure_legend(labelFontSize=20, titleFontSize=22, symbolSize=240, labelLimit=420)
            .configure_title(fontSize=24))


def sequential_colour(position: float) -> RGB:
    """Return the viridis step for a position in [0, 1] (NaN → the no-data grey)."""
    if position != position:  # NaN
        return NO_DATA
    i = min(len(SEQUENTIAL) - 1, max(0, int(position * len(SEQUENTIAL))))
    return SEQUENTIAL[i]


def bivariate_colour(crime_class: int, trust_class: int) -> RGB:
    """Return the 3×3 colour for a crime class and a trust class (0..2); -1 → no data."""
    if crime_class < 0 or trust_class < 0:
        return NO_DATA
    return BIVARIATE[crime_class][trust_class]
