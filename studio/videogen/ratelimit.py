"""Pacing VideoGen calls below its rate limits: one limiter for every worker.

VideoGen limits requests per API key, endpoint group and hour, and says where
each group stands in every response (``X-RateLimit-Limit``, ``-Remaining``,
``-Reset`` in unix seconds). Each group here has a token bucket (``requests``
tokens, refilled evenly over ``seconds``); with Redis the buckets live there
and one Lua script reads and updates a bucket atomically, so every process on
every host draws from the same tokens. When VideoGen says a group is spent
(``Remaining: 0``, or a 429), the client pauses the group until the window
resets, and every process honours that pause, not only the one that was told.

Nobody waits in here. ``acquire`` takes a token and answers 0, or answers how
many seconds to wait; the client then raises RateLimitedError before sending
anything, and the Celery task re-schedules itself. Callers refused in a burst
are handed successive slots (the k-th waits about k refill intervals), so a
queue of refused tasks comes back spread out instead of all at once.

Without Redis (the embedded default) ``LocalRateLimiter`` keeps the same
buckets in the process: right for the one worker process that setup runs,
but each further worker process would pace on its own.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger("studio.videogen")

# VideoGen's endpoint groups, named as on its rate-limits page.
GROUPS = (
    "tools",
    "executions",
    "cancel",
    "files",
    "hydrate",
    "uploads",
    "search",
    "resources",
    "webhooks_list",
    "webhooks_create",
    "webhooks_delete",
)
# Shorthands accepted in STUDIO_RATE_LIMITS: one limit for each group they name.
GROUP_ALIASES = {"webhooks": ("webhooks_list", "webhooks_create", "webhooks_delete")}
# A 429 that says nothing of when to come back pauses its group this long,
# doubled for each further 429 in a row, up to MAX_BACKOFF_SECONDS.
DEFAULT_PAUSE_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
# A reset time further away than this is taken for a clock problem, not a wait.
MAX_RESET_WAIT_SECONDS = 3600.0 + 60.0


@dataclass(frozen=True)
class RateLimitInfo:
    """Where one endpoint group stands, as the response's X-RateLimit-* headers say."""

    group: str | None
    limit: int | None
    remaining: int | None
    reset_at: float | None  # unix seconds

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], group: str | None) -> RateLimitInfo | None:
        limit = _header_int(headers.get("X-RateLimit-Limit"))
        remaining = _header_int(headers.get("X-RateLimit-Remaining"))
        reset_at = _header_float(headers.get("X-RateLimit-Reset"))
        if limit is None and remaining is None and reset_at is None:
            return None
        return cls(group=group, limit=limit, remaining=remaining, reset_at=reset_at)

    def seconds_to_reset(self, now: float) -> float | None:
        """Seconds until the window opens again (None: unknown or implausible)."""
        if self.reset_at is None:
            return None
        wait = self.reset_at - now
        if wait > MAX_RESET_WAIT_SECONDS:
            return None
        return max(0.0, wait)

    @property
    def is_spent(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


def _header_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _header_float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Limit:
    requests: int
    seconds: float

    @property
    def interval_ms(self) -> float:
        """Milliseconds to refill one token."""
        return self.seconds * 1000 / self.requests


def parse_limits(text: str) -> dict[str, Limit]:
    """``"tools=60/60,executions=600/60"`` -> {group: Limit}; empty or "off": no limits."""
    text = text.strip()
    if text.lower() in ("", "off", "none"):
        return {}
    limits: dict[str, Limit] = {}
    for part in text.split(","):
        group, _, rule = part.strip().partition("=")
        requests, _, seconds = rule.partition("/")
        group = group.strip()
        try:
            limit = Limit(int(requests), float(seconds))
        except ValueError:
            limit = None
        known = group in GROUPS or group in GROUP_ALIASES
        if not known or limit is None or limit.requests < 1 or limit.seconds <= 0:
            raise ValueError(
                f"rate limit {part.strip()!r} must look like 'GROUP=REQUESTS/SECONDS' with "
                f"GROUP one of {', '.join(GROUPS + tuple(GROUP_ALIASES))}, e.g. 'tools=60/60'"
            )
        for name in GROUP_ALIASES.get(group, (group,)):
            limits[name] = limit
    return limits


def group_for(path: str, method: str = "GET") -> str | None:
    """The endpoint group of an API call, as VideoGen counts it (None: not limited)."""
    method = method.upper()
    if path.startswith("/v1/tools/executions"):
        return "cancel" if path.endswith("/cancel") else "executions"
    if path.startswith("/v1/tools/"):
        return "tools"
    if path.startswith("/v1/files"):
        if path.endswith("/hydrate"):
            return "hydrate"
        if path == "/v1/files/upload":
            return "uploads"
        if path == "/v1/files/search":
            return "search"
        return "files"
    if path.startswith("/v1/resources"):
        return "resources"
    if path.startswith("/v1/webhooks"):
        if method == "POST":
            return "webhooks_create"
        if method == "DELETE":
            return "webhooks_delete"
        return "webhooks_list"
    return None


def scope_for(base_url: str, api_key: str) -> str:
    """Buckets are per API and key, as VideoGen's limits are; the key itself is not stored."""
    return hashlib.sha256(f"{base_url}|{api_key}".encode()).hexdigest()[:16]


class RateLimiter(Protocol):
    def acquire(self, group: str) -> float:
        """Take a token (answer 0) or answer the seconds to wait before asking again.
        A paused group waits out its pause even when it has no bucket."""

    def pause(self, group: str, seconds: float) -> None:
        """VideoGen said 429: nobody sends to `group` for `seconds`."""


# KEYS: bucket (hash tokens/ts), pause marker, next slot handed to a refused caller.
# ARGV: capacity, milliseconds per token. Answers milliseconds to wait (0: token taken).
# Redis's own clock, so hosts with skewed clocks still share one notion of "now".
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local capacity = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) / interval)
local paused = redis.call('PTTL', KEYS[2])
if paused < 0 then paused = 0 end
local ttl = math.ceil(capacity * interval) + 1000
if paused == 0 and tokens >= 1 then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'ts', now)
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 0
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], ttl)
local earliest = now + math.max(paused, math.ceil((1 - tokens) * interval))
local last = tonumber(redis.call('GET', KEYS[3]) or '0')
local slot = math.max(earliest, last + interval)
redis.call('SET', KEYS[3], tostring(slot), 'PX', math.ceil(slot - now) + 1000)
return math.ceil(slot - now)
"""

# KEYS: pause marker. ARGV: milliseconds. A longer pause already set is kept.
_PAUSE = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then
  redis.call('SET', KEYS[1], '1', 'PX', ms)
end
return 0
"""


