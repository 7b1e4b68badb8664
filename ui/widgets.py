"""Small reusable pieces of page layout: the data banner and the map legends.

Legends are drawn with ``st.columns`` and coloured blocks made from static CSS in this file
(no data ever reaches ``unsafe_allow_html``); labels are passed as plain text to
``st.caption``/``st.markdown`` without HTML.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from analysis.periods import PLAN
from data_sources.build import currency_line
from ui import data, state, style

_SWATCH = ('<div style="background: rgb({r},{g},{b}); height: {h}px; border: 1px solid #555;'
           ' border-radius: 2px;"></div>')


def _swatch(rgb: style.RGB, height: int) -> None:
    r, g, b = (int(v) for v in rgb)  # integers from the palette constants, never data
    st.markdown(_SWATCH.format(r=r, g=g, b=b, h=int(height)), unsafe_allow_html=True)


def data_banner() -> None:
    """Say how current each source is, in words, and which data the page shows (store or snapshot, build time)."""
    loaded = data.loaded()
    handle = loaded.handle
    kind = "built store" if handle.kind == "store" else "embedded snapshot"
    st.caption(f"{currency_line(handle.manifest)} Data: the {kind}, built "
               f"{handle.manifest.get('built_at', 'at an unknown time')}; OGL v3.0.")
    if loaded.problem:
        st.warning(loaded.problem)
    if data.moved_to_new_version():
        st.info(f"The data was updated while the app was open: this page now shows the new version, built "
                f"{handle.manifest.get('built_at', 'just now')}.")


def bivariate_legend(*, large: bool = False) -> None:
    """Draw the 3×3 crime × trust legend (rows: crime high → low; columns: trust low → high)."""
    height = 48 if large else 22
    st.markdown("**Crime × trust**")
    names = ("low", "mid", "high")
    for c in (2, 1, 0):
        cols = st.columns([2, 1, 1, 1])
        cols[0].caption(f"{names[c]} crime")
        for t in range(3):
            with cols[t + 1]:
                _swatch(style.BIVARIATE[c][t], height)
    cols = st.columns([2, 1, 1, 1])
    for t in range(3):
        cols[t + 1].caption(f"{names[t]} trust")
    st.caption("Black: high crime and low trust. Black-and-white outline: flagged priority area.")


def sequential_legend(label: str, low: float, high: float, *, large: bool = False) -> None:
    """Draw the viridis steps with the range of the values they stand for."""
    height = 40 if large else 18
    st.markdown(f"**{label}**" if "*" not in label else label)
    cols = st.columns(len(style.SEQUENTIAL))
    for col, rgb in zip(cols, style.SEQUENTIAL, strict=True):
        with col:
            _swatch(rgb, height)
    left, right = st.columns(2)
    left.caption(f"lowest ({low:,.1f})")
    right.caption(f"highest ({high:,.1f})")
    st.caption("Colours are ranks: each step holds about the same number of areas. "
               "Black-and-white outline: flagged priority area.")


def hotspot_legend(counts: dict[str, int], *, large: bool = False) -> None:
    """Draw the Gi* legend: hot, cold and not significant, with how many areas each."""
    height = 40 if large else 18
    st.markdown("**Hot spots (Getis-Ord Gi\\*)**")
    for label, rgb in style.HOTSPOT.items():
        swatch, text = st.columns([1, 3])
        with swatch:
            _swatch(rgb, height)
        text.caption(f"{label} ({counts.get(label, 0)})")
    st.caption("Hot: the area and its neighbours together have more crime than the London average, beyond chance "
               "(5% false discovery rate). Grey: no data. Black-and-white outline: flagged priority area.")


def fmt(x: object, spec: str = ",.1f") -> str:
    """Format a number for display; missing values read 'no data'."""
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "no data"
    return "no data" if v != v else format(v, spec)


def pct(x: object) -> str:
    """Format a proportion as a whole percentage."""
    return fmt(x, ".0%")


POINTS_HELP = "Percentage points: 0.72 → 0.76 is +4.0 pts."


def points(x: object) -> str:
    """Format a change of proportions in percentage points, e.g. 0.04 → '+4.0 pts'."""
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "no data"
    return "no data" if v != v else f"{v * 100:+.1f} pts"


def percent_points(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Return a copy with proportion columns ×100, for tables showing percents and percentage points."""
    out = frame.copy()
    out[columns] = out[columns].astype(float) * 100
    return out


