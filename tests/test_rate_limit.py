"""The leaky-bucket limiter: burst, sustained rate, and no overflow across threads."""

from __future__ import annotations

import threading

import pytest

from data_sources.fetch.rate_limit import LeakyBucket, max_bucket_level


class FakeClock:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def test_burst_goes_at_once_then_rate_applies() -> None:
    clock = FakeClock()
    bucket = LeakyBucket(15, 30, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(60):
        bucket.acquire()
        sent.append(clock.now)
    assert sent[:30] == [0.0] * 30
    # The remaining 30 drain at 15/s: the last one goes 2 s in.
    assert sent[-1] == pytest.approx(30 / 15)
    assert max_bucket_level(sent, 15) <= 30 + 1e-9


def test_quiet_spell_refills_burst() -> None:
    clock = FakeClock()
    bucket = LeakyBucket(15, 30, clock=clock, sleep=clock.sleep)
    for _ in range(30):
        bucket.acquire()
    assert bucket.level() == pytest.approx(30)
    clock.now += 2.0  # drains completely
    assert bucket.level() == 0
    start = clock.now
    for _ in range(30):
        bucket.acquire()
    assert clock.now == pytest.approx(start)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        LeakyBucket(0, 30)
    with pytest.raises(ValueError):
        LeakyBucket(15, 0)


def test_max_bucket_level_model() -> None:
    assert max_bucket_level([], 15) == 0
    assert max_bucket_level([0.0] * 31, 15) == 31
    assert max_bucket_level([i / 15 for i in range(100)], 15) == pytest.approx(1.0)


def test_threads_sharing_one_bucket_never_overflow_it() -> None:
    """8 threads, 54 requests, on a clock that stands still: each request goes out at (now + its wait).

    The clock is injected, as the limiter allows, so the test does not sleep or depend on the
    machine's speed: the threads really contend for the limiter's lock, and the virtual send
    times they are given must fit the bucket exactly.
    """
    clock = FakeClock()
    waited = threading.local()

    def sleep(seconds: float) -> None:  # the clock stands still; remember when this thread would send
        waited.seconds = seconds

    bucket = LeakyBucket(15, 30, clock=clock, sleep=sleep)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(6):
            waited.seconds = 0.0
            bucket.acquire()
            with lock:
                stamps.append(clock.now + waited.seconds)

    threads = [threading.Thread(target=worker) for _ in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stamps) == 54
    assert sorted(stamps)[:30] == [0.0] * 30  # the burst of 30 goes at once
    assert max_bucket_level(stamps, 15) == pytest.approx(30.0)  # and the bucket is never overfilled
    assert max(stamps) == pytest.approx((54 - 30) / 15)  # the other 24 drain at 15/s
    assert len(set(stamps)) == 54 - 29  # every request after the burst has a slot of its own
