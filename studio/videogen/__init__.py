"""The VideoGen API client: the only code in Studio that talks to VideoGen."""

from __future__ import annotations

import functools

from .client import (
    ASPECT_RATIOS,
    SOURCE_FIELDS,
    WATERMARK_MODES,
    VideoGenClient,
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
    LocalRateLimiter,
    RateLimiter,
    RateLimitInfo,
    RedisRateLimiter,
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
    "aspect_ratio_payload",
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
    )


@functools.lru_cache(maxsize=8)
def _shared_client(
    base_url: str, api_key: str, timeout: float, rate_limits: str, redis_url: str, prefix: str
) -> VideoGenClient:
    limiter = _rate_limiter(base_url, api_key, rate_limits, redis_url, prefix)
    return VideoGenClient(
        base_url=base_url, api_key=api_key, timeout=timeout, rate_limiter=limiter
    )


def _rate_limiter(base_url, api_key, rate_limits, redis_url, prefix) -> RateLimiter | None:
    """Shared through Redis when there is one; per process on the embedded default."""
    limits = parse_limits(rate_limits)
    if not limits:
        return None
    if not redis_url:
        return LocalRateLimiter(limits)
    import redis

    connection = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    namespace = f"{prefix}videogen-rate:{scope_for(base_url, api_key)}"
    return RedisRateLimiter(connection, limits, namespace=namespace)
