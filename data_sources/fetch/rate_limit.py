"""A thread-safe leaky-bucket limiter so concurrent API requests stay within police.uk's limit.

police.uk documents a leaky bucket: each request adds one unit, the bucket drains at
15 units per second and may hold at most 30 (the burst). A request that would overflow the
bucket is answered 429. Spacing requests on the client side with the same model means the
bucket is never overfilled, however many threads share one :class:`LeakyBucket`.

The bucket is kept as a "theoretical arrival time" (the GCRA form of a leaky bucket): the
time at which the bucket would be empty. A request may go when the bucket, after draining
until now, holds at most ``burst - 1`` units.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class LeakyBucket:
    """Block callers just long enough that the request stream never overflows the bucket.

    Parameters
    ----------
    rate_per_s
        Drain rate: the sustained number of requests per second.
    burst
        Bucket capacity: how many requests may go back to back after a quiet spell.
    clock, sleep
        Monotonic clock and sleep function; tests inject fakes to run without waiting.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError(f"rate_per_s must be > 0 and burst >= 1, got {rate_per_s}, {burst}")
        self.rate_per_s = float(rate_per_s)
        self.burst = int(burst)
        self._interval = 1.0 / self.rate_per_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._empty_at = clock()  # when the bucket would be empty if nothing more is added

    def reserve(self) -> float:
        """Claim the next slot and return how long the caller must wait before sending.

        The claim is made under the lock, so concurrent callers are ordered; the wait
        itself happens outside it, so one sleeping caller does not block the others' claims.
        """
        with self._lock:
            now = self._clock()
            empty_at = max(self._empty_at, now)
            # Level after this request = (empty_at + interval - t) * rate; it must be <= burst.
            send_at = empty_at + self._interval - self.burst * self._interval
            self._empty_at = empty_at + self._interval
            return max(0.0, send_at - now)

    def acquire(self) -> None:
        """Wait until one more request fits in the bucket, then count it."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)

    def level(self) -> float:
        """Units in the bucket now (for diagnostics and tests)."""
        with self._lock:
            return max(0.0, (self._empty_at - self._clock()) * self.rate_per_s)


def max_bucket_level(timestamps: list[float], rate_per_s: float) -> float:
    """Replay request times through a leaky bucket and return the highest level it reached.

    Used by tests and the benchmark to check, from the server's side, that a request
    stream never overfilled the bucket (a level above ``burst`` would have been a 429).
    """
    level, last, peak = 0.0, None, 0.0
    for t in sorted(timestamps):
        if last is not None:
            level = max(0.0, level - (t - last) * rate_per_s)
        level += 1.0
        peak = max(peak, level)
        last = t
    return peak
