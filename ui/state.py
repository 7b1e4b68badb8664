"""Every filter and the selected area live in the URL, so a link reproduces the view.

Each control has one stable key, used for the widget, ``st.session_state`` and the query
parameter alike. A value is taken from the widget when it is live, else from the URL, and
is always checked against the values the data has: an unknown value (a typo, an old link,
a path someone pasted) falls back to the default with a small notice and is never used as
anything but a label. ``sidebar`` is the one helper every page calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from analysis.periods import period_presets
from analysis.priorities import FlagSettings
from analysis.query import CrimeQuery
from analysis.registry import MEASURES
from ui import data, style

SOURCES = {"mps_ward": "Met recorded crime (all offences, by ward)",
           "police_uk": "police.uk street-level crimes"}
LEVELS = {"ward": "Wards", "borough": "Boroughs"}
METHODS = {"percentile": "Compare areas with each other (percentiles)",
           "interval": "Compare with London beyond the 95% intervals"}
COLOURINGS = {"bivariate": "Crime × trust (3×3)", "measure": "Crime measure only",
              "hotspot": "Hot spots of crime (Gi*)"}
CUSTOM = "Custom range"
ALL_LONDON = "All London"
DEFAULT_PERIOD = "Last 12 months"

#: Flag thresholds as exact fractions in canonical text (the URL form): thirds stay "2/3" and
#: "1/3", so the defaults are exactly FlagSettings' (and the CLI's) and a default download equals
#: ``python -m analysis export priorities`` byte for byte. Other options are round decimals.
CRIME_THRESHOLDS = ("0.5", "0.6", "2/3", "0.7", "0.75", "0.8", "0.9", "0.95")
TRUST_THRESHOLDS = ("0.05", "0.1", "0.2", "0.25", "0.3", "1/3", "0.4", "0.5")
_THIRDS = {Fraction(2, 3): "top third", Fraction(1, 3): "bottom third"}


def threshold_label(text: str) -> str:
    """Label a canonical threshold for the slider, e.g. '2/3' → '67% (top third)'."""
    value = Fraction(text)
    third = _THIRDS.get(value)
    return f"{float(value):.0%}" + (f" ({third})" if third else "")


def threshold_value(text: str) -> float:
    """Return a canonical threshold as the float FlagSettings takes ('2/3' → exactly 2 / 3)."""
    return float(Fraction(text))


def canonical_threshold(raw: object, options: Sequence[str]) -> str | None:
    """Return the option equal to ``raw`` (canonical, a decimal, or a legacy whole percent), else None.

    Old links carried whole percents ('67', '33'); those map to the nearest option when it is
    within half a percent, so '67' is the top third again.
    """
    try:
        value = Fraction(str(raw).strip())
    except (ValueError, ZeroDivisionError):
        return None
    if value > 1 and value.denominator == 1:
        value /= 100
    nearest = min(options, key=lambda o: abs(Fraction(o) - value))
    return nearest if abs(Fraction(nearest) - value) <= Fraction(1, 200) else None


@dataclass(frozen=True)
class View:
    """What every page needs to know about the current selection."""

    query: CrimeQuery
    flags: FlagSettings = field(default_factory=FlagSettings)
    colouring: str = "bivariate"
    area: str | None = None
    meeting: bool = False
    notices: tuple[str, ...] = field(default=(), compare=False)

    @property
    def trust_measure(self) -> str:
        """The chosen survey measure (held once, in the flag settings)."""
        return self.flags.trust_measure

    @property
    def measure_label(self) -> str:
        """The chosen crime measure in words (plainer words in meeting mode)."""
        return measure_label(self.query.measure, meeting=self.meeting)


def measure_label(measure_id: str, *, meeting: bool = False) -> str:
    """A crime measure in words: the analyst's label, or the plain one for a meeting."""
    chosen = MEASURES[measure_id]
    return chosen.plain_label if meeting else chosen.label


