"""AppTest tests for every page of the dashboard, run against the embedded snapshot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analysis.trends import monthly_trend_by_type

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
TIMEOUT = 60


@pytest.fixture(autouse=True)
def _snapshot_only(tmp_path, monkeypatch):
    """Point the store at an empty folder so every page reads the committed snapshot."""
    monkeypatch.setenv("CRIME_TRUST_STORE", str(tmp_path / "no-store"))


def run(page: str, **params: str | list[str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("caption", "markdown", "info", "warning", "error", "title", "header", "subheader")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def param(at: AppTest, key: str) -> str:
    """One query parameter's value as the page wrote it."""
    value = at.query_params[key]
    return value[0] if isinstance(value, list) else value


def map_data(at: AppTest) -> dict:
    """What the first area map of a run was sent (``ui.area_map``)."""
    return json.loads(at.get("bidi_component")[0].proto.json)


def map_bytes(at: AppTest) -> int:
    return len(at.get("bidi_component")[0].proto.json)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_runs_and_says_which_data(page):
    at = run(str(page.relative_to(ROOT)))
    assert not at.exception
    assert "snapshot" in texts(at)


def test_map_page_controls():
    at = run("pages/1_Map.py")
    assert not at.exception
    flagged = int(at.metric[0].value)
    assert flagged > 0
    assert "trust is the borough figure" in texts(at)
    first = map_data(at)
    assert first["shapes"] and len(first["fill"]) == len(first["tips"]["areas"])
    at.run()  # a rerun sends styles only: the session's browser holds the shapes
    assert map_data(at)["shapes"] == {} and map_bytes(at) < 100_000
    at.radio(key="level").set_value("borough").run()
    assert not at.exception
    assert int(at.metric[0].value) < flagged
    at.selectbox(key="measure").set_value("harm").run()
    assert "harm" in texts(at)
    at.radio(key="colour").set_value("measure").run()
    assert "Colours are ranks" in texts(at)
    at.selectbox(key="src").set_value("police_uk").run()
    assert not at.exception
    assert "2022" in texts(at)
    at.checkbox(key="points").check().run()
    assert "need the built store" in texts(at)


def test_unknown_url_values_fall_back_with_notice():
    at = run("pages/1_Map.py", src="../../etc/passwd", measure="nonsense")
    assert not at.exception
    assert at.selectbox(key="src").value == "mps_ward"
    assert "not one this data has" in texts(at)


def test_overview_metrics_and_meeting_mode():
    at = run("app.py")
    assert "of 680" in at.metric[1].value
    assert at.metric[2].value.endswith("%")
    at.toggle(key="meeting").set_value(True).run()
    assert not at.exception
    assert at.query_params["meeting"] == "1" or at.query_params.get("meeting") == ["1"]
    assert any("font-size: 24px" in m.value for m in at.markdown)


def test_meeting_mode_from_url():
    at = run("pages/1_Map.py", meeting="1")
    assert at.toggle(key="meeting").value is True
    assert "Crimes for every 1,000 people" in texts(at)


def test_priority_table_and_download_equal_cli(tmp_path):
    at = run("pages/2_Priority_areas.py")
    n_flagged = int(at.metric[0].value.split(" of ")[0])
    assert at.dataframe[0].value.shape[0] == n_flagged
    assert "trust is the borough's" in texts(at)
    at.toggle(key="show_all").set_value(True).run()
    assert at.dataframe[0].value.shape[0] == 680
    at.select_slider(key="cpct").set_value("0.9").run()
    assert at.query_params["cpct"] in ("0.9", ["0.9"])
    assert int(at.metric[0].value.split(" of ")[0]) < n_flagged
    from analysis.__main__ import main
    from analysis.priorities import FlagSettings
    from analysis.query import CrimeQuery
    from ui import data
    out = tmp_path / "p.csv"
    assert main(["export", "priorities", "--level", "ward", "--from", "2024-07", "--to", "2025-06",
                 "--out", str(out), "--store", str(ROOT / "data" / "snapshot")]) == 0
    q = CrimeQuery(level="ward", start="2024-07", end="2025-06")
    app_files = data.export(q, FlagSettings(), "csv", "p.csv")
    assert app_files["p.csv"] == out.read_bytes()
    assert app_files["p.csv-metadata.json"] == (tmp_path / "p.csv-metadata.json").read_bytes()


