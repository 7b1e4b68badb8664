"""The London Datastore client against the local stand-in: catalogue, conditional downloads, faults."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from core.errors import ApiError, CatalogueError, InputFileError, OfflineError
from data_sources.fetch.datastore import Datastore, check_complete_csv, parse_dataset, pick_resource
from data_sources.settings import Settings
from tests.datastore_stub import MET_SLUG, MET_TITLE, StubDatastore

CSV = ("MajorText,MinorText,WardName,WardCode,LookUp_BoroughName,202401,202402\n"
       + "".join(f"BURGLARY,BURGLARY - RESIDENTIAL,Ward {i},E0501{i:04d},Camden,{i},{i + 1}\n" for i in range(400)))
WARD_RE = r"\bward\b.*most recent 24 months"


@pytest.fixture
def stub() -> StubDatastore:
    with StubDatastore() as s:
        s.publish(MET_SLUG, "b1", "MPS Borough Level Crime (most recent 24 months).csv", b"a,b\n1,2\n", order=0)
        s.publish(MET_SLUG, "w1", MET_TITLE, CSV.encode(), order=1)
        yield s


def client(stub: StubDatastore, cache: Path, **kw: object) -> Datastore:
    settings = Settings(datastore_url=stub.url, cache_dir=cache, api_timeout_s=5, api_max_retries=2)
    return Datastore(settings=settings, sleep=lambda s: None, **kw)  # type: ignore[arg-type]


def test_catalogue_mapping_is_read_in_order_and_picked_by_title(stub: StubDatastore, tmp_path: Path) -> None:
    ds = client(stub, tmp_path).dataset(MET_SLUG)
    assert ds.titles == ["MPS Borough Level Crime (most recent 24 months).csv", MET_TITLE]
    assert pick_resource(ds, WARD_RE, what="ward file").id == "w1"


@pytest.mark.parametrize(("data", "match"), [
    ({"resources": []}, None),
    ({"resources": [{"id": "x", "title": "T", "url": "/u"}]}, None),
    ([1, 2], "expected a JSON object with 'resources', got list"),
    ({"title": "no resources here"}, r"got keys \['title'\]"),
])
def test_parse_dataset_shapes(data: object, match: str | None) -> None:
    if match is None:
        assert isinstance(parse_dataset("s", data).resources, tuple)
    else:
        with pytest.raises(CatalogueError, match=match):
            parse_dataset("s", data)


def test_renamed_title_names_the_dataset_and_the_titles_found(stub: StubDatastore, tmp_path: Path) -> None:
    stub.withdraw(MET_SLUG, "w1")
    stub.publish(MET_SLUG, "w2", "Ward crime, last two years.csv", CSV.encode())
    ds = client(stub, tmp_path).dataset(MET_SLUG)
    with pytest.raises(CatalogueError) as info:
        pick_resource(ds, WARD_RE, what="ward-level file (most recent 24 months)")
    msg = str(info.value)
    assert "London Datastore dataset 'recorded_crime_summary' has no ward-level file" in msg
    assert "'Ward crime, last two years.csv'" in msg and "MPS Borough Level Crime" in msg


def test_unknown_dataset_and_html_catalogue(stub: StubDatastore, tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match=r"'nothing-here': not found .*HTTP 404"):
        client(stub, tmp_path).dataset("nothing-here")
    stub.add_fault("html200", path="/api/dataset/")
    with pytest.raises(ApiError, match=r"catalogue at .* is an HTML page \(an error page, not data\)"):
        client(stub, tmp_path).dataset(MET_SLUG)


def test_download_is_conditional_checksummed_and_kept(stub: StubDatastore, tmp_path: Path) -> None:
    c = client(stub, tmp_path)
    res = pick_resource(c.dataset(MET_SLUG), WARD_RE, what="ward file")
    seen: list[tuple[int, int]] = []
    first = c.download(res, expect="csv", progress=lambda d, t: seen.append((d, t)))
    assert first.fresh and first.path.read_bytes() == CSV.encode()
    assert first.sha256 == hashlib.sha256(CSV.encode()).hexdigest() and first.etag and first.last_modified
    assert seen[-1] == (len(CSV), len(CSV))
    unconfirmed = client(stub, tmp_path).download(res, expect="csv")  # no validator until the caller confirms
    assert unconfirmed.fresh and unconfirmed.path == first.path
    c.confirm(first)
    again = client(stub, tmp_path).download(res, expect="csv")
    assert not again.fresh and again.path == first.path and again.fetched_at == first.fetched_at
    assert [r.status for r in stub.log if r.path.startswith("/download/")] == [200, 200, 304]
    assert not list((tmp_path / "datastore" / "files").glob(".part-*"))


def test_a_changed_file_is_downloaded_again(stub: StubDatastore, tmp_path: Path) -> None:
    c = client(stub, tmp_path)
    res = pick_resource(c.dataset(MET_SLUG), WARD_RE, what="ward file")
    c.confirm(c.download(res, expect="csv"))
    stub.publish(MET_SLUG, "w1", MET_TITLE, CSV.replace(",0,1\n", ",0,2\n").encode())
    res = pick_resource(c.dataset(MET_SLUG), WARD_RE, what="ward file")  # the catalogue states the new checksum
    assert c.download(res, expect="csv").fresh


@pytest.mark.parametrize(("fault", "kw", "error", "match"), [
    ("html200", {}, InputFileError, r"recorded_crime_summary: 'MPS Ward Level Crime \(most recent 24 months\)"
                                    r"\.csv': is an HTML page \(an error page, not data\), not a CSV file"),
    ("truncate", {"fraction": 0.5}, InputFileError, "ends part-way through a row .* the download is truncated"),
    ("cut", {"fraction": 0.5, "times": None}, ApiError, r"gave up after 3 attempts \(answer cut off part-way"),
    ("503", {"times": None}, ApiError, r"gave up after 3 attempts \(HTTP 503\)"),
    ("404", {}, CatalogueError, "answers HTTP 404; the release may be mid-update"),
])
def test_download_faults_say_what_and_keep_nothing(stub: StubDatastore, tmp_path: Path, fault: str, kw: dict,
                                                   error: type[Exception], match: str) -> None:
    c = client(stub, tmp_path)
    res = pick_resource(c.dataset(MET_SLUG), WARD_RE, what="ward file")
    stub.add_fault(fault, path="/download/", **kw)
    with pytest.raises(error, match=match) as info:
        c.download(res, expect="csv")
    assert "\n" not in str(info.value)
    files = tmp_path / "datastore" / "files"
    assert not files.exists() or not list(files.iterdir())
    assert not (tmp_path / "datastore" / "validators").exists()


@pytest.mark.parametrize("fault", ["cut", "503", "drop"])
def test_one_failed_transfer_is_retried(stub: StubDatastore, tmp_path: Path, fault: str) -> None:
    c = client(stub, tmp_path)
    res = pick_resource(c.dataset(MET_SLUG), WARD_RE, what="ward file")
    stub.add_fault(fault, path="/download/", times=1)
    assert c.download(res, expect="csv").path.read_bytes() == CSV.encode()


def test_xlsx_expected_but_csv_served(stub: StubDatastore, tmp_path: Path) -> None:
    c = client(stub, tmp_path)
    res = pick_resource(c.dataset(MET_SLUG), WARD_RE, what="ward file")
    with pytest.raises(InputFileError, match=r"is text, not a workbook, not an Excel workbook"):
        c.download(res, expect="xlsx")


def test_fingerprint_reads_the_content_and_writes_nothing(stub: StubDatastore, tmp_path: Path) -> None:
    c = client(stub, tmp_path, remember=False)
    res = pick_resource(c.dataset(MET_SLUG), WARD_RE, what="ward file")
    sha256, header = c.fingerprint(res)
    assert sha256 == hashlib.sha256(CSV.encode()).hexdigest() and header.endswith("202401,202402")
    assert not (tmp_path / "datastore").exists()


def test_offline_is_one_sentence(tmp_path: Path) -> None:
    c = Datastore(settings=Settings(datastore_url="http://127.0.0.1:9", cache_dir=tmp_path, api_timeout_s=2))
    with pytest.raises(OfflineError) as info:
        c.dataset(MET_SLUG)
    msg = str(info.value)
    assert msg.startswith("cannot reach the London Datastore at http://127.0.0.1:9; check your connection")
    assert msg.count(". ") == 0 and "\n" not in msg


@pytest.mark.parametrize(("text", "fields"), [
    ("a,b,c\n1,2,3\n4,5,6\n", None),
    ("a,b,c\r\n1,2,3\r\n", None),
    ("a,b,c\n1,2,3\n4,5", 2),
    ("a,b,c\n1,2,3\n4,5,6", 3),  # cut inside the last field: only the missing line break shows it
])
def test_check_complete_csv(tmp_path: Path, text: str, fields: int | None) -> None:
    path = tmp_path / "f.csv"
    path.write_text(text)
    if fields is None:
        check_complete_csv(path, "x")
    else:
        with pytest.raises(InputFileError, match=rf"\({fields} of 3 fields on its last line, no final line break\)"):
            check_complete_csv(path, "x")