_SHADOW = "_kept_"  # session copies that survive page switches (which clear widget state and the URL)
_MISSING = object()


def _raw(key: str, *, many: bool = False) -> Any:
    """Return the value from the live widget, else the URL, else this session's last value."""
    if key in st.session_state:
        return st.session_state[key]
    if key in st.query_params:
        return st.query_params.get_all(key) if many else st.query_params.get(key)
    return st.session_state.get(_SHADOW + key, _MISSING)


class _Reader:
    """Read a control's value: widget first, then URL, validated, else default."""

    def __init__(self) -> None:
        self.notices: list[str] = []

    def _notice(self, key: str) -> None:
        if key in st.query_params and key not in st.session_state:
            self.notices.append(f"The link's value for “{key}” is not one this data has; using the default.")

    def one(self, key: str, options: Sequence[str], default: str) -> str:
        raw = _raw(key)
        if raw is _MISSING:
            value = default
        elif raw in options:
            value = raw
        else:
            self._notice(key)
            value = default
        st.session_state[key] = value
        return value

    def many(self, key: str, options: Sequence[str], default: Sequence[str] = (),
             limit: int | None = None) -> list[str]:
        raw = _raw(key, many=True)
        if raw is _MISSING:
            values = list(default)
        else:
            raw = list(raw) if isinstance(raw, list | tuple) else [raw]
            allowed = set(options)
            values = [v for v in raw if v in allowed]
            if len(values) < len(raw):
                self._notice(key)
        values = values[:limit] if limit is not None else values
        st.session_state[key] = values
        return values

    def threshold(self, key: str, options: Sequence[str], default: str) -> str:
        raw = _raw(key)
        value = default if raw is _MISSING else canonical_threshold(raw, options)
        if value is None:
            self._notice(key)
            value = default
        st.session_state[key] = value
        return value

    def flag(self, key: str, default: bool = False) -> bool:
        raw = _raw(key)
        value = default if raw is _MISSING else raw in (True, "1")
        st.session_state[key] = value
        return value


def _write(params: dict[str, Any]) -> None:
    """Write the current values back into the URL (only what changed) and the session copy."""
    for key, value in params.items():
        st.session_state[_SHADOW + key] = value
        if value is None or value == [] or value is False:
            if key in st.query_params:
                del st.query_params[key]
        elif isinstance(value, list):
            if st.query_params.get_all(key) != value:
                st.query_params[key] = value
        else:
            text = "1" if value is True else str(value)
            if st.query_params.get(key) != text:
                st.query_params[key] = text


def meeting_toggle() -> bool:
    """Show the meeting-mode toggle (in the page, so it stays reachable) and apply its CSS."""
    reader = _Reader()
    reader.flag("meeting")
    on = st.toggle("Meeting mode (large type, no controls)", key="meeting",
                   help="For a projected screen. Also reachable with ?meeting=1 in the link.")
    _write({"meeting": on})
    if not on:  # meeting mode sets its own, higher contrast
        style.apply_base_css()
    style.apply_meeting_mode(on)
    return on


ROOT = Path(__file__).resolve().parent.parent


def _menu() -> None:
    """Links to every page, built from the pages/ folder so a new page joins the menu by itself.

    Streamlit's own menu would label the home page by its file name, "app". A page run as
    its own entry point (as page tests do) has no app around it, so it gets no menu.
    """
    pages = [(ROOT / "app.py", "Overview")] + [
        (path, path.stem.split("_", 1)[1].replace("_", " ")) for path in sorted((ROOT / "pages").glob("[0-9]_*.py"))]
    try:
        for path, label in pages:
            st.page_link(str(path), label=label)
    except StreamlitPageNotFoundError:
        return
    st.divider()