def interval(lo: object, hi: object) -> str:
    """Describe a 95% interval of proportions."""
    return f"95% interval {pct(lo)} to {pct(hi)}"


def rate_line(row: pd.Series, london: pd.Series) -> None:
    """Say the area's crime rate with its interval, against its borough's and London's."""
    st.write(f"Crime rate {fmt(row['rate'])} per 1,000 residents (95% interval {fmt(row['rate_lo'])}–"
             f"{fmt(row['rate_hi'])}); London {fmt(london['rate'])}; {fmt(row['rate_ratio'], '.2f')}× London.")
    if bool(row.get("daytime_caveat", False)):
        st.caption("Many more people work, shop or visit here than live here, so a rate per resident is inflated.")


def before_after(row: pd.Series) -> None:
    """Show change against the year before and against the same months of 2022 (before the plan)."""
    cols = st.columns(3)
    cols[0].metric("Crime vs previous period", pct(row["change_prev"]))
    cols[1].metric("Crime vs same months of 2022", pct(row["change_vs_2022"]),
                   help="The plan 'A New Met for London' launched in early 2023; no data reads 'no data'.")
    cols[2].metric("Trust change since Dec 2022", points(row.get("trust_change_since_plan")), help=POINTS_HELP)


def trust_chart(trust: pd.DataFrame, area_codes: list[str], *, with_london: bool = True, large: bool = False) -> None:
    """Line chart of a trust measure over time with 95% bands, London dashed, the plan's launch marked."""
    rows = trust[trust["area_code"].astype(str).isin(area_codes)]
    if rows.empty:
        st.info("No survey figures for this area (the City of London is not surveyed by MOPAC).")
        return
    frame = rows[["period_end", "area_name", "proportion", "lo", "hi"]].astype({"area_name": str})
    if with_london:
        london = rows.drop_duplicates("period_end")[["period_end", "london_proportion", "london_lo", "london_hi"]]
        london = london.rename(columns={"london_proportion": "proportion", "london_lo": "lo", "london_hi": "hi"})
        frame = pd.concat([frame, london.assign(area_name="London")], ignore_index=True)
    colours = _area_colours(frame["area_name"].tolist())
    base = alt.Chart(frame).encode(x=alt.X("period_end:T", title="Survey year ending",
                                           axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount="year")))
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("lo:Q", title="Share agreeing", axis=alt.Axis(format="%")),
                                              y2="hi:Q", color=alt.Color("area_name:N", scale=colours, legend=None))
    line = base.mark_line(point=True).encode(y="proportion:Q", tooltip=["area_name", "period_end", "proportion"],
                                             color=alt.Color("area_name:N", title="Area", scale=colours))
    launch = alt.Chart(pd.DataFrame({"d": [PLAN.launch_date]})).mark_rule(strokeDash=[6, 4]).encode(
        x="d:T")
    # Independent colour scales (same domain and colours) so the faint bands do not hide the lines' legend.
    chart = (band + line + launch).resolve_scale(color="independent")
    st.altair_chart(style.chart_fonts(chart, large=large), width="stretch")
    st.caption("Dashed line: 'A New Met for London' launched (early 2023). Bands: 95% intervals "
               "assuming about 100 interviews per borough per quarter (MOPAC does not publish sample sizes).")


def _area_colours(names: list[str]) -> alt.Scale:
    """Okabe-Ito colours for the areas in order, London in black."""
    areas = [n for n in dict.fromkeys(names) if n != "London"]
    domain = [*areas, "London"] if "London" in names else areas
    return alt.Scale(domain=domain, range=[*(style.CATEGORICAL * 2)[:len(areas)], style.LONDON_LINE][:len(domain)])


