"""The key's budget: VideoGen's windows, kept where every worker sees them.

VideoGen limits requests per API key, endpoint group and hour (a window of
``seconds`` with ``requests`` calls), and says where each group stands in
every answer (``X-RateLimit-Limit``, ``-Remaining``, ``-Reset`` in unix
seconds). Here each group has the same window: the calls left in it and its
end, corrected by every answer's headers, so Studio's count is VideoGen's own.
A call that would overdraw the window is not sent.

Tool calls (the scarce, paid ones) are also paced: at most one every
``seconds / requests``, so a window's calls are spread over it instead of
spent in a burst at its start, and work that arrives late (another team's
one image behind a long queue) waits for the next slot, not for the reset.

One rule (``_take``, ``_observe``) over three stores: Redis (a WATCH/MULTI
transaction per change), the embedded broker's SQLite file (BEGIN IMMEDIATE),
or this process only (tests, scripts). The first two are shared by every
worker process. Time is each host's clock (kept by NTP), as VideoGen's Reset is.

Nobody waits in here. ``acquire`` takes a call and answers 0, or answers how
many seconds to wait; callers re-schedule themselves.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
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
# The reference's default table (docs.videogen.io/rate-limits): calls per hour and key.
DOCUMENTED_LIMITS = {
    "tools": 500,
    "executions": 5_000,
    "cancel": 250,
    "files": 50_000,
    "hydrate": 2_500,
    "uploads": 500,
    "search": 500,
    "resources": 2_500,
    "webhooks_list": 500,
    "webhooks_create": 10,
    "webhooks_delete": 10,
}
# Shorthands accepted in STUDIO_RATE_LIMITS: one limit for each group they name.
GROUP_ALIASES = {"webhooks": ("webhooks_list", "webhooks_create", "webhooks_delete")}
# A 429 that says nothing of when to come back pauses its group this long,
# doubled for each further 429 in a row, up to MAX_BACKOFF_SECONDS.
DEFAULT_PAUSE_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
# Groups whose calls are spread evenly over the window (see above).
PACED_GROUPS = frozenset({"tools"})
# After a quiet spell this share of a paced window may go at once (a person's few
# images start at once); under a queue the bucket is empty and the pace rules.
PACED_BURST_SHARE = 0.05
# Our window and VideoGen's are the same one when their ends are this close.
SAME_WINDOW_SECONDS = 2.0
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
    def pace(self) -> float:
        """Seconds between two calls when the window's calls are spread evenly."""
        return self.seconds / self.requests

    @property
    def burst(self) -> int:
        """Paced calls that may go at once after a quiet spell (PACED_BURST_SHARE)."""
        return max(1, int(self.requests * PACED_BURST_SHARE))


def parse_limits(text: str) -> dict[str, Limit]:
    """``"tools=500/3600,executions=5000/3600"`` -> {group: Limit}; empty or "off": no limits."""
    text = text.strip()
    if text.lower() in ("", "off", "none"):
        return {}
    limits: dict[str, Limit] = {}
    for part in text.split(","):
        if not part.strip():
            continue
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
                f"GROUP one of {', '.join(GROUPS + tuple(GROUP_ALIASES))}, e.g. 'tools=500/3600'"
            )
        for name in GROUP_ALIASES.get(group, (group,)):
            limits[name] = limit
    return limits


def format_limits(limits: Mapping[str, Limit]) -> str:
    return ",".join(f"{g}={lim.requests}/{lim.seconds:g}" for g, lim in limits.items())


def documented_table(times: int = 1) -> str:
    """The documented hourly table as STUDIO_RATE_LIMITS text (`times` it, for test
    sandboxes that run with the sandbox's "generous" profile)."""
    return format_limits({g: Limit(n * times, 3600.0) for g, n in DOCUMENTED_LIMITS.items()})


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
    """Budgets are per API and key, as VideoGen's limits are; the key itself is not stored."""
    return hashlib.sha256(f"{base_url}|{api_key}".encode()).hexdigest()[:16]