def sidebar(*, crime: bool = True, trust: bool = True, colouring: bool = False, area: bool = False,
            period: bool = True, crime_default: tuple[str, tuple[str, ...]] | None = None) -> View:
    """Draw the shared sidebar controls for a page and return the validated selection.

    Parameters
    ----------
    crime, trust, colouring
        Which groups of controls the page uses (others keep their URL values untouched).
    period
        The page uses the crime period (Plan progress sets its own periods).
    area
        The page shows one selected area (``area`` in the URL).
    crime_default
        The source and crime types a first visit opens on (default: the Met's, every type).
    """
    st.set_page_config(page_title="London crime and trust", layout="wide")
    data.follow_store()
    with st.sidebar:
        _menu()
    meeting = meeting_toggle()
    r = _Reader()
    names = data.area_names()
    label = partial(measure_label, meeting=meeting)
    with st.sidebar:
        boroughs = data.area_names("borough")
        chosen_borough = r.one("borough", ["", *boroughs], "")
        fresh = _raw("src") is _MISSING
        source = r.one("src", list(SOURCES), crime_default[0] if crime_default else "mps_ward")
        level = r.one("level", list(LEVELS), "ward")
        types, groups = data.crime_options(source)
        sel_groups = r.many("groups", groups)
        sel_types = r.many("types", types, crime_default[1] if crime_default and fresh else ())
        measure = r.one("measure", list(MEASURES), "rate")
        smoothed = r.flag("eb")
        start = end = None
        if crime:
            st.header("Crime")
            st.selectbox("Source", list(SOURCES), format_func=SOURCES.get, key="src")
            st.radio("Areas", list(LEVELS), format_func=LEVELS.get, key="level", horizontal=True)
            if groups:
                st.multiselect("Offence groups", groups, key="groups", placeholder="All offences")
            st.multiselect("Crime types", types, key="types", placeholder="All published types")
            st.selectbox("Measure", list(MEASURES), format_func=label, key="measure")
            st.checkbox("Smooth ward rates (Empirical Bayes)", key="eb",
                        disabled=not MEASURES[measure].smoothed(True, level),
                        help="Pulls small wards' rates toward their borough's, so a few crimes do not dominate.")
        available = data.months(source, tuple(sel_types), tuple(sel_groups))
        presets = period_presets(available)
        start, end = _period(r, presets, available, show=crime and period)
        view_colouring = r.one("colour", list(COLOURINGS), "bivariate")
        if colouring:
            st.radio("Colour the map by", list(COLOURINGS), format_func=COLOURINGS.get, key="colour")
        trust_measures = data.trust_measure_labels()
        trust_measure = r.one("trust", list(trust_measures), "trust_mps" if "trust_mps" in trust_measures
                              else next(iter(trust_measures), "trust_mps"))
        method = r.one("method", list(METHODS), "percentile")
        crime_pct = r.threshold("cpct", CRIME_THRESHOLDS, "2/3")
        trust_pct = r.threshold("tpct", TRUST_THRESHOLDS, "1/3")
        if trust:
            st.header("Trust")
            st.selectbox("Trust measure (MOPAC survey)", list(trust_measures), format_func=trust_measures.get,
                         key="trust")
            st.header("Priority flag")
            st.radio("Rule", list(METHODS), format_func=METHODS.get, key="method")
            st.select_slider("Crime at or above percentile", CRIME_THRESHOLDS, format_func=threshold_label,
                             key="cpct", disabled=method != "percentile")
            st.select_slider("Trust at or below percentile", TRUST_THRESHOLDS, format_func=threshold_label,
                             key="tpct", disabled=method != "percentile")
        chosen = r.one("area", ["", *names], "") if area or "area" in st.query_params else ""
    params: dict[str, Any] = {"src": source, "level": level, "groups": sel_groups, "types": sel_types,
                              "measure": measure, "eb": smoothed, "start": start, "end": end,
                              "colour": view_colouring, "trust": trust_measure, "method": method, "cpct": crime_pct,
                              "tpct": trust_pct, "area": chosen or None,
                              "borough": chosen_borough or None}
    _write(params)
    for notice in r.notices:
        st.caption(notice)
    q = CrimeQuery(source=source, level=level, crime_types=tuple(sel_types), crime_groups=tuple(sel_groups),
                   start=start, end=end, measure=measure, smoothed=MEASURES[measure].smoothed(smoothed, level))
    flags = FlagSettings(method=method, crime_pct=threshold_value(crime_pct),
                         trust_pct=threshold_value(trust_pct), trust_measure=trust_measure)
    return View(query=q, flags=flags, colouring=view_colouring, area=chosen or None,
                meeting=meeting, notices=tuple(r.notices))