def area_trend_chart(frame: pd.DataFrame, y_title: str, *, y: str = "rate", large: bool = False) -> None:
    """Monthly lines for a few areas (long format ``month, <y>, area``), London in black."""
    chart = alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("month:O", title="Month"), y=alt.Y(f"{y}:Q", title=y_title),
        color=alt.Color("area:N", title="Area", scale=_area_colours(frame["area"].astype(str).tolist())),
        tooltip=["area", "month", alt.Tooltip(f"{y}:Q", format=",.2f")])
    st.altair_chart(style.chart_fonts(chart, large=large), width="stretch")


def type_trend_chart(frame: pd.DataFrame, *, grouped: bool, large: bool = False) -> None:
    """Stacked monthly bars per crime type (police.uk) or offence group (Met) from ``data.type_trend``."""
    if frame.empty or frame["count"].isna().all():
        st.info("No crime counts for this area in this period (the source does not cover it).")
        return
    title = "Offence group" if grouped else "Crime type"
    order = frame.groupby("type")["count"].sum().sort_values(ascending=False).index.tolist()
    ranked = frame.dropna().assign(type_rank=lambda f: f["type"].map({t: i for i, t in enumerate(order)}))
    chart = alt.Chart(ranked).mark_bar().encode(
        x=alt.X("month:O", title="Month"), y=alt.Y("count:Q", title="Crimes", stack=True),
        color=alt.Color("type:N", title=title, sort=order, scale=alt.Scale(scheme="tableau20"),
                        legend=alt.Legend(labelLimit=320)),
        order=alt.Order("type_rank:Q"), tooltip=["month", "type", alt.Tooltip("count:Q", format=",.0f")],
    )
    st.altair_chart(style.chart_fonts(chart, large=large), width="stretch")


def outcomes_mix(frame: pd.DataFrame | None, note: str, *, large: bool = False) -> None:
    """Bar chart of the latest recorded outcomes (shares), or the note saying why there is none."""
    if frame is None:
        st.info(note)
        return
    chart = alt.Chart(frame).mark_bar().encode(
        y=alt.Y("outcome:N", title=None, sort="-x", axis=alt.Axis(labelLimit=360)),
        x=alt.X("share:Q", title="Share of crimes with an outcome", axis=alt.Axis(format="%")),
        tooltip=["outcome", alt.Tooltip("crimes:Q", format=",d"), alt.Tooltip("share:Q", format=".0%")])
    if large:
        chart = chart.properties(height=max(200, 48 * len(frame)))
    st.altair_chart(style.chart_fonts(chart, large=large), width="stretch")
    st.caption(note)


def compare_frame(picked: pd.DataFrame, label: str) -> pd.DataFrame:
    """The side-by-side table for Compare: one column per row of ``picked``, in its order.

    ``picked`` holds priority-table rows (``area_code``, ``area_name``, ``borough_name``,
    ``value``, the rate and trust intervals, ``trust_source_level``, ``class_label``,
    ``flagged``, ``rank``). Values are taken by position, never aligned on an index, so
    each column holds its own area's figures whatever the rows are indexed by. Columns
    are headed by the area's name (with its code when two compared areas share a name).
    """
    rows = picked.reset_index(drop=True)
    names = rows["area_name"].astype(str).tolist()
    codes = rows["area_code"].astype(str).tolist()
    headers = [f"{n} ({c})" if names.count(n) > 1 else n for n, c in zip(names, codes, strict=True)]
    fields = {
        "Borough": rows["borough_name"].astype(str).tolist(),
        label: [fmt(v) for v in rows["value"]],
        "Crime rate (95% interval)": [f"{fmt(r)} ({fmt(lo)}–{fmt(hi)})" if r == r else "no data"
                                      for r, lo, hi in zip(rows["rate"], rows["rate_lo"], rows["rate_hi"],
                                                           strict=True)],
        "Trust (95% interval)": [f"{pct(t)} ({pct(lo)}–{pct(hi)})" if t == t else "not surveyed"
                                 for t, lo, hi in zip(rows["trust"], rows["trust_lo"], rows["trust_hi"],
                                                      strict=True)],
        "Trust figure from": [s if isinstance(s, str) and s else "not surveyed" for s in rows["trust_source_level"]],
        "Class": rows["class_label"].astype(str).tolist(),
        "Flagged": ["yes" if f else "no" for f in rows["flagged"]],
        "Rank": [str(int(r)) for r in rows["rank"]],
    }
    return pd.DataFrame(list(fields.values()), index=list(fields), columns=headers)