@pytest.fixture
def media_files(monkeypatch) -> list:
    """Capture the in-memory media stores AppTest creates, to read a download button's bytes."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from streamlit.testing.v1 import app_test

    stores: list[MemoryMediaFileStorage] = []

    class Recording(MemoryMediaFileStorage):
        def __init__(self, endpoint: str) -> None:
            super().__init__(endpoint)
            stores.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Recording)
    return stores


def download_file(at: AppTest, stores: list, key: str):
    """The file behind a download button (``content``, ``filename``)."""
    from streamlit.runtime.media_file_storage import MediaFileStorageError

    name = at.download_button(key=key).proto.url.rsplit("/", 1)[-1]
    for store in reversed(stores):
        try:
            return store.get_file(name)
        except MediaFileStorageError:  # an earlier run's store lacks this file
            continue
    raise AssertionError(f"no media file {name!r}")


def download_bytes(at: AppTest, stores: list, key: str) -> bytes:
    return download_file(at, stores, key).content


def test_default_download_equals_cli_default_export(tmp_path, media_files):
    """The page's CSV with untouched controls is the CLI's export with only the required options."""
    from analysis.__main__ import main

    at = run("pages/2_Priority_areas.py")
    assert at.select_slider(key="cpct").value == "2/3"
    assert at.select_slider(key="tpct").value == "1/3"
    page_csv = download_file(at, media_files, "download_csv")
    out = tmp_path / page_csv.filename  # the page's file name, so the metadata's "url" matches too
    assert main(["export", "priorities", "--level", "ward", "--out", str(out)]) == 0  # the snapshot (no store)
    assert page_csv.content == out.read_bytes()
    assert page_csv.content.startswith(b"area_code,area_name,")  # the header is the first line
    sidecar = download_file(at, media_files, "download_metadata")
    assert sidecar.filename == f"{out.name}-metadata.json"
    assert sidecar.content == (tmp_path / sidecar.filename).read_bytes()


@pytest.mark.parametrize(("given", "shown", "value"), [
    ("2/3", "2/3", 2 / 3), ("67", "2/3", 2 / 3), ("0.9", "0.9", 0.9), ("90", "0.9", 0.9), ("0.75", "0.75", 0.75),
    ("1/0", "2/3", 2 / 3), ("abc", "2/3", 2 / 3), ("0.61", "2/3", 2 / 3)])
def test_crime_threshold_url_round_trips_exactly(given, shown, value):
    from ui.state import CRIME_THRESHOLDS, threshold_value

    at = run("pages/2_Priority_areas.py", cpct=given)
    assert not at.exception
    assert at.select_slider(key="cpct").value == shown
    assert at.query_params["cpct"] in (shown, [shown])
    assert threshold_value(shown) == value and shown in CRIME_THRESHOLDS
    assert ("not one this data has" in texts(at)) == (shown == "2/3" and given not in ("2/3", "67"))


def test_threshold_labels():
    from ui.state import threshold_label

    assert threshold_label("2/3") == "67% (top third)"
    assert threshold_label("1/3") == "33% (bottom third)"
    assert threshold_label("0.05") == "5%"


def test_area_profile_from_url_and_compare():
    at = run("pages/3_Area_profile.py", area="E05009317")
    assert not at.exception
    assert at.header[0].value == "Bethnal Green East"
    assert "trust is the borough's" in texts(at)
    assert at.table[0].value.columns.tolist() == ["Bethnal Green East"]  # the area viewed, before any pick
    at.multiselect(key="compare").set_value(["E05009318", "E09000001"]).run()
    assert not at.exception
    shown = at.table[0].value
    assert shown.columns.tolist() == ["Bethnal Green East", "Blackwall & Cubitt Town", "City of London"]
    assert shown.loc["Trust (95% interval)", "City of London"] == "not surveyed"


def expected_compare(level: str, start: str, end: str, codes: list[str]):
    """The priority-table rows of ``codes`` computed by analysis directly (the page's default settings)."""
    from analysis.priorities import FlagSettings, priority_table
    from analysis.query import CrimeQuery
    from ui import data

    q = CrimeQuery(source="mps_ward", level=level, start=start, end=end, measure="rate")
    table = priority_table(data.tables(), q, FlagSettings()).table
    return table.set_index("area_code").loc[codes]


@pytest.mark.parametrize(("level", "area", "others"), [
    ("ward", "E05014118", ["E05014117", "E05013806"]),        # Waterloo & South Bank; Vauxhall; St James's
    ("ward", "E05009317", ["E09000001"]),                     # City of London: not surveyed, no Met counts
    ("borough", "E09000022", ["E09000028", "E09000033", "E09000001"]),   # Lambeth; Southwark, Westminster, City
])
def test_compare_table_holds_each_areas_own_values(level, area, others):
    """Every cell of Compare is its own area's figure from analysis (the table was once misaligned: all None)."""
    at = run("pages/3_Area_profile.py", level=level, area=area, compare=[area, *others])
    assert not at.exception
    shown = at.table[0].value
    rows = expected_compare(level, param(at, "start"), param(at, "end"), [area, *others])
    assert shown.columns.tolist() == rows["area_name"].tolist()  # the area viewed first, once
    got = {col: shown[col].to_dict() for col in shown.columns}
    for code, row in rows.iterrows():
        cells = got[row["area_name"]]
        source = row["trust_source_level"]
        assert cells["Borough"] == row["borough_name"]
        assert cells["Class"] == row["class_label"]
        assert cells["Rank"] == str(int(row["rank"]))
        assert cells["Flagged"] == ("yes" if row["flagged"] else "no")
        assert cells["Trust figure from"] == (source if isinstance(source, str) else "not surveyed")
        assert cells["crimes per 1,000 residents"] == (f"{row['value']:,.1f}" if row["value"] == row["value"]
                                                       else "no data")
        trust = cells["Trust (95% interval)"]
        assert trust == (f"{row['trust']:.0%} ({row['trust_lo']:.0%}–{row['trust_hi']:.0%})"
                         if row["trust"] == row["trust"] else "not surveyed"), code
    assert not any(v in ("None", "nan", "<NA>") for col in got.values() for v in col.values())


def test_compare_keeps_the_viewed_area_and_at_most_three_more():
    at = run("pages/3_Area_profile.py", area="E05014118",
             compare=["E05014117", "E05013806", "E05014105", "E05011095", "E05014118"])
    assert not at.exception
    assert at.table[0].value.shape[1] == 4 and at.table[0].value.columns[0] == "Waterloo & South Bank"
    assert "left out:" in texts(at)
    assert at.multiselect(key="compare").value == ["E05014117", "E05013806", "E05014105"]
    assert at.button(key="add_compare_E05013807").disabled  # full: the neighbour's button says so
    at.multiselect(key="compare").set_value([]).run()
    assert at.table[0].value.columns.tolist() == ["Waterloo & South Bank"]  # never empty: the area stays


def test_neighbours_open_and_compare_in_one_click():
    from analysis.hotspots import area_weights, neighbours
    from ui import data

    at = run("pages/3_Area_profile.py", area="E05014118")
    expected = neighbours(area_weights(data.tables().wards_display), "E05014118")
    listed = sorted(b.key.removeprefix("open_") for b in at.button if b.key.startswith("open_"))
    assert listed == expected and "E05014117" in listed
    assert "high crime, low trust" in "\n".join(m.value for m in at.markdown)
    at.button(key="add_compare_E05014117").click().run()
    assert at.table[0].value.columns.tolist() == ["Waterloo & South Bank", "Vauxhall"]
    assert at.query_params["compare"] in ("E05014117", ["E05014117"])
    assert at.button(key="add_compare_E05014117").disabled
    at.button(key="open_E05014117").click().run()
    assert at.header[0].value == "Vauxhall"
    assert at.query_params["area"] in ("E05014117", ["E05014117"])
    assert at.table[0].value.columns[0] == "Vauxhall"


def test_city_of_london_profile_says_not_surveyed():
    at = run("pages/3_Area_profile.py", area="E09000001")
    assert "not surveyed" in texts(at)


def test_trust_page_measure_and_boroughs():
    at = run("pages/4_Trust.py")
    assert at.dataframe[0].value.shape[0] == 32
    before = at.metric[0].value
    at.selectbox(key="trust").set_value("good_job_local").run()
    assert at.metric[0].value != before
    at.multiselect(key="boroughs").set_value(["E09000030"]).run()
    assert not at.exception


def test_data_page_currency_and_accounting():
    at = run("pages/5_Data_and_method.py")
    currency = at.table[0].value
    assert currency.loc["MOPAC Public Attitude Survey, boroughs", "newest held"] == "March 2026"
    assert set(currency["newest published"]) == {"not checked"}
    assert "trust to March 2026 (MOPAC survey)" in at.caption[0].value
    frame = at.dataframe[0].value
    assert {"rows read", "rows kept", "dropped"} <= set(frame.columns)
    assert "Open Government Licence" in texts(at)
    assert "embedded snapshot" in texts(at)


def test_bad_upload_is_a_clear_error():
    from core.errors import CrimeTrustError
    from ui.uploads import validate_upload
    with pytest.raises(CrimeTrustError, match=r"my\.csv"):
        validate_upload("my.csv", b"area_code,period_end,measure_id,proportion\nE99999999,2023-12-31,trust_mps,0.5\n")
    good = b"area_code;period_end;measure_id;proportion\r\nE09000030;31/12/2023;trust_mps;0,5\r\n"
    checked = validate_upload("../Tower Hamlets.csv", good)
    assert checked.name == "Tower Hamlets.csv" and checked.frame["proportion"].tolist() == [0.5]


def test_ward_names_reach_tooltips_only_as_data():
    """Names travel as data fields the component shows with textContent, never inside markup.

    That the browser shows them as text is checked in Chromium (tests/test_browser.py).
    """
    from tests.fixtures.markup_area import MARKUP as evil
    from tests.fixtures.markup_area import markup_area_table
    from ui import maps
    from ui.map_payload import area_styles, encode_shapes

    rows = maps.map_rows(markup_area_table(), colouring="bivariate", measure_label="rate", level="ward")
    shapes = encode_shapes({"W1": {"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [0, 0]]]}},
                           {"W1": evil})
    styles = area_styles(rows, shapes)
    assert shapes.payload["names"] == [evil]
    tips = styles["tips"]
    lines = dict(zip(tips["layouts"][0], (tips["values"][i] for i in tips["areas"][0][1:]), strict=True))
    assert lines["Borough"] == evil


def test_palettes_distinguishable_under_colour_blindness():
    import numpy as np

    from ui import style
    machado = {  # Machado et al. (2009), severity 1.0
        "deutan": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
        "protan": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
        "tritan": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
    }
    cells = np.array([c for row in style.BIVARIATE for c in row], dtype=float) / 255
    lin = np.where(cells <= 0.04045, cells / 12.92, ((cells + 0.055) / 1.055) ** 2.4)
    for name, m in machado.items():
        sim = np.clip(lin @ np.array(m).T, 0, 1)
        d = np.sqrt(((sim[:, None, :] - sim[None, :, :]) ** 2).sum(-1))
        np.fill_diagonal(d, 1)
        assert d.min() > 0.02, name


def charts(at: AppTest) -> list:
    return at.get("vega_lite_chart")


def test_profile_type_trend_and_outcomes_on_snapshot():
    at = run("pages/3_Area_profile.py", area="E05009317")
    assert not at.exception
    assert "Crime by offence group, month by month" in texts(at)
    assert any("Offence group" in c.proto.spec for c in charts(at))
    assert "Outcomes need the built store" in texts(at)
    assert any("@media print" in m.value for m in at.markdown)
    at.selectbox(key="src").set_value("police_uk").run()
    assert not at.exception
    assert "Crime by type, month by month" in texts(at)


@pytest.mark.parametrize(("source", "area"), [("mps_ward", "E05009317"), ("mps_ward", "E09000030"),
                                              ("police_uk", "E09000030")])
def test_type_trend_sums_to_monthly_trend(source, area):
    """The per-type counts add up to the area's monthly total from analysis.trends."""
    import numpy as np

    from analysis.query import CrimeQuery
    from analysis.trends import monthly_trend
    from ui import data

    q = CrimeQuery(source=source, start="2022-01" if source == "police_uk" else None,
                   end="2022-12" if source == "police_uk" else None)
    by_type = monthly_trend_by_type(data.tables(), q, area)
    total = monthly_trend(data.tables(), q, area).set_index("month")["count"]
    assert by_type["type"].nunique() > 3
    np.testing.assert_allclose(by_type.groupby("month")["count"].sum().reindex(total.index), total)


def test_outcomes_mix_from_street_rows(monkeypatch):
    """Outcomes count the area's street-level rows; crimes without an outcome are counted apart."""
    from types import SimpleNamespace

    import pandas as pd

    from ui import data

    rows = pd.DataFrame({"ward_code": ["W1", "W1", "W1", "W2"], "borough_code": ["B1"] * 4,
                         "crime_type": ["Burglary", "Burglary", "Robbery", "Burglary"],
                         "last_outcome": ["Under investigation", None, "Under investigation", "Local resolution"]})
    handle = SimpleNamespace(kind="store", root=Path("/fake"), manifest={"built_at": "test-outcomes"},
                             street_months=lambda: ["2024-01"], read_street=lambda months, columns: rows[columns])
    monkeypatch.setattr(data, "loaded", lambda: data.Loaded(handle, None))
    data._outcome_counts.clear()
    frame, note = data.outcomes("W1", "2024-01", "2024-01")
    assert frame.to_dict("list") == {"outcome": ["Under investigation"], "crimes": [2], "share": [1.0]}
    assert "2 of 3 have an outcome" in note
    frame, _ = data.outcomes("B1", "2024-01", "2024-01", ("Burglary",))
    assert dict(zip(frame["outcome"], frame["crimes"], strict=True)) == {"Under investigation": 1,
                                                                         "Local resolution": 1}
    assert data.outcomes("W1", "2025-01", "2025-02")[0] is None
    data._outcome_counts.clear()


FETCHED = [{"path": "inputs/ingested/api-2025-03.parquet", "month": "2025-03", "kind": "api", "scope": "London",
            "fetched_at": "2025-04-02T09:15:00Z", "source": "https://data.police.uk/api (2025-04)", "rows": 91234}]


@pytest.fixture
def fake_store(tmp_path, monkeypatch) -> Path:
    """A 'built store' made of the snapshot's tables, whose manifest lists one fetched month."""
    import json
    import shutil

    store = tmp_path / "store"
    version = store / "versions" / "v1"
    shutil.copytree(ROOT / "data" / "snapshot", version)
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["sources"]["police_uk_fetched"] = {"months": ["2025-03"], "files": FETCHED, "rows_read": 91234}
    manifest["data_dir"] = str(tmp_path / "raw")
    (version / "manifest.json").write_text(json.dumps(manifest))
    (store / "CURRENT").write_text("v1")
    monkeypatch.setenv("CRIME_TRUST_STORE", str(store))
    monkeypatch.setenv("POLICE_API_URL", "http://127.0.0.1:9")  # refused at once: nothing leaves the machine
    return store


def frame_with(at: AppTest, column: str):
    """The first table on the page with this column (AppTest does not expose a dataframe's key)."""
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert frames, f"no table with a {column!r} column"
    return frames[0]


def refresh(at: AppTest, months: str) -> AppTest:
    at.text_input(key="refresh_months").input(months)
    at.button(key="refresh_go").click()
    return at.run()


def online_refresh(monkeypatch, refresh_store) -> None:
    """Let the app believe police.uk is reachable, and use ``refresh_store`` as its refresh."""
    from ui import refresh as refresh_mod

    monkeypatch.setattr(refresh_mod, "reachable", lambda timeout=3.0: True)
    monkeypatch.setattr(refresh_mod, "refresh_store", refresh_store)


def raising(error: Exception):
    """A stand-in refresh that fails with ``error``."""
    def refresh_store(*args, **kwargs):
        raise error
    return refresh_store


def test_refresh_and_update_are_offered_on_the_snapshot():
    """A fresh clone can bring itself up to date: the first pull seeds a store from the snapshot."""
    at = run("pages/5_Data_and_method.py")
    keys = {b.key for b in at.button}
    assert {"update_check", "update_all", "refresh_go"} <= keys and "rebuild" not in keys
    assert "python -m data_sources update" in texts(at)
    held = frame_with(at, "months held")
    assert "mps_ward" in set(held["source"])
    assert "No months have been fetched" in texts(at)


def test_months_listing_shows_when_each_fetched_month_was_fetched(fake_store):
    at = run("pages/5_Data_and_method.py")
    assert not at.exception
    assert "built store" in texts(at)
    fetched = frame_with(at, "fetched_at")
    assert fetched[["month", "fetched_at", "kind", "scope"]].values.tolist() == [
        ["2025-03", "2025-04-02T09:15:00Z", "api", "London"]]
    held = frame_with(at, "months held").set_index("source")
    assert held.loc["police_uk_fetched", "months held"] == "2025-03"
    assert held.loc["mps_ward", "months"] == 24


def test_refresh_offline_keeps_showing_the_store(fake_store, monkeypatch):
    from core.errors import OfflineError

    at = run("pages/5_Data_and_method.py")
    refresh(at, "2025-03")  # the connection check fails (port 9 refuses)
    assert not at.exception
    assert "No internet connection: showing the data already in the store" in texts(at)

    online_refresh(monkeypatch, raising(OfflineError("cannot reach https://data.police.uk/api")))
    refresh(at, "2025-03")
    assert not at.exception
    assert "No internet connection: showing the data already in the store" in texts(at)
    assert not at.error
    assert frame_with(at, "fetched_at").shape[0] == 1


def test_refresh_bad_months_and_failures_are_one_error(fake_store, monkeypatch):
    from core.errors import ApiError

    at = run("pages/5_Data_and_method.py")
    refresh(at, "2025-13")
    assert "is not YYYY-MM" in at.error[0].value
    refresh(at, "2025-03..2025-01")
    assert "ends before it starts" in at.error[0].value

    online_refresh(monkeypatch, raising(ApiError("police.uk answered 500 five times for 2025-03")))
    refresh(at, "2025-03")
    assert not at.exception
    assert at.error[0].value == "The refresh failed: police.uk answered 500 five times for 2025-03"


def test_refresh_success_reports_and_reopens(fake_store, monkeypatch):
    from ui import data

    calls = []

    def fake_refresh(months, area, *, settings, client=None, progress=None):
        calls.append((months, area))
        for done in range(3):
            progress(done, 2)
        return {"built_at": "2025-04-03 10:00:00 UTC"}
    reopened = []
    online_refresh(monkeypatch, fake_refresh)
    monkeypatch.setattr(data, "reopen", lambda: reopened.append(1))
    at = run("pages/5_Data_and_method.py")
    at.selectbox(key="refresh_area").set_value("E09000030")
    refresh(at, "2025-01..2025-02")
    assert not at.exception
    assert calls == [(["2025-01", "2025-02"], "E09000030")]
    assert reopened == [1]
    assert "Fetched 2025-01–2025-02 for Tower Hamlets; store rebuilt 2025-04-03 10:00:00 UTC." in [
        s.value for s in at.success]


def test_rebuild_button_only_with_a_store(fake_store, monkeypatch):
    from ui import data
    from ui import refresh as refresh_mod

    built = []
    monkeypatch.setattr(refresh_mod, "build_store", lambda d, s: built.append((d, s)) or {"built_at": "now"})
    monkeypatch.setattr(data, "reopen", lambda: None)
    at = run("pages/5_Data_and_method.py")
    at.button(key="rebuild").click().run()
    assert not at.exception
    assert built == [(fake_store.parent / "raw", fake_store)]
    assert "Store rebuilt now." in [s.value for s in at.success]


def test_flagged_areas_are_ringed():
    from ui import style

    at = run("pages/1_Map.py")
    sent = map_data(at)
    assert len(sent["ring"]) == int(at.metric[0].value) > 0
    palette = {tuple(c) for row in style.BIVARIATE for c in row} | set(style.SEQUENTIAL)
    assert style.FLAG_OVER not in palette and style.SELECTED not in palette
    # the component draws the rings and the selection in exactly these colours (sent, not copied into JS)
    assert (sent["lines"]["flag_over"], sent["lines"]["selected"]) == ("#ffffff", "#ff00ff")


def test_map_hotspot_colouring():
    from ui import style

    at = run("pages/1_Map.py", colour="hotspot")
    assert not at.exception
    assert "Hot spots (Getis-Ord Gi" in texts(at)
    sent = map_data(at)
    assert "#{:02x}{:02x}{:02x}".format(*style.HOTSPOT["hot"]) in sent["palette"]
    assert any("Hot spot (Gi*)" in layout for layout in sent["tips"]["layouts"])
    at.radio(key="level").set_value("borough").run()
    assert not at.exception


def test_trust_change_in_percentage_points():
    from analysis.trust import trust_table
    from ui import data
    from ui.widgets import points

    assert points(0.04) == "+4.0 pts" and points(-0.012) == "-1.2 pts" and points(float("nan")) == "no data"
    at = run("pages/4_Trust.py")
    shown = at.dataframe[0].value.set_index("Borough")["Change since Dec 2022"]
    raw = trust_table(data.tables(), "trust_mps", level="borough")
    raw = raw[raw["period_end"] == raw["period_end"].max()].set_index("area_name")["change_since_plan"]
    assert (shown - raw.reindex(shown.index).astype(float) * 100).abs().max() < 1e-9
    assert shown.abs().max() > 1  # points, not proportions
    profile = run("pages/3_Area_profile.py", area="E05009317")
    assert next(m.value for m in profile.metric if m.label == "Trust change since Dec 2022").endswith(" pts")


def test_meeting_mode_hides_controls_and_enlarges_charts():
    at = run("pages/3_Area_profile.py", area="E05009317", meeting="1")
    assert not at.exception
    css = "\n".join(m.value for m in at.markdown if "<style>" in m.value)
    assert "font-size: 24px" in css and '[data-testid="stMultiSelect"]' in css and ".st-key-meeting" in css
    assert all('"labelFontSize": 20' in c.proto.spec for c in charts(at))
    assert "Crimes for every 1,000 people" in at.metric[0].label
    normal = run("pages/3_Area_profile.py", area="E05009317")
    assert not any('"labelFontSize": 20' in c.proto.spec for c in charts(normal))


def test_menu_names_the_home_page_overview_and_lists_every_page():
    at = run("app.py")
    labels = [link.proto.label for link in at.sidebar.get("page_link")]
    pages = sorted((ROOT / "pages").glob("[0-9]_*.py"))
    assert labels == ["Overview"] + [p.stem.split("_", 1)[1].replace("_", " ") for p in pages]


PROGRESS = {"src": "police_uk", "types": "Burglary"}


def test_plan_progress_page_says_the_headline_from_the_analysis():
    from analysis.priorities import FlagSettings
    from analysis.progress import plan_progress
    from analysis.progress_words import sentences
    from analysis.query import CrimeQuery
    from ui import data

    at = run("pages/6_Plan_progress.py", **PROGRESS)
    assert not at.exception
    expected = sentences(plan_progress(data.tables(), CrimeQuery(source="police_uk", crime_types=("Burglary",)),
                                       FlagSettings()))
    assert at.subheader[0].value == expected[0]
    assert [m.value for m in at.markdown if m.value.startswith("- ")] == [f"- {line}" for line in expected[1:]]
    assert "not an evaluation of what the plan caused" in texts(at) and "not a control" in texts(at)
    assert at.dataframe[0].value["Group"].tolist() == ["flagged at launch", "all other wards",
                                                      "as high in crime, trust not low", "lower crime at launch",
                                                      "London"]
    comparisons = at.dataframe[1].value
    assert comparisons["Comparison"].tolist()[0] == "flagged at launch against all other wards"
    assert not comparisons[["Ratio of changes", "Low", "High"]].isna().any().any()  # no "None" in a comparison
    cohort_rows = at.dataframe[2].value.shape[0]
    at.toggle(key="progress_all").set_value(True).run()
    assert at.dataframe[2].value.shape[0] > cohort_rows


def test_plan_progress_baseline_lives_in_the_url_and_moves_the_cohort():
    at = run("pages/6_Plan_progress.py", **PROGRESS, bfrom="2021-01", bto="2021-12", tbase="2021-12-31")
    assert not at.exception
    assert (at.selectbox(key="bfrom").value, at.selectbox(key="tbase").value) == ("2021-01", "2021-12-31")
    assert "(2021 against" in at.subheader[0].value
    at.selectbox(key="bto").set_value("2022-12").run()
    assert at.query_params["bto"] in ("2022-12", ["2022-12"])


def test_plan_progress_window_controls_move_the_windows_and_survey_years():
    at = run("pages/6_Plan_progress.py", **PROGRESS)
    assert "(2022 against Mar 2024 to Feb 2025)" in at.subheader[0].value
    assert "survey year to Dec 2022 against year to Mar 2025" in texts(at)  # aligned with the crime windows
    at.selectbox(key="lto").set_value("2024-12").run()
    assert not at.exception and "(2022 against 2024)" in at.subheader[0].value
    assert "year to Dec 2022 against year to Dec 2024" in texts(at)
    assert at.query_params["lto"] in ("2024-12", ["2024-12"])
    at.selectbox(key="tlast").set_value("2026-03-31").run()
    assert "against year to Mar 2026" in texts(at)
    at.select_slider(key="deff").set_value("2").run()
    assert not at.exception and "divided by a design effect of 2" in texts(at)
    assert at.query_params["deff"] in ("2", ["2"])


def test_plan_progress_first_visit_opens_on_the_best_series():
    at = run("pages/6_Plan_progress.py")
    assert not at.exception and not at.warning
    assert at.subheader[0].value.startswith("Since the plan began (2022 against Mar 2024 to Feb 2025), burglary")
    assert at.selectbox(key="src").value == "police_uk"


def test_plan_progress_with_a_source_that_cannot_answer_shows_the_best_one_and_says_why():
    at = run("pages/6_Plan_progress.py", src="mps_ward")
    assert not at.exception
    assert "Shown instead: police.uk street-level crimes (Burglary)" in at.info[0].value
    assert at.subheader[0].value.startswith("Since the plan began")
    at.button(key="progress_use_best").click().run()
    assert at.selectbox(key="src").value == "police_uk" and not at.exception
    meeting = run("pages/6_Plan_progress.py", src="mps_ward", meeting="1")
    assert meeting.subheader[0].value.startswith("Since the plan began") and not meeting.button


def test_plan_progress_meeting_mode_keeps_sentence_and_charts_only():
    at = run("pages/6_Plan_progress.py", **PROGRESS, meeting="1")
    assert not at.exception
    assert at.subheader[0].value.startswith("Since the plan began")
    assert len(charts(at)) == 3 and not at.dataframe  # selection, crime, trust
    assert all('"labelFontSize": 20' in c.proto.spec for c in charts(at))  # projector-sized axes


def test_plan_progress_download_equals_cli(tmp_path, media_files):
    from analysis.__main__ import main

    at = run("pages/6_Plan_progress.py", **PROGRESS)
    page_csv, sidecar = (download_file(at, media_files, k) for k in ("download_csv", "download_metadata"))
    out = tmp_path / page_csv.filename
    summary = tmp_path / page_csv.filename.replace(".csv", "_summary.csv")
    assert main(["export", "progress", "--level", "ward", "--source", "police_uk", "--crime-type", "Burglary",
                 "--out", str(out), "--summary", str(summary)]) == 0
    assert page_csv.content == out.read_bytes()
    assert sidecar.content == (tmp_path / sidecar.filename).read_bytes()
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(download_bytes(at, media_files, "download_zip"))) as archive:
        assert archive.read(summary.name) == summary.read_bytes()


def test_trust_page_says_which_publication_figures_come_from():
    at = run("pages/4_Trust.py")
    assert "Figures from: MOPAC PAS workbook" in texts(at) and "MOPAC dashboard (extracted)" in texts(at)


LAMBETH = "E09000022"


def test_priority_areas_borough_filter_lists_only_that_boroughs_flagged_areas():
    from analysis.priorities import FlagSettings, priority_table
    from analysis.query import CrimeQuery
    from ui import data

    at = run("pages/2_Priority_areas.py", borough=LAMBETH, groups="BURGLARY")
    assert not at.exception
    assert at.selectbox(key="borough").value == LAMBETH
    shown = at.dataframe[0].value
    q = CrimeQuery(level="ward", crime_groups=("BURGLARY",), start=param(at, "start"), end=param(at, "end"))
    table = priority_table(data.tables(), q, FlagSettings()).table
    lambeth = table[(table["borough_code"] == LAMBETH) & table["flagged"]]
    assert len(lambeth) > 0
    assert shown["Area"].tolist() == lambeth["area_name"].tolist()   # the borough's flagged wards, by rank
    assert shown["Rank"].tolist() == lambeth["rank"].tolist()         # London-wide ranks
    assert at.metric[0].value == f"{len(lambeth)} of {int((table['borough_code'] == LAMBETH).sum())} in Lambeth"
    at.selectbox(key="borough").set_value("").run()
    assert at.dataframe[0].value.shape[0] == int(table["flagged"].sum())
    assert "borough" not in at.query_params


def test_map_zooms_to_the_borough_and_sets_back_the_rest():
    from ui import data, maps

    at = run("pages/1_Map.py", borough=LAMBETH)
    sent, london = map_data(at), map_data(run("pages/1_Map.py"))
    assert sent["view"] == pytest.approx(list(maps.bounds([data.display_geometry("borough")[LAMBETH]])))
    assert london["view"] is None and london["focus"] == -1
    assert data.map_shapes("borough").codes[sent["focus"]] == LAMBETH
    codes = data.map_shapes("ward").codes
    inside = set(data.areas_in("ward", LAMBETH))
    for code, colour in zip(codes, sent["fill"], strict=True):
        fill = sent["palette"][colour]
        assert (len(fill) == 7) == (code in inside), code           # #rrggbb inside, #rrggbbaa outside
        assert len(fill) == 7 or int(fill[7:], 16) == maps.DIMMED_ALPHA
    ringed = {codes[i] for i in sent["ring"]}
    assert ringed and ringed <= inside


@pytest.mark.parametrize(("page", "shows_picker"), [("pages/1_Map.py", True), ("pages/2_Priority_areas.py", True),
                                                    ("pages/3_Area_profile.py", False), ("app.py", False)])
def test_borough_is_kept_in_the_link_on_every_page(page, shows_picker):
    at = run(page, borough=LAMBETH)
    assert not at.exception
    assert at.query_params["borough"] in (LAMBETH, [LAMBETH])
    assert any(s.key == "borough" for s in at.selectbox) == shows_picker


def test_unknown_borough_in_link_falls_back_to_all_london():
    at = run("pages/2_Priority_areas.py", borough="../../etc/passwd")
    assert not at.exception
    assert at.selectbox(key="borough").value == ""
    assert "not one this data has" in texts(at)
    assert " in " not in at.metric[0].value


@pytest.mark.parametrize("selection", [{"rows": [1]}, {"cells": [[1, "Area"]]}, {"cells": [[1, "Why"]]}],
                         ids=["row-box", "name-cell", "other-cell"])
def test_clicking_a_priority_row_opens_its_profile(selection):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["borough"] = LAMBETH
    at.query_params["groups"] = "BURGLARY"
    at.switch_page("pages/2_Priority_areas.py").run()
    second = at.dataframe[0].value["Area"].iloc[1]
    at.session_state["priority_table"] = {"selection": selection}
    at.run()
    assert not at.exception
    assert at.title[0].value == "Area profile" and at.header[0].value == second
    assert param(at, "area") == data_code(second) and param(at, "borough") == LAMBETH


def data_code(name: str) -> str:
    from ui import data

    (code,) = [c for c, n in data.area_names("ward").items() if n == name]
    return code


def test_priority_areas_interval_rule_says_which_flags_a_design_effect_of_2_changes():
    from dataclasses import replace

    from analysis.priorities import FlagSettings, priority_table
    from analysis.query import CrimeQuery
    from ui import data

    at = run("pages/2_Priority_areas.py", method="interval")
    assert not at.exception
    note = next(c.value for c in at.caption if "design effect of 2" in c.value)
    flags = FlagSettings(method="interval")
    start, end = ("".join(at.query_params[k]) for k in ("start", "end"))  # a one-item list or the string
    q = CrimeQuery(source="mps_ward", start=start, end=end)
    now, wider = (priority_table(data.tables(), q, f).table for f in (flags, replace(flags, n_per_quarter=50.0)))
    lost = sorted(set(now.loc[now["flagged"], "area_name"]) - set(wider.loc[wider["flagged"], "area_name"]))
    assert (f"{len(lost)} would no longer be flagged ({', '.join(lost)})" in note) if lost else "no flag" in note
    assert "design effect" not in texts(run("pages/2_Priority_areas.py"))  # the percentile rule ignores samples


def test_stop_and_search_page_levels_gaps_and_download_equal_cli(tmp_path, media_files):
    at = run("pages/7_Stop_and_search.py", level="borough")
    assert not at.exception
    assert "No coverage gaps between 2023-09 and 2024-08" in texts(at)
    assert at.metric[2].label == "Black/White ratio, London" and float(at.metric[2].value) > 1
    table = at.dataframe[0].value
    assert len(table) == 33 and "Black/White ratio" in table.columns
    assert "boroughs, not people" in texts(at) or "a borough, not a person" in texts(at)
    assert "Correlation of the (log) Black/White ratio" in texts(at)
    page_csv = download_file(at, media_files, "ss_csv")
    from analysis.__main__ import main
    out = tmp_path / page_csv.filename
    assert main(["export", "stop-search", "--level", "borough", "--out", str(out),
                 "--store", str(ROOT / "data" / "snapshot")]) == 0
    assert page_csv.content == out.read_bytes()
    assert download_file(at, media_files, "ss_meta").content == (tmp_path / f"{out.name}-metadata.json").read_bytes()


def test_stop_and_search_gaps_named_and_settings_in_the_url():
    at = run("pages/7_Stop_and_search.py", level="borough", ssfrom="2022-06", ssto="2023-03", grp="asian")
    assert not at.exception
    assert "2022-12 (Metropolitan Police: cut short: covers 1-17 Dec only)" in "\n".join(w.value for w in at.warning)
    assert at.metric[2].label == "Asian/White ratio, London"
    at.checkbox(key="gaps").check().run()
    assert "included at your request" in "\n".join(w.value for w in at.warning)
    assert param(at, "gaps") == "1" and param(at, "ssfrom") == "2022-06"
    at.radio(key="level").set_value("ward").run()
    assert not at.exception and not at.dataframe
    assert "Census publishes ethnic groups by borough" in texts(at)


def test_stop_and_search_names_the_months_before_the_city_s_data():
    at = run("pages/7_Stop_and_search.py", level="borough", ssfrom="2021-06", ssto="2022-06")
    assert not at.exception
    warned = "\n".join(w.value for w in at.warning)
    assert "2022-01 (Metropolitan Police: no data held)" in warned and "2021-07 (" not in warned
    assert ("City of London Police not held before Mar 2022 (2021-06 to 2022-02): London figures for those months "
            "are the Met's.") in warned
    assert at.metric[0].help == "12 months counted"


def test_stop_and_search_meeting_mode():
    at = run("pages/7_Stop_and_search.py", meeting="1", ssarea="E09000022")
    assert not at.exception
    assert any("font-size: 24px" in m.value for m in at.markdown)
    assert "Month by month: Lambeth" in texts(at)


def test_area_profile_has_stop_and_search_figures():
    at = run("pages/3_Area_profile.py", area="E09000022", level="borough")
    assert not at.exception
    labels = {m.label: m.value for m in at.metric}
    assert int(labels["Searches"].replace(",", "")) > 1000 and labels["Arrest share"].endswith("%")
    assert any("times** as often as White" in m.value for m in at.markdown)
    ward = run("pages/3_Area_profile.py", area="E05009317")
    assert "Per 1,000 residents a year" in {m.label for m in ward.metric}
    assert "latest 12 months without coverage gaps" in texts(ward)