class RedisRateLimiter:
    """The buckets in Redis, shared by every process that uses the same keys.

    Redis failing must not stop the work it only paces: then the limiter lets
    calls through (VideoGen's own 429s still slow the callers down).
    """

    def __init__(self, redis_client, limits: Mapping[str, Limit], *, namespace: str) -> None:
        self._redis = redis_client
        self._limits = dict(limits)
        self._namespace = namespace
        self._acquire = redis_client.register_script(_ACQUIRE)
        self._pause = redis_client.register_script(_PAUSE)

    def _keys(self, group: str) -> list[str]:
        base = f"{self._namespace}:{group}"
        return [f"{base}:bucket", f"{base}:paused", f"{base}:slot"]

    def acquire(self, group: str) -> float:
        limit = self._limits.get(group)
        if limit is None:  # no bucket of ours, but VideoGen may have paused the group
            try:
                paused_ms = self._redis.pttl(self._keys(group)[1])
            except Exception as exc:
                logger.warning("rate limiter unavailable, not pacing %s calls: %s", group, exc)
                return 0.0
            return max(0, int(paused_ms)) / 1000
        try:
            wait_ms = self._acquire(
                keys=self._keys(group), args=[limit.requests, limit.interval_ms]
            )
        except Exception as exc:  # any Redis trouble: let the call through
            logger.warning("rate limiter unavailable, not pacing %s calls: %s", group, exc)
            return 0.0
        return int(wait_ms) / 1000

    def pause(self, group: str, seconds: float) -> None:
        try:
            self._pause(keys=self._keys(group)[1:2], args=[max(1, round(seconds * 1000))])
        except Exception as exc:
            logger.warning("rate limiter unavailable, could not pause %s calls: %s", group, exc)


class LocalRateLimiter:
    """The same buckets in this process only (no Redis): threads share them."""

    def __init__(self, limits: Mapping[str, Limit], clock=time.monotonic) -> None:
        self._limits = dict(limits)
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[float, float]] = {}  # group -> (tokens, at)
        self._paused_until: dict[str, float] = {}
        self._last_slot: dict[str, float] = {}

    def acquire(self, group: str) -> float:
        limit = self._limits.get(group)
        if limit is None:  # no bucket of ours, but VideoGen may have paused the group
            with self._lock:
                return max(0.0, self._paused_until.get(group, 0.0) - self._clock())
        interval = limit.interval_ms / 1000
        with self._lock:
            now = self._clock()
            tokens, at = self._tokens.get(group, (float(limit.requests), now))
            tokens = min(limit.requests, tokens + max(0.0, now - at) / interval)
            paused = max(0.0, self._paused_until.get(group, 0.0) - now)
            if not paused and tokens >= 1:
                self._tokens[group] = (tokens - 1, now)
                return 0.0
            self._tokens[group] = (tokens, now)
            earliest = now + max(paused, (1 - tokens) * interval)
            slot = max(earliest, self._last_slot.get(group, 0.0) + interval)
            self._last_slot[group] = slot
            return slot - now

    def pause(self, group: str, seconds: float) -> None:
        with self._lock:
            until = self._clock() + seconds
            self._paused_until[group] = max(until, self._paused_until.get(group, 0.0))
