"""The Plan progress page's own controls: its windows, survey years and design effect, kept in the URL.

They share the sidebar's reading rules (widget, then link, then default; a bad link value
gives a notice), so they live beside ``ui.state`` and use its reader.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from analysis.progress import ProgressSettings
from ui.state import _Reader, _write

#: Design effects offered for the survey (1: interviews as a simple random sample).
DESIGN_EFFECTS = ("1", "1.5", "2", "2.5", "3", "4")


def progress_settings(months: Sequence[str], trust_ends: Sequence[str]) -> ProgressSettings:
    """Draw the plan's window controls and return them (all in the URL).

    ``bfrom``/``bto``: the baseline; ``lto``: the last month of the latest window (blank: the
    newest held; it is as long as the baseline); ``tbase``/``tlast``: the survey years (blank:
    the year overlapping each window most); ``deff``: the survey's design effect. The month
    options are the months the selection has (plus the defaults, so a source that starts
    after the launch says so clearly).
    """
    default = ProgressSettings()
    options = sorted({*months, default.baseline_start, default.baseline_end})
    ends = ["", *sorted(trust_ends)]
    r = _Reader()
    start = r.one("bfrom", options, default.baseline_start)
    end = r.one("bto", options, default.baseline_end)
    latest = r.one("lto", ["", *months], "")
    trust = r.one("tbase", ends, "")
    trust_latest = r.one("tlast", ends, "")
    deff = r.one("deff", list(DESIGN_EFFECTS), "1")
    aligned = "the year overlapping the window most"
    with st.sidebar:
        st.header("The plan's windows")
        st.selectbox("Crime baseline from", options, key="bfrom")
        st.selectbox("Crime baseline to", options, key="bto")
        st.selectbox("Latest window ends", ["", *months], key="lto",
                     format_func=lambda m: m or "the newest month held",
                     help="The latest window is as long as the baseline and ends here.")
        st.selectbox("Trust baseline (survey year ending)", ends, key="tbase", format_func=lambda e: e or aligned)
        st.selectbox("Trust latest (survey year ending)", ends, key="tlast", format_func=lambda e: e or aligned)
        st.select_slider("Survey design effect", DESIGN_EFFECTS, key="deff",
                         help="How much the survey's weighting and clustering inflate its variance; MOPAC publishes "
                              "none. Every trust interval uses 400 interviews a year ÷ this.")
        st.caption("Defaults: calendar 2022 against the newest 12 months held, each with the survey year that "
                   "overlaps it most, and no design effect.")
    _write({"bfrom": start, "bto": end, "lto": latest or None, "tbase": trust or None, "tlast": trust_latest or None,
            "deff": None if deff == "1" else deff})
    for notice in r.notices:
        st.caption(notice)
    return ProgressSettings(start, end, None, latest or None, trust or None, trust_latest or None, float(deff))
