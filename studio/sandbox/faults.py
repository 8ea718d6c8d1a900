"""What goes wrong, and how fast things go: the settings that change while the sandbox runs.

One `Faults` value is current at any time. Its starting value comes from the
CLI flags and ``VIDEOGEN_SANDBOX_*`` variables of the same names (config.py);
``GET /_admin/faults`` shows it and ``POST /_admin/faults`` merges changes
into it. A key is spelt the same everywhere: the flag's name with underscores
(``--latency-ms`` is ``latency_ms``).

Every fault here is one the real API can produce: slow answers, 5xx from its
gateway (sometimes after the work was done, so the answer is lost but the
execution exists), 429s, executions that fail, slow or broken downloads from
storage, and webhook deliveries that are lost, late or sent twice. Chance
comes from one seeded `random.Random`: the same seed and the same sequence of
requests meet the same faults. (Concurrent requests draw in whatever order
they arrive, so only sequential runs repeat exactly.)
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .errors import ApiError
from .ratelimit import LIMITED_GROUPS, PROFILES, Limit, parse_rate_limits

# Reached with the API key, so rate limited per key; storage URLs carry a signature instead.
API_GROUPS = LIMITED_GROUPS
GROUPS = (*API_GROUPS, "storage")
SERVER_ERROR_STATUSES = (500, 502, 503, 504)

# What VideoGen's edge answers with for each status (body as for any API error).
_SERVER_ERRORS = {
    500: ("internal_error", "An internal error occurred. Please try again later."),
    502: ("bad_gateway", "The server received an invalid response from upstream. Try again."),
    503: ("service_unavailable", "The service is temporarily unavailable. Try again shortly."),
    504: ("gateway_timeout", "The request took too long to process. Try again."),
}


def _per_group(value: float, groups: tuple[str, ...] = GROUPS) -> dict[str, float]:
    return dict.fromkeys(groups, value)


@dataclass(frozen=True)
class Faults:
    # Executions: how long each phase lasts (for executions created from now on).
    pending_seconds: float = 0.5
    running_seconds: float = 2.0
    # The account: without the Production add-on, watermarkMode NONE is a 403.
    production_addon: bool = False
    # Share of new executions that end `failed`, and the error they carry.
    execution_failure_share: float = 0.0
    execution_failure_code: str = "generation_failed"
    execution_failure_message: str = "The model could not render this prompt."
    # Per endpoint group: added latency, plus a random 0..jitter on top.
    latency_ms: dict[str, float] = field(default_factory=lambda: _per_group(0.0))
    latency_jitter_ms: dict[str, float] = field(default_factory=lambda: _per_group(0.0))
    # Per group: share of requests answered with a 5xx picked from server_error_statuses.
    server_error_share: dict[str, float] = field(default_factory=lambda: _per_group(0.0))
    server_error_statuses: tuple[int, ...] = (500, 502, 503)
    # Of those 5xx, the share given after the request was carried out (work done, answer lost).
    server_error_after_handling_share: float = 0.0
    # Per API group: share of requests answered 429 beyond the real limits; with a
    # Retry-After of this many seconds, or none at 0 (the reference promises none).
    rate_limited_share: dict[str, float] = field(
        default_factory=lambda: _per_group(0.0, API_GROUPS)
    )
    rate_limited_retry_after: int = 0
    # The real limits: (requests, window seconds) per API key and group (see ratelimit.py);
    # a refusal carries Retry-After (seconds to the reset) only when rate_limit_retry_after.
    rate_limits: dict[str, Limit] = field(
        default_factory=lambda: dict(PROFILES["reference"].limits)
    )
    rate_limit_retry_after: bool = False
    # Storage downloads: a throttle (0: none), and a share cut off part-way.
    download_bytes_per_second: int = 0
    truncated_download_share: float = 0.0
    truncated_download_fraction: float = 0.5
    # Webhook deliveries: never sent, sent late, or sent twice with the same webhook-id.
    webhook_drop_share: float = 0.0
    webhook_delay_seconds: float = 0.0
    webhook_duplicate_share: float = 0.0
    # Reordering: a share of deliveries held back this long, so later events overtake them.
    webhook_reorder_share: float = 0.0
    webhook_reorder_seconds: float = 1.0
    # A share of succeeded executions whose first attempt failed: the execution reports
    # attemptIndex 1, and a tool_execution.failed for attempt 0 is delivered after the
    # tool_execution.succeeded, once that one's first attempt is over (deterministic order).
    webhook_stale_failure_share: float = 0.0
    # How long after a kept (non-temporary) image is made its analysis (description) is done.
    analysis_seconds: float = 0.5

    def merge(self, changes: Mapping[str, Any]) -> Faults:
        """A copy with `changes` (JSON values) applied; ValueError names the first bad key.

        A group map may be given as one number (every group) or as an object of
        some groups (the others keep their value).
        """
        known = {f.name for f in fields(self)}
        if unknown := sorted(set(changes) - known):
            raise ValueError(
                f"Unknown fault setting(s): {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}."
            )
        updates = {
            key: _VALIDATORS[key](key, value, getattr(self, key)) for key, value in changes.items()
        }
        return replace(self, **updates)

    def to_json(self) -> dict[str, Any]:
        document = asdict(self)
        document["server_error_statuses"] = list(self.server_error_statuses)
        return document


# -- validation of JSON values -------------------------------------------------


def _number(
    key: str, value: Any, *, low: float = 0.0, high: float | None = None, integer: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} must be a number, not {value!r}.")
    if integer and value != int(value):
        raise ValueError(f"{key} must be a whole number, not {value!r}.")
    if value < low or (high is not None and value > high):
        bounds = f"from {low:g} to {high:g}" if high is not None else f"at least {low:g}"
        raise ValueError(f"{key} must be {bounds}, not {value!r}.")
    return int(value) if integer else float(value)


def _seconds(key: str, value: Any, current: Any) -> float:
    return _number(key, value)


def _share(key: str, value: Any, current: Any) -> float:
    return _number(key, value, high=1.0)


def _whole(low: int) -> Callable[[str, Any, Any], float]:
    return lambda key, value, current: _number(key, value, low=low, integer=True)


def _flag(key: str, value: Any, current: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, not {value!r}.")
    return value


def _text(key: str, value: Any, current: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key} must be a non-empty string, not {value!r}.")
    return value


def _statuses(key: str, value: Any, current: Any) -> tuple[int, ...]:
    allowed = ", ".join(map(str, SERVER_ERROR_STATUSES))
    if (
        not isinstance(value, list)
        or not value
        or any(s not in SERVER_ERROR_STATUSES for s in value)
    ):
        raise ValueError(f"{key} must be a non-empty list of {allowed}, not {value!r}.")
    return tuple(int(status) for status in value)


def _group_map(
    groups: tuple[str, ...], item: Callable[[str, Any, Any], float]
) -> Callable[[str, Any, Any], dict[str, float]]:
    def validate(key: str, value: Any, current: dict[str, float]) -> dict[str, float]:
        if not isinstance(value, dict):
            return dict.fromkeys(groups, item(key, value, None))
        if unknown := sorted(set(value) - set(groups)):
            raise ValueError(
                f"{key}: unknown group(s) {', '.join(unknown)}; groups are {', '.join(groups)}."
            )
        return {**current, **{name: item(f"{key}.{name}", v, None) for name, v in value.items()}}

    return validate


def _rate_limits(key: str, value: Any, current: dict[str, Limit]) -> dict[str, Limit]:
    """``"tools=2/0.5,files=9/60"``, or {"tools": "2/0.5"}: the named groups change."""
    if isinstance(value, dict):
        value = ",".join(f"{group}={rule}" for group, rule in value.items())
    if not isinstance(value, str):
        raise ValueError(f"{key} must be text like 'tools=2/0.5', not {value!r}.")
    try:
        return {**current, **parse_rate_limits(value)}
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}.") from None


_VALIDATORS: dict[str, Callable[[str, Any, Any], Any]] = {
    "pending_seconds": _seconds,
    "running_seconds": _seconds,
    "production_addon": _flag,
    "execution_failure_share": _share,
    "execution_failure_code": _text,
    "execution_failure_message": _text,
    "latency_ms": _group_map(GROUPS, _seconds),
    "latency_jitter_ms": _group_map(GROUPS, _seconds),
    "server_error_share": _group_map(GROUPS, _share),
    "server_error_statuses": _statuses,
    "server_error_after_handling_share": _share,
    "rate_limited_share": _group_map(API_GROUPS, _share),
    "rate_limited_retry_after": _whole(0),
    "rate_limits": _rate_limits,
    "rate_limit_retry_after": _flag,
    "download_bytes_per_second": _whole(0),
    "truncated_download_share": _share,
    "truncated_download_fraction": lambda key, value, current: _number(key, value, high=0.99),
    "webhook_drop_share": _share,
    "webhook_delay_seconds": _seconds,
    "webhook_duplicate_share": _share,
    "webhook_reorder_share": _share,
    "webhook_reorder_seconds": _seconds,
    "webhook_stale_failure_share": _share,
    "analysis_seconds": _seconds,
}


# -- the text forms of the CLI and environment ---------------------------------


def parse_group_text(key: str, text: str) -> float | dict[str, float] | None:
    """``"200"`` (every group) or ``"tools=200,files=50"``; None for an empty string."""
    text = text.strip()
    try:
        if not text:
            return None
        if "=" not in text:
            return float(text)
        values = {}
        for part in text.split(","):
            name, _, number = part.partition("=")
            values[name.strip()] = float(number)
        return values
    except ValueError:
        raise ValueError(
            f"{key} must be a number or a list like 'tools=200,files=50', not {text!r}"
        ) from None


def parse_statuses_text(key: str, text: str) -> list[int]:
    """``"500,502,503"``."""
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"{key} must be a list like '500,502,503', not {text!r}") from None


# -- decisions -------------------------------------------------------------------


@dataclass(frozen=True)
class ExecutionPlan:
    """How a new execution will go, decided when it is created."""

    pending_seconds: float
    running_seconds: float
    # Set: the execution fails with this {message, code}, `fail_at` (0..1) into its running phase.
    error: dict[str, str] | None = None
    fail_at: float = 1.0
    # Succeeds only on a second attempt, the first one's failure reported late (a fault).
    stale_failure: bool = False


@dataclass(frozen=True)
class RequestFault:
    delay_seconds: float = 0.0
    error: ApiError | None = None
    # The error replaces the answer after the request was carried out, not instead of it.
    after_handling: bool = False


@dataclass(frozen=True)
class WebhookFate:
    dropped: bool = False
    duplicated: bool = False
    delay_seconds: float = 0.0


NO_FAULT = RequestFault()


class FaultControl:
    """The current `Faults`, and the seeded chance that decides which requests they hit."""

    def __init__(self, initial: Faults, seed: int) -> None:
        self._initial = initial
        self._seed = seed
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self.current = initial

    def update(self, changes: Mapping[str, Any]) -> Faults:
        with self._lock:
            self.current = self.current.merge(changes)
            return self.current

    def reset(self) -> None:
        """Back to the starting settings, and to the start of the seeded sequence."""
        with self._lock:
            self.current = self._initial
            self._random = random.Random(self._seed)

    def chance(self, share: float) -> bool:
        # No draw at 0 or 1: switching one fault fully on or off leaves the others' sequence alone.
        if share <= 0:
            return False
        if share >= 1:
            return True
        with self._lock:
            return self._random.random() < share

    def _uniform(self, low: float, high: float) -> float:
        if high <= low:
            return low
        with self._lock:
            return self._random.uniform(low, high)

    def _choice(self, options: tuple[int, ...]) -> int:
        if len(options) == 1:
            return options[0]
        with self._lock:
            return self._random.choice(options)

    def plan_execution(self) -> ExecutionPlan:
        faults = self.current
        plan = ExecutionPlan(
            faults.pending_seconds,
            faults.running_seconds,
            stale_failure=self.chance(faults.webhook_stale_failure_share),
        )
        if self.chance(faults.execution_failure_share):
            error = {
                "message": faults.execution_failure_message,
                "code": faults.execution_failure_code,
            }
            # Somewhere in the running phase, as a model failing mid-render would.
            plan = replace(plan, error=error, fail_at=self._uniform(0.3, 1.0))
        return plan

    def request_fault(self, group: str | None) -> RequestFault:
        if group is None:
            return NO_FAULT
        faults = self.current
        delay = (
            faults.latency_ms[group] + self._uniform(0.0, faults.latency_jitter_ms[group])
        ) / 1000
        if group in API_GROUPS and self.chance(faults.rate_limited_share[group]):
            retry_after = faults.rate_limited_retry_after
            error = ApiError(
                429,
                "rate_limited",
                "Too many requests: slow down and retry with exponential backoff.",
                {"Retry-After": str(retry_after)} if retry_after else {},
            )
            return RequestFault(delay, error)
        if self.chance(faults.server_error_share[group]):
            status = self._choice(faults.server_error_statuses)
            code, message = _SERVER_ERRORS[status]
            headers = {"Retry-After": "1"} if status == 503 else {}
            after = self.chance(faults.server_error_after_handling_share)
            return RequestFault(delay, ApiError(status, code, message, headers), after)
        return RequestFault(delay)

    def download_shaping(self, size: int) -> tuple[int | None, int | None]:
        """(bytes per second or None, bytes to send before the connection drops or None)."""
        faults = self.current
        truncate_after = None
        if size > 0 and self.chance(faults.truncated_download_share):
            truncate_after = min(size - 1, int(size * faults.truncated_download_fraction))
        return faults.download_bytes_per_second or None, truncate_after

    def webhook_fate(self) -> WebhookFate:
        faults = self.current
        if self.chance(faults.webhook_drop_share):
            return WebhookFate(dropped=True)
        delay = faults.webhook_delay_seconds
        if self.chance(faults.webhook_reorder_share):
            delay += faults.webhook_reorder_seconds
        return WebhookFate(
            duplicated=self.chance(faults.webhook_duplicate_share),
            delay_seconds=delay,
        )