def _period(r: _Reader, presets: dict[str, tuple[str, str]], available: list[str],
            *, show: bool) -> tuple[str | None, str | None]:
    """Read the period (a preset or a custom month range) and keep start/end in the URL."""
    if not available:
        return None, None
    default = DEFAULT_PERIOD if DEFAULT_PERIOD in presets else next(iter(presets))
    if "period" not in st.session_state:
        url = (st.query_params.get("start", st.session_state.get(_SHADOW + "start")),
               st.query_params.get("end", st.session_state.get(_SHADOW + "end")))
        match = [name for name, span in presets.items() if span == url]
        if url == (None, None):
            st.session_state["period"] = default
        elif match:
            st.session_state["period"] = match[0]
        elif url[0] in available and url[1] in available and url[0] <= url[1]:
            st.session_state["period"] = CUSTOM
            st.session_state["months"] = url
        else:
            r.notices.append("The link's period is not in this data; showing the latest 12 months.")
    options = [*presets, CUSTOM]
    period = r.one("period", options, default)
    if show:
        st.selectbox("Period", options, key="period")
    if period != CUSTOM:
        return presets[period]
    span = st.session_state.get("months")
    if not (isinstance(span, tuple | list) and len(span) == 2 and span[0] in available and span[1] in available):
        span = (available[max(0, len(available) - 12)], available[-1])
    st.session_state["months"] = tuple(span)
    if show:
        st.select_slider("Months", available, key="months")
    start, end = st.session_state["months"]
    # A custom range with a gap in the data (police.uk types differ by month) falls back.
    inside = [m for m in available if start <= m <= end]
    if not inside:
        return presets.get(DEFAULT_PERIOD, (available[0], available[-1]))
    return inside[0], inside[-1]


def pick_boroughs(names: dict[str, str], default: list[str]) -> list[str]:
    """Draw the borough picker of the Trust page (``boroughs`` in the URL) and return the codes."""
    r = _Reader()
    r.many("boroughs", list(names), default)
    chosen = st.multiselect("Boroughs to compare", list(names), format_func=names.get, key="boroughs")
    _write({"boroughs": chosen})
    for notice in r.notices:
        st.caption(notice)
    return chosen


def pick_borough(names: dict[str, str]) -> str | None:
    """Draw the borough filter (``borough`` in the URL, read and kept by :func:`sidebar` on every page).

    Returns the chosen borough's code, or None for all of London.
    """
    chosen = st.selectbox("Borough", ["", *sorted(names, key=names.get)], key="borough",
                          format_func=lambda code: names.get(code, ALL_LONDON),
                          help="Show one borough's areas: the map zooms to it and the table lists only its "
                               "areas. Flags and ranks still compare every area in London.", width=320)
    return chosen or None


def open_profile(area_code: str) -> None:
    """Open an area's profile (a map click): the area goes into the URL and the session, then the page switches."""
    st.query_params["area"] = area_code
    st.session_state["area"] = area_code
    st.switch_page("pages/3_Area_profile.py")


def open_selected_row(event: object, codes: Sequence[str]) -> None:
    """Open the profile of the row clicked in a table (``st.dataframe(..., on_select="rerun")``), if any.

    A selected row or a selected cell both count, so a click anywhere in a row opens it.
    ``codes`` are the area codes of the table's rows in the order given to ``st.dataframe``
    (a selection names rows by position, whatever order the user sorted them into).
    """
    try:
        selection = event.selection  # type: ignore[attr-defined]
        rows = [*selection.get("rows", []), *(cell[0] for cell in selection.get("cells", []))]
    except (AttributeError, TypeError, IndexError):
        return
    if rows and 0 <= rows[0] < len(codes):
        open_profile(str(codes[rows[0]]))


