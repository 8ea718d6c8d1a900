"""The VideoGen API client: the only code in Studio that talks to VideoGen."""

from __future__ import annotations

from .client import (
    ASPECT_RATIOS,
    IMAGE_SOURCE_FIELD,
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
from .types import (
    TERMINAL_STATUSES,
    ApiErrorInfo,
    Execution,
    ExecutionPage,
    ExecutionResult,
    FileObject,
    FileSource,
    Upload,
)

__all__ = [
    "ASPECT_RATIOS",
    "IMAGE_SOURCE_FIELD",
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
    "RateLimitedError",
    "ServerError",
    "Upload",
    "VideoGenClient",
    "VideoGenError",
    "aspect_ratio_payload",
    "client_from_settings",
]


def client_from_settings() -> VideoGenClient:
    """A client built from Django settings, imported here so the package stays Django-free."""
    from django.conf import settings

    return VideoGenClient(
        base_url=settings.VIDEOGEN_BASE_URL,
        api_key=settings.VIDEOGEN_API_KEY,
        timeout=settings.VIDEOGEN_TIMEOUT,
    )