@dataclass
class Window:
    """Where one group stands: the calls left in the current window and when it ends,
    the earliest moment of the next paced call, and a pause after a 429."""

    end: float = 0.0
    left: int = 0
    tokens: float = -1.0  # the pace's bucket; below 0: full (never drawn from)
    tokens_at: float = 0.0
    paused_until: float = 0.0
    # VideoGen's own window as its last answer told it (its end, its calls left).
    theirs_end: float = 0.0
    theirs_left: int = 0

    def as_fields(self) -> dict[str, str]:
        return {k: repr(v) for k, v in asdict(self).items()}

    @classmethod
    def from_fields(cls, fields: Mapping) -> Window:
        fields = {
            (k.decode() if isinstance(k, bytes) else k): v for k, v in (fields or {}).items()
        }

        def num(name, kind=float):
            raw = fields.get(name) if fields else None
            if isinstance(raw, bytes):
                raw = raw.decode()
            try:
                return kind(float(raw)) if raw is not None else kind(0)
            except ValueError:
                return kind(0)

        tokens = num("tokens") if "tokens" in fields else -1.0
        return cls(
            num("end"), num("left", int), tokens, num("tokens_at"), num("paused_until"),
            num("theirs_end"), num("theirs_left", int),
        )

    def tokens_now(self, limit: Limit, now: float) -> float:
        if self.tokens < 0:
            return float(limit.burst)
        return min(limit.burst, self.tokens + max(0.0, now - self.tokens_at) / limit.pace)


@dataclass(frozen=True)
class BudgetState:
    """A group's budget as the pages show it (read only)."""

    group: str
    limit: int
    seconds: float
    left: int
    resets_at: float | None  # unix seconds; None: no window open (all of it is left)
    paused_until: float | None
    tokens: float  # paced calls that may go at once now
    paced: bool

    @property
    def used(self) -> int:
        return self.limit - self.left

    def wait_for(self, n: int, now: float) -> float:
        """Seconds until the n-th next call may be sent (n = 1: the very next), if no
        other call came first: the pace inside windows, each window's calls counted."""
        pace = self.seconds / self.limit if self.paced else 0.0
        t = max(now, self.paused_until or 0.0)
        tokens = self.tokens if self.paced else float("inf")
        left, end = self.left, self.resets_at
        sent = t
        for _ in range(max(1, n)):
            if tokens < 1:
                t += (1 - tokens) * pace
                tokens = 1.0
            if end is None or t >= end:
                left, end = self.limit, t + self.seconds
            if left <= 0:
                t = end
                left, end = self.limit, t + self.seconds
            left -= 1
            tokens -= 1
            sent = t
        return max(0.0, sent - now)


def _take(window: Window, limit: Limit | None, now: float, paced: bool) -> tuple[float, Window]:
    """The one rule of the budget: a call may go now (0) or after so many seconds."""
    if now >= window.end and limit is not None:
        window.end, window.left = now + limit.seconds, limit.requests
    if window.paused_until > now:
        return window.paused_until - now, window
    theirs_open = window.theirs_end > now
    if theirs_open and window.theirs_left <= 0:
        return max(0.001, window.theirs_end - now), window
    if limit is None:
        if theirs_open:
            window.theirs_left -= 1
        return 0.0, window
    if window.left <= 0:
        return max(0.001, window.end - now), window
    if paced:
        tokens = window.tokens_now(limit, now)
        if tokens < 1:
            return (1 - tokens) * limit.pace, window
        window.tokens, window.tokens_at = tokens - 1, now
    window.left -= 1
    if theirs_open:
        window.theirs_left -= 1
    return 0.0, window


