"""Rate limits: so many requests per window, per API key and endpoint group.

VideoGen counts per key, per endpoint, per hour, and publishes the numbers
per endpoint group; the sandbox keeps the groups (tools, executions, files,
webhooks) and makes the numbers and the window settings. A window opens with
the first request after the previous one ended (not on the clock's hour), so
a test that sends limit + 1 quick requests always sees the last one refused.

Every answer of a limited group carries ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset``; a refusal is a 429 with
``Retry-After`` in whole seconds.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    window_seconds: float
    limits: Mapping[str, int]


PROFILES = {
    # Far above anything a test suite sends: limits exist, but nobody meets them.
    "default": Profile(
        60.0, {"tools": 10_000, "executions": 100_000, "files": 100_000, "webhooks": 10_000}
    ),
    # Low enough to meet in a few requests, short enough to wait out in a test.
    "strict": Profile(10.0, {"tools": 5, "executions": 30, "files": 30, "webhooks": 5}),
}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # unix time the window ends
    retry_after: int  # whole seconds until then, at least 1

    def headers(self) -> dict[str, str]:
        # The reset as unix seconds, as GitHub and most APIs send it; VideoGen does not say.
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        # (api key, group) -> (window start, requests admitted in it)
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def check(self, api_key: str, group: str, limit: int, window_seconds: float) -> Verdict:
        """Count one request in its window, unless over the limit: refusals don't count."""
        now = self._clock()
        with self._lock:
            start, count = self._windows.get((api_key, group), (now, 0))
            if now >= start + window_seconds:
                start, count = now, 0
            allowed = count < limit
            if allowed:
                count += 1
            self._windows[(api_key, group)] = (start, count)
        reset_at = start + window_seconds
        return Verdict(
            allowed=allowed,
            limit=limit,
            remaining=max(0, limit - count),
            reset_at=reset_at,
            retry_after=max(1, math.ceil(reset_at - now)),
        )

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()
