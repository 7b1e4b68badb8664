"""The retry policy every publisher client shares: bounded retries, doubling back-off, Retry-After.

police.uk and the London Datastore fail in the same ways (429 when busy, 5xx when
overloaded, a dropped connection or a time-out), so both clients send through
:func:`send_with_retries` rather than each keeping its own loop. What counts as a final
answer, what to say when the publisher cannot be reached and what to say on giving up
are the caller's, because only the caller knows the publisher and the request.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar

import requests
from urllib3.exceptions import NewConnectionError


class Answer(Protocol):
    """What the loop needs from an answer: its status and headers (``requests.Response`` has both)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> requests.structures.CaseInsensitiveDict[str]: ...


R = TypeVar("R", bound=Answer)


@dataclass(frozen=True)
class RetryPolicy:
    """How patient a client is.

    Attributes
    ----------
    max_retries
        Retries after the first attempt for 429, 5xx, time-outs and dropped connections.
    backoff_s, max_backoff_s
        First back-off delay, doubled each retry and capped; a longer Retry-After wins.
    timeout_s
        Per-request timeout (used only in the "no answer within" message here).
    """

    max_retries: int
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    timeout_s: float = 120.0


#: The shortest attempt worth making when patience is nearly spent (seconds).
MIN_ATTEMPT_S = 0.5


class Patience:
    """How long a client may go without any answer from its publisher, across all its requests.

    The clock restarts at every final answer, so a long fetch that keeps getting answers is
    never cut short, while a publisher that stops answering is given up on within
    ``limit_s`` (plus at most one request timeout already running), whatever the retry
    count and back-off would allow.
    """

    def __init__(self, limit_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit_s = limit_s
        self.clock = clock
        self._since = clock()
        self._lock = threading.Lock()

    def answered(self) -> None:
        with self._lock:
            self._since = self.clock()

    def waited(self) -> float:
        with self._lock:
            return self.clock() - self._since

    def remaining(self) -> float:
        return self.limit_s - self.waited()

    def timeout(self, per_request: float) -> float:
        """The timeout for the next request: the per-request one, or less when patience is running out."""
        return min(per_request, max(MIN_ATTEMPT_S, self.remaining()))


def _seconds(s: float) -> str:
    """Seconds for a message: whole above 10, else to a tenth ('0.2', '1', '59')."""
    return f"{s:.0f}" if s >= 10 else f"{s:.1f}".removesuffix(".0")


def retry_after(resp: Answer) -> float | None:
    """Seconds the server asked us to wait (``Retry-After`` as seconds or an HTTP date), or None."""
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())


def is_offline(err: requests.ConnectionError) -> bool:
    """Tell connection refused or name not resolved apart from a connection reset mid-answer."""
    inner = err.args[0] if err.args else None
    reason = getattr(inner, "reason", inner)
    return isinstance(reason, NewConnectionError)


def is_transient(resp: Answer) -> bool:
    """429 and 5xx are worth retrying; anything else is the publisher's final word."""
    return resp.status_code == 429 or resp.status_code >= 500


def send_with_retries(
    send: Callable[[], R],
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    offline: Callable[[requests.ConnectionError], Exception],
    give_up: Callable[[int, str], Exception],
    before_attempt: Callable[[], None] | None = None,
    is_final: Callable[[R], bool] = lambda r: not is_transient(r),
    patience: Patience | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> R:
    """Call ``send`` until it returns a final answer, within the policy's bound.

    Parameters
    ----------
    send
        Makes one attempt and returns the answer; it may read the body too, so that a
        body cut off mid-way (``ChunkedEncodingError``) is retried like a dropped connection.
    policy
        Retry bound and back-off.
    sleep
        Waits between attempts (tests pass a recorder).
    offline
        Builds the error raised at once when the host cannot be reached at all.
    give_up
        Builds the error raised after the last attempt, from (attempts, last problem).
    before_attempt
        Called before every attempt (the police.uk client waits for its rate limiter).
    is_final
        Whether an answer ends the loop (default: anything but 429 and 5xx).
    patience
        The client's bound on waiting without an answer; the loop gives up when it is spent
        (``send`` should take its timeout from ``patience.timeout``).
    on_wait
        Told in one line before each wait for a retry (the command line prints it), so a
        silent publisher is never a silent command.

    Returns
    -------
    The first final answer.
    """
    problem = ""
    attempts = 0
    for attempt in range(policy.max_retries + 1):
        if patience is not None and patience.remaining() <= 0:
            problem += f"; no answer for {patience.waited():.0f} s, the limit is {patience.limit_s:g} s"
            break
        if before_attempt is not None:
            before_attempt()
        attempts += 1
        delay = None
        timeout = patience.timeout(policy.timeout_s) if patience is not None else policy.timeout_s  # as send() sets it
        try:
            resp = send()
        except requests.Timeout:
            problem = f"no answer within {_seconds(timeout)} s"
        except requests.ConnectionError as e:
            if is_offline(e):
                raise offline(e) from e
            problem = f"connection dropped ({e.__class__.__name__})"
        except requests.exceptions.ChunkedEncodingError as e:
            problem = f"answer cut off part-way ({e.__class__.__name__})"
        else:
            if is_final(resp):
                if patience is not None:
                    patience.answered()
                return resp
            problem = f"HTTP {resp.status_code}"
            delay = retry_after(resp)
        if attempt == policy.max_retries:
            break
        wait = max(min(policy.max_backoff_s, policy.backoff_s * 2**attempt), delay or 0.0)
        if patience is not None and patience.remaining() - wait < MIN_ATTEMPT_S:  # no time for a real attempt
            problem += f"; no answer for {patience.waited():.0f} s, the limit is {patience.limit_s:g} s"
            break
        if on_wait is not None:
            spent = f"; {patience.waited():.0f} s of {patience.limit_s:g} s without an answer" if patience else ""
            on_wait(f"{problem}; retrying in {wait:.0f} s (attempt {attempts + 1} of {policy.max_retries + 1}{spent})")
        sleep(wait)
    raise give_up(attempts, problem)