def _observe(window: Window, limit: Limit | None, info: RateLimitInfo, now: float) -> Window:
    """VideoGen's own count is kept beside ours, and a call needs both: its
    Remaining and Reset correct what we know of its window."""
    if info.remaining is None or info.reset_at is None or info.reset_at <= now:
        return window  # no window in the answer, or one that has already ended
    if info.reset_at > now + MAX_RESET_WAIT_SECONDS:
        return window  # a clock problem, not a window
    if window.theirs_end > now and abs(info.reset_at - window.theirs_end) <= SAME_WINDOW_SECONDS:
        # The same window: answers arrive out of order, so the lowest count stands.
        window.theirs_end = max(window.theirs_end, info.reset_at)
        window.theirs_left = min(window.theirs_left, info.remaining)
    else:  # a new window of theirs (or the first we hear of)
        window.theirs_end, window.theirs_left = info.reset_at, info.remaining
    ours = window.end > now and abs(info.reset_at - window.end) <= SAME_WINDOW_SECONDS
    if limit is not None and ours:
        # VideoGen opened our window when our first call arrived, a moment after
        # we counted it, and rounds its end up: keep the later end.
        window.end = max(window.end, info.reset_at)
    return window


def _refund(window: Window, limit: Limit | None, now: float) -> Window:
    if window.theirs_end > now:
        window.theirs_left += 1
    if limit is not None and window.end > now:
        window.left = min(limit.requests, window.left + 1)
        if window.tokens >= 0:
            window.tokens = min(limit.burst, window.tokens_now(limit, now) + 1)
            window.tokens_at = now
    return window


def _pause(window: Window, seconds: float, now: float) -> Window:
    window.paused_until = max(window.paused_until, now + seconds)
    return window


class RateLimiter(Protocol):
    def acquire(self, group: str) -> float:
        """Take one call of the group's budget (answer 0) or answer the seconds to
        wait before asking again. A paused group waits out its pause even when it
        has no budget of ours."""

    def pause(self, group: str, seconds: float) -> None:
        """VideoGen said 429: nobody sends to `group` for `seconds`."""

    def observe(self, group: str, info: RateLimitInfo) -> None:
        """An answer's X-RateLimit-* headers: correct the group's window with them."""

    def refund(self, group: str) -> None:
        """A call taken with acquire was not sent after all: give it back."""

    def state(self, group: str) -> BudgetState | None:
        """Where the group stands (None: it has no budget here)."""


class _Budget:
    """The rules above over a store of one Window per group; subclasses say where
    the windows live and how one is read and written atomically."""

    paced_groups = PACED_GROUPS

    def __init__(self, limits: Mapping[str, Limit], clock=time.time) -> None:
        self._limits = dict(limits)
        self._clock = clock

    @property
    def limits(self) -> dict[str, Limit]:
        return dict(self._limits)

    def _update(self, group: str, change) -> object:  # pragma: no cover - abstract
        raise NotImplementedError

    def _read(self, group: str) -> Window:  # pragma: no cover - abstract
        raise NotImplementedError

    def acquire(self, group: str) -> float:
        limit = self._limits.get(group)
        paced = group in self.paced_groups
        return self._update(group, lambda w, now: _take(w, limit, now, paced))

    def pause(self, group: str, seconds: float) -> None:
        self._update(group, lambda w, now: (None, _pause(w, seconds, now)))

    def observe(self, group: str, info: RateLimitInfo) -> None:
        limit = self._limits.get(group)
        self._update(group, lambda w, now: (None, _observe(w, limit, info, now)))

    def refund(self, group: str) -> None:
        limit = self._limits.get(group)
        self._update(group, lambda w, now: (None, _refund(w, limit, now)))

    def state(self, group: str) -> BudgetState | None:
        limit = self._limits.get(group)
        if limit is None:
            return None
        window = self._read(group)
        now = self._clock()
        left, resets_at = (window.left, window.end) if window.end > now else (limit.requests, None)
        if window.theirs_end > now and window.theirs_left < left:  # VideoGen's binds
            left, resets_at = max(0, window.theirs_left), window.theirs_end
        return BudgetState(
            group=group,
            limit=limit.requests,
            seconds=limit.seconds,
            left=left,
            resets_at=resets_at,
            paused_until=window.paused_until if window.paused_until > now else None,
            tokens=window.tokens_now(limit, now),
            paced=group in self.paced_groups,
        )


