"""The VideoGen API client: the only code in Studio that talks to VideoGen."""

from __future__ import annotations

import functools

from .client import (
    ASPECT_RATIOS,
    SOURCE_FIELDS,
    WATERMARK_MODES,
    VideoGenClient,
    add_call_observer,
    aspect_ratio_payload,
)
from .errors import (
    ApiConnectionError,
    AuthenticationError,
    DownloadError,
    ForbiddenError,
    InvalidParametersError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    VideoGenError,
)
from .ratelimit import (
    BudgetState,
    Limit,
    LocalRateLimiter,
    RateLimiter,
    RateLimitInfo,
    RedisRateLimiter,
    SqliteRateLimiter,
    parse_limits,
    scope_for,
)
from .types import (
    TERMINAL_STATUSES,
    ApiErrorInfo,
    Execution,
    ExecutionPage,
    ExecutionResult,
    FileObject,
    FileSource,
    SearchHit,
    Upload,
)

__all__ = [
    "ASPECT_RATIOS",
    "TERMINAL_STATUSES",
    "WATERMARK_MODES",
    "ApiConnectionError",
    "ApiErrorInfo",
    "AuthenticationError",
    "DownloadError",
    "Execution",
    "ExecutionPage",
    "ExecutionResult",
    "FileObject",
    "FileSource",
    "ForbiddenError",
    "InvalidParametersError",
    "NotFoundError",
    "RateLimitInfo",
    "RateLimitedError",
    "SOURCE_FIELDS",
    "SearchHit",
    "ServerError",
    "Upload",
    "VideoGenClient",
    "VideoGenError",
    "BudgetState",
    "Limit",
    "aspect_ratio_payload",
    "add_call_observer",
    "budget_from_settings",
    "client_from_settings",
]


def client_from_settings() -> VideoGenClient:
    """The process's client for the configured API (Django settings are read here,
    so the rest of the package stays Django-free). One per configuration, so
    its connection pool is reused by every task the process runs."""
    from django.conf import settings

    return _shared_client(
        settings.VIDEOGEN_BASE_URL,
        settings.VIDEOGEN_API_KEY,
        settings.VIDEOGEN_TIMEOUT,
        # Pacing is optional: settings without it (a script, a test) get none.
        getattr(settings, "STUDIO_RATE_LIMITS", ""),
        getattr(settings, "REDIS_URL", ""),
        getattr(settings, "REDIS_KEY_PREFIX", ""),
        _budget_path(settings),
    )


def budget_from_settings() -> RateLimiter | None:
    """The key's shared budget, as the workers see it (the pages read it too)."""
    return client_from_settings().budget


def _budget_path(settings) -> str:
    """Without Redis, the budget lives in the embedded broker's file."""
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}
    return str(options.get("path") or "")


@functools.lru_cache(maxsize=8)
def _shared_client(
    base_url: str, api_key: str, timeout: float, rate_limits: str, redis_url: str, prefix: str,
    budget_path: str = "",
) -> VideoGenClient:
    limiter = _rate_limiter(base_url, api_key, rate_limits, redis_url, prefix, budget_path)
    return VideoGenClient(
        base_url=base_url, api_key=api_key, timeout=timeout, rate_limiter=limiter
    )


def _rate_limiter(
    base_url, api_key, rate_limits, redis_url, prefix, budget_path=""
) -> RateLimiter | None:
    """Shared through Redis when there is one, else through the embedded broker's
    SQLite file; per process only when neither is configured (a script)."""
    limits = parse_limits(rate_limits)
    if not limits:
        return None
    namespace = f"{prefix}videogen-rate:{scope_for(base_url, api_key)}"
    if redis_url:
        import redis

        connection = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        return RedisRateLimiter(connection, limits, namespace=namespace)
    if budget_path:
        return SqliteRateLimiter(budget_path, limits, namespace=namespace)
    return LocalRateLimiter(limits)
