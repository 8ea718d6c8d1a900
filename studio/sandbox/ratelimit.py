"""Rate limits: so many requests per window, per API key and endpoint group.

VideoGen counts per key, per endpoint, per hour, and publishes a default
table by endpoint group (docs.videogen.io/rate-limits); `REFERENCE_LIMITS` is
that table, and the sandbox's groups are named after its rows. Each group has
its own number and its own "hour", so a test can compress an hour into
seconds: ``--rate-limits`` / ``VIDEOGEN_SANDBOX_RATE_LIMITS`` take
``group=N/seconds`` (``tools=10/30,executions=100/30``), the syntax of
Studio's own ``STUDIO_RATE_LIMITS``. A window opens with the first request
after the previous one ended (not on the clock's hour), so a test that sends
limit + 1 quick requests always sees the last one refused.

Every answer of a limited group carries ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (unix seconds). A
refusal is a 429 with those headers and, as the reference says nothing of
one, no ``Retry-After`` unless the ``rate_limit_retry_after`` fault asks for it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

HOUR = 3600.0

# The reference's default table: group -> requests per hour, per key.
REFERENCE_LIMITS: dict[str, int] = {
    "tools": 500,  # POST /v1/tools/* (every tool call)
    "executions": 5_000,  # GET /v1/tools/executions/{id} (and the SDK's list)
    "cancel": 250,  # POST /v1/tools/executions/{id}/cancel
    "files": 50_000,  # GET /v1/files, GET /v1/files/{id} (and archive, public preview)
    "hydrate": 2_500,  # POST /v1/files/{id}/hydrate
    "uploads": 500,  # POST /v1/files/upload
    "search": 500,  # POST /v1/files/search
    "resources": 2_500,  # GET /v1/resources/* (not served by the sandbox)
    "webhooks_list": 500,  # GET /v1/webhooks/endpoints
    "webhooks_create": 10,  # POST /v1/webhooks/endpoints
    "webhooks_delete": 10,  # DELETE /v1/webhooks/endpoints/{id}
}
LIMITED_GROUPS = tuple(REFERENCE_LIMITS)

# A group's limit: (requests, window in seconds).
Limit = tuple[int, float]


@dataclass(frozen=True)
class Profile:
    description: str
    limits: Mapping[str, Limit]


PROFILES = {
    "reference": Profile(
        "the documented hourly table", {g: (n, HOUR) for g, n in REFERENCE_LIMITS.items()}
    ),
    # For shared test sandboxes that serve many tests: limits exist, but nobody meets them.
    "generous": Profile(
        "100x the table per hour", {g: (n * 100, HOUR) for g, n in REFERENCE_LIMITS.items()}
    ),
    # Low enough to meet in a few requests, short enough to wait out in a test.
    "strict": Profile(
        "tools 5, webhooks 5, the rest 30, per 10 s",
        {g: (5 if g == "tools" or g.startswith("webhooks") else 30, 10.0) for g in LIMITED_GROUPS},
    ),
}


def parse_rate_limits(text: str) -> dict[str, Limit]:
    """``"tools=10/30,executions=100/30"`` -> {"tools": (10, 30.0), ...}; ValueError if bad."""
    limits: dict[str, Limit] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, equals, rule = part.partition("=")
        name = name.strip()
        count, slash, seconds = rule.partition("/")
        try:
            limit = (int(count), float(seconds))
        except ValueError:
            limit = None
        if not equals or not slash or limit is None or limit[0] < 1 or not limit[1] > 0:
            raise ValueError(
                f"{part.strip()!r} is not group=N/seconds (e.g. tools=10/30): N a whole number "
                "from 1, seconds a positive number"
            )
        if name not in REFERENCE_LIMITS:
            raise ValueError(f"unknown group {name!r}; groups are {', '.join(LIMITED_GROUPS)}")
        limits[name] = limit
    return limits


def format_rate_limits(limits: Mapping[str, Limit]) -> str:
    return ",".join(f"{group}={n}/{seconds:g}" for group, (n, seconds) in limits.items())


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_at: float  # unix time the window ends
    retry_after: int  # whole seconds until then, at least 1

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }


class RateLimiter:
    def __init__(self, clock: Callable[[], float]) -> None:
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