PRIORITY_COLUMNS = {"rank": "Rank", "area_name": "Area", "borough_name": "Borough", "value": "",
                    "rate_lo": "Rate low", "rate_hi": "Rate high", "trust": "Trust", "trust_lo": "Trust low",
                    "trust_hi": "Trust high", "trust_source_level": "Trust figure from", "class_label": "Class",
                    "robustness_periods": "Also flagged in earlier periods",
                    "robustness_settings": "Under nearby thresholds", "reason": "Why"}


def priority_table(rows: pd.DataFrame, label: str) -> object:
    """Show priority-table rows (trust in percent), selectable by a click anywhere in a row; return the event.

    ``label`` names the crime value column. A click on a cell selects that cell, a click on
    the row's box selects the row; either names a position in ``rows``
    (``state.open_selected_row`` opens that area's profile).
    """
    columns = {**PRIORITY_COLUMNS, "value": label}
    shares = ["Trust", "Trust low", "Trust high"]
    frame = percent_points(rows[list(columns)].rename(columns=columns), shares)
    config = {**{c: st.column_config.NumberColumn(format="%.0f%%") for c in shares},
              **{c: st.column_config.NumberColumn(format="%,.1f") for c in (label, "Rate low", "Rate high")}}
    return st.dataframe(frame, key="priority_table", hide_index=True, width="stretch", column_config=config,
                        on_select="rerun", selection_mode=["single-row", "single-cell"])


def neighbour_list(table: pd.DataFrame, codes: list[str], current: state.Compared, *, level: str) -> None:
    """List neighbouring areas with their class, each with “Open” (its profile) and “Compare” (add it) buttons.

    ``table`` is the priority table (flagged first, by rank), so neighbours are listed in
    that order. Buttons have keys ``open_<code>`` and ``add_compare_<code>``.
    """
    rows = table[table["area_code"].astype(str).isin(codes)]
    if rows.empty:
        st.caption("No neighbouring areas: this area touches no other in the boundary file.")
        return
    for rec in rows.itertuples(index=False):
        code = str(rec.area_code)
        text, open_col, compare_col = st.columns([6, 1.3, 1.3], vertical_alignment="center")
        where = f" ({rec.borough_name})" if level == "ward" else ""
        flag = f" · **flagged**, rank {int(rec.rank)}" if rec.flagged else ""
        text.markdown(f"**{rec.area_name}**{where} — {rec.class_label}{flag}")
        open_col.button("Open", key=f"open_{code}", on_click=state.show_area, args=(code,),
                        help=f"Open the profile of {rec.area_name}", width="stretch")
        added = code in current.others
        compare_col.button("In Compare" if added else "Compare", key=f"add_compare_{code}",
                           on_click=state.add_to_compare, args=(code,), disabled=added or current.full,
                           help=(f"{rec.area_name} is in Compare below" if added else
                                 "Compare holds four areas: remove one below first" if current.full else
                                 f"Add {rec.area_name} to Compare below"), width="stretch")


