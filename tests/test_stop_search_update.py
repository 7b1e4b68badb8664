"""Stop and search from police.uk, against a local stand-in: months per force, stops-force, keeping, the build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import ApiError
from data_sources.fetch import stop_search as fetch
from data_sources.fetch.police_api import PoliceApi
from data_sources.fetch.rate_limit import LeakyBucket
from data_sources.settings import Settings
from data_sources.store.kept_stops import kept_answers
from tests.api_stub import StubApi
from tests.test_stop_search_readers import RECORD

MAY = [{**RECORD, "datetime": f"2025-05-0{d}T12:00:00+00:00"} for d in (1, 2, 3)]


class StopsStub(StubApi):
    """The police.uk stand-in with stop-and-search months per force and ``stops-force`` answers."""

    def __init__(self, answers: dict[tuple[str, str], object]) -> None:
        super().__init__(months=["2025-04", "2025-05"])
        self.answers = answers

    def _answer(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        if path == "crimes-street-dates":
            return 200, json.dumps([{"date": "2025-05", "stop-and-search": ["metropolitan", "btp"]},
                                    {"date": "2025-04", "stop-and-search": ["metropolitan", "city-of-london"]}]
                                   ).encode()
        if path == "stops-force":
            key = (params.get("force", ""), params.get("date", ""))
            return (200, json.dumps(self.answers[key]).encode()) if key in self.answers else (404, b"<html/>")
        return super()._answer(path, params)


def client(url: str, tmp_path: Path) -> PoliceApi:
    settings = Settings(api_url=url, cache_dir=tmp_path / "cache", api_timeout_s=5, api_max_retries=2)
    return PoliceApi(settings=settings, limiter=LeakyBucket(1e6, 10_000), sleep=lambda s: None)


def test_months_per_force_and_the_new_ones_pulled_and_kept(tmp_path):
    with StopsStub({("metropolitan", "2025-05"): MAY, ("city-of-london", "2025-04"): []}) as stub:
        api = client(stub.url, tmp_path)
        available = fetch.published(api)
        assert available == {"metropolitan": ["2025-04", "2025-05"], "city-of-london": ["2025-04"]}
        wanted = fetch.to_pull(available, {"metropolitan": "2025-04", "city-of-london": "2025-02"})
        assert wanted == [("metropolitan", "2025-05"), ("city-of-london", "2025-04")]
        pulled = fetch.pull(api, wanted)
        assert len(stub.requests_to("stops-force")) == 2  # one request per force and month
        assert pulled.note == "city-of-london 2025-04 (0 searches); metropolitan 2025-05 (3 searches)"
        assert not (tmp_path / "store").exists()  # nothing kept before the update keeps it
        pulled.keep(tmp_path / "store")
        assert [(m, f) for _, m, f in kept_answers(tmp_path / "store")] == [("2025-04", "city-of-london"),
                                                                           ("2025-05", "metropolitan")]
        fetch.pull(api, wanted)  # again: answered from the disk cache
        assert len(stub.requests_to("stops-force")) == 2


@pytest.mark.parametrize(("answer", "problem"), [({"error": "nope"}, "expected a list of searches"),
                                                 ([1, 2], "not usable")])
def test_a_bad_answer_is_an_api_error_and_nothing_is_kept(tmp_path, answer, problem):
    with StopsStub({("metropolitan", "2025-05"): answer}) as stub, pytest.raises(ApiError, match=problem):
        fetch.pull(client(stub.url, tmp_path), [("metropolitan", "2025-05")])
    assert kept_answers(tmp_path / "store") == []


def test_server_errors_are_retried_then_reported(tmp_path):
    with StopsStub({("metropolitan", "2025-05"): MAY}) as stub:
        for _ in range(3):
            stub.add_fault("503")
        with pytest.raises(ApiError):
            fetch.pull(client(stub.url, tmp_path), [("metropolitan", "2025-05")])
        assert len(stub.requests_to("stops-force")) == 3  # the first try and two retries


@pytest.mark.slow
def test_a_seeded_store_lays_kept_months_over_the_snapshot(tmp_path):
    from data_sources.build.build import build_store
    from data_sources.store.kept_stops import keep_answer
    from data_sources.store.seed import plant_seed
    from data_sources.store.versions import open_store

    store = tmp_path / "store"
    seed = plant_seed(Path(__file__).resolve().parent.parent / "data" / "snapshot", store)
    keep_answer(store, "metropolitan", "2025-05", MAY)
    manifest = build_store(seed, store)
    handle = open_store(store)
    counts = handle.read("stop_search_counts")
    may = counts[(counts["month"] == "2025-05") & (counts["dimension"] == "all")]
    assert may["count"].sum() == 3
    assert set(may["ward_code"].astype(str)) == {"E05013662"}  # 51.516275, -0.126121: Holborn & Covent Garden
    months = handle.read("stop_search_months").set_index(["force", "month"])
    assert months.loc[("metropolitan", "2025-05"), "searches"] == 3
    assert months.loc[("metropolitan", "2025-05"), "gap"]  # 3 searches: far below the months before
    assert manifest["sources"]["stop_search"]["rows_kept"] == 532_453 + 3