def pick_area(names: dict[str, str], current: str | None) -> str:
    """Draw the profile's area picker (``area`` in the URL) and return the chosen code.

    An area from the link that is not at the chosen level falls back to the first area
    by name, with a notice.
    """
    codes = sorted(names, key=names.get)
    if current not in names:
        if current:
            st.caption("The area in the link is not at this level; pick one below.")
        st.session_state["area"] = codes[0]
    area = st.selectbox("Area", codes, format_func=names.get, key="area")
    st.query_params["area"] = area
    return area


#: Compare shows the area being viewed and up to this many more.
COMPARE_OTHERS = 3


@dataclass(frozen=True)
class Compared:
    """The areas in Compare: the one viewed first, then the others; and notes on what a link held."""

    codes: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def others(self) -> tuple[str, ...]:
        """The areas compared besides the one viewed."""
        return self.codes[1:]

    @property
    def full(self) -> bool:
        """Whether no further area can be added."""
        return len(self.others) >= COMPARE_OTHERS


def compared(names: dict[str, str], area: str) -> Compared:
    """Return the areas in Compare, checked, before anything is drawn (the picker comes later on the page).

    The area being viewed is always compared: it is not an option of the picker, so it cannot
    be removed and cannot vanish. The others (``compare`` in the URL) are checked against this
    level's areas: unknown codes from a link are dropped with a note, and more than three are
    cut to three, naming those left out.
    """
    raw = _raw("compare", many=True)
    given = [] if raw is _MISSING else [str(c) for c in (raw if isinstance(raw, list | tuple) else [raw])]
    given = [c for c in dict.fromkeys(given) if c != area]
    known = [c for c in given if c in names]
    notes = []
    if len(known) < len(given) and "compare" in st.query_params and "compare" not in st.session_state:
        notes.append("The link's value for “compare” names areas this data does not have at this level; "
                     "they are left out.")
    if len(known) > COMPARE_OTHERS:
        notes.append(f"Compare holds {names[area]} and {COMPARE_OTHERS} more areas; left out: "
                     + ", ".join(names[c] for c in known[COMPARE_OTHERS:]) + ".")
    st.session_state["compare"] = known[:COMPARE_OTHERS]
    return Compared((area, *known[:COMPARE_OTHERS]), tuple(notes))


def pick_compare(names: dict[str, str], current: Compared) -> list[str]:
    """Draw the Compare picker (the areas besides the one viewed) and return every area compared, viewed first."""
    area = current.codes[0]
    for note in current.notes:
        st.caption(note)
    options = sorted((c for c in names if c != area), key=names.get)
    st.multiselect(f"Compare {names[area]} with", options, format_func=names.get, key="compare",
                   max_selections=COMPARE_OTHERS, placeholder=f"Pick up to {COMPARE_OTHERS} areas",
                   help="Or press “Compare” beside a neighbouring area.")
    chosen = list(st.session_state["compare"])
    _write({"compare": chosen})
    return [area, *chosen]


def add_to_compare(area_code: str) -> None:
    """Add an area to Compare (a button's ``on_click``); a full or repeated addition changes nothing."""
    current = list(st.session_state.get("compare") or [])
    if area_code not in current and len(current) < COMPARE_OTHERS:
        st.session_state["compare"] = [*current, area_code]


def show_area(area_code: str) -> None:
    """Show another area on the profile page (a button's ``on_click``): the area picker takes it."""
    st.session_state["area"] = area_code


def choose_crime(source: str, crime_types: Sequence[str]) -> None:
    """Switch the crime source and types (a button's ``on_click``: it runs before the widgets are drawn)."""
    st.session_state["src"] = source
    st.session_state["types"] = list(crime_types)
    st.session_state["groups"] = []