METHOD_SUMMARY = """
- **Crime**: counts per ward or borough from one source at a time (Met recorded crime, or police.uk
  street-level crimes placed in wards by their coordinates). Rates are per 1,000 residents (Census 2021)
  with exact Poisson 95% intervals; small wards can be smoothed toward their borough (Empirical Bayes).
  Harm weights crimes by the Cambridge Crime Harm Index.
- **Trust**: MOPAC's Public Attitude Survey, by borough, each figure a rolling year. Intervals assume about
  100 interviews per borough per quarter. At ward level trust is the borough's figure. The City of London
  is not surveyed.
- **Priority flag**: an area is flagged when its crime measure is at or above a percentile and its trust at
  or below another (or, with the interval rule, both differ from London beyond their 95% intervals).
  Robustness says whether the area is also flagged in earlier periods and under nearby thresholds.
"""


def sources_frame(manifest: dict) -> pd.DataFrame:
    """Return one row per source: months covered and the row accounting from the manifest."""
    rows = []
    for name, info in manifest.get("sources", {}).items():
        months = info.get("months") or []
        dropped = info.get("dropped") or {}
        rows.append({"source": name, "first month": months[0] if months else "", "last month": months[-1] if months
                     else "", "months": len(months), "rows read": info.get("rows_read"),
                     "rows kept": info.get("rows_kept"),
                     "dropped": "; ".join(f"{k}: {v:,}" for k, v in dropped.items()) or "none",
                     "files": len(info.get("files") or [])})
    return pd.DataFrame(rows)


def download_buttons(stem: str, csv_files: dict[str, bytes], zipped: bytes, geojson: dict[str, bytes]) -> None:
    """Offer a table as CSV, its metadata sidecar, both zipped, and GeoJSON (keys ``download_*``).

    ``on_click="ignore"``: a download must not rerun the page, or the rerun can replace the
    file while the browser is still fetching it (seen under load as a cancelled download).
    """
    (csv_name, csv_data), (meta_name, meta_data) = csv_files.items()
    (geo_name, geo_data), = geojson.items()
    cols = st.columns(4)
    cols[0].download_button("Download CSV", csv_data, file_name=csv_name, mime="text/csv", key="download_csv",
                            on_click="ignore", help="Opens as a plain table in Excel or LibreOffice.")
    cols[1].download_button("Metadata (JSON)", meta_data, file_name=meta_name, mime="application/csvm+json",
                            key="download_metadata", on_click="ignore",
                            help="Sources, months, thresholds, method version, licence and every column explained.")
    cols[2].download_button("CSV + metadata (zip)", zipped, file_name=f"{stem}.zip", mime="application/zip",
                            key="download_zip", on_click="ignore")
    cols[3].download_button("Download GeoJSON", geo_data, file_name=geo_name, mime="application/geo+json",
                            key="download_geojson", on_click="ignore", help="The same table with the area outlines.")


def design_effect_note(table: pd.DataFrame, wider: pd.DataFrame, design_effect: float) -> None:
    """Say which interval-rule flags change when the survey's interviews count ``design_effect`` times less.

    The rule compares each area's trust interval with London's; the 400 interviews per
    borough a year behind those intervals are MOPAC's unweighted design, and the weighted,
    clustered survey is worth fewer, by a design effect MOPAC does not publish.
    """
    now = set(table.loc[table["flagged"], "area_name"])
    then = set(wider.loc[wider["flagged"], "area_name"])
    lost, gained = sorted(now - then), sorted(then - now)
    if not lost and not gained:
        st.caption(f"With a survey design effect of {design_effect:g} (trust intervals {design_effect ** 0.5:.2f}× "
                   "wider) no flag would change.")
        return
    parts = ([f"{len(lost)} would no longer be flagged ({', '.join(lost)})"] if lost else []) + (
        [f"{len(gained)} would be ({', '.join(gained)})"] if gained else [])
    st.caption(f"The trust intervals assume 400 interviews per borough a year (MOPAC's design, unweighted). With a "
               f"survey design effect of {design_effect:g} (intervals {design_effect ** 0.5:.2f}× wider): "
               + "; ".join(parts) + ".")