class LocalRateLimiter(_Budget):
    """The windows in this process only: threads share them (tests, scripts)."""

    def __init__(self, limits: Mapping[str, Limit], clock=time.time) -> None:
        super().__init__(limits, clock)
        self._lock = threading.Lock()
        self._windows: dict[str, Window] = {}

    def _read(self, group: str) -> Window:
        with self._lock:
            return replace(self._windows.get(group, Window()))

    def _update(self, group: str, change):
        with self._lock:
            result, window = change(replace(self._windows.get(group, Window())), self._clock())
            self._windows[group] = window
            return result


class RedisRateLimiter(_Budget):
    """The windows in Redis, shared by every process that uses the same keys: one
    WATCH/MULTI transaction reads and writes a group's window.

    Redis failing must not stop the work it only paces: then the limiter lets
    calls through (VideoGen's own 429s still slow the callers down).
    """

    def __init__(self, redis_client, limits: Mapping[str, Limit], *, namespace: str,
                 clock=time.time) -> None:
        super().__init__(limits, clock)
        self._redis = redis_client
        self._namespace = namespace

    def _key(self, group: str) -> str:
        return f"{self._namespace}:{group}:window"

    def _read(self, group: str) -> Window:
        try:
            return Window.from_fields(self._redis.hgetall(self._key(group)))
        except Exception as exc:
            logger.warning("budget store unavailable, cannot read %s: %s", group, exc)
            return Window()

    def _update(self, group: str, change):
        key = self._key(group)
        outcome: list = []

        def transaction(pipe) -> None:
            window = Window.from_fields(pipe.hgetall(key))
            result, window = change(window, self._clock())
            outcome[:] = [result]
            pipe.multi()
            pipe.hset(key, mapping=window.as_fields())
            pipe.expire(key, int(MAX_RESET_WAIT_SECONDS * 2))

        try:
            self._redis.transaction(transaction, key)
        except Exception as exc:  # any Redis trouble: let the call through
            logger.warning("budget store unavailable, not pacing %s calls: %s", group, exc)
            return 0.0
        return outcome[0] if outcome else 0.0


class SqliteRateLimiter(_Budget):
    """The windows in one SQLite file (the embedded broker's), shared by every
    process on the machine: BEGIN IMMEDIATE makes each read-and-write atomic."""

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS videogen_budget (scope TEXT NOT NULL, grp TEXT NOT NULL, "
        "fields TEXT NOT NULL, PRIMARY KEY (scope, grp))"
    )

    def __init__(self, path: str, limits: Mapping[str, Limit], *, namespace: str,
                 clock=time.time) -> None:
        super().__init__(limits, clock)
        self._path = path
        self._namespace = namespace
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        # One connection per call: cheap, and safe across forks of the worker pool.
        db = sqlite3.connect(self._path, timeout=10, isolation_level=None)
        if not self._ready:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(self.SCHEMA)
            self._ready = True
        return db

    def _read(self, group: str) -> Window:
        try:
            db = self._connect()
            try:
                row = db.execute(
                    "SELECT fields FROM videogen_budget WHERE scope = ? AND grp = ?",
                    (self._namespace, group),
                ).fetchone()
            finally:
                db.close()
        except sqlite3.Error as exc:
            logger.warning("budget store unavailable, cannot read %s: %s", group, exc)
            return Window()
        return Window.from_fields(json.loads(row[0])) if row else Window()

    def _update(self, group: str, change):
        try:
            db = self._connect()
            try:
                db.execute("BEGIN IMMEDIATE")
                row = db.execute(
                    "SELECT fields FROM videogen_budget WHERE scope = ? AND grp = ?",
                    (self._namespace, group),
                ).fetchone()
                window = Window.from_fields(json.loads(row[0])) if row else Window()
                result, window = change(window, self._clock())
                db.execute(
                    "INSERT INTO videogen_budget (scope, grp, fields) VALUES (?, ?, ?) "
                    "ON CONFLICT (scope, grp) DO UPDATE SET fields = excluded.fields",
                    (self._namespace, group, json.dumps(window.as_fields())),
                )
                db.execute("COMMIT")
            finally:
                db.close()
        except sqlite3.Error as exc:
            logger.warning("budget store unavailable, not pacing %s calls: %s", group, exc)
            return 0.0
        return result
