"""Errors raised by the VideoGen client, one class per error class of the API.

`transient` says whether trying again later can help; Celery tasks retry on
exactly those (`autoretry_for` the transient classes, or check the flag).
"""

from __future__ import annotations

from typing import ClassVar

from .assumptions import FILE_GONE_STATUSES


class VideoGenError(Exception):
    """An error answered by VideoGen (or met on the way to it)."""

    transient: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        # The group's X-RateLimit-* on the answer that carried this error, if any.
        self.rate_limit = None

    def __str__(self) -> str:
        details = [
            f"{name}={value}"
            for name, value in (
                ("status", self.status),
                ("code", self.code),
                ("request_id", self.request_id),
            )
            if value is not None
        ]
        if not details:
            return self.message
        return f"{self.message} ({', '.join(details)})"


class InvalidParametersError(VideoGenError):
    """400: the request was malformed (`invalid_parameters`, `invalid_id`)."""


class AuthenticationError(VideoGenError):
    """401: missing or wrong API key."""


class ForbiddenError(VideoGenError):
    """403: not allowed, e.g. `watermarkMode: NONE` without the Production add-on."""


class NotFoundError(VideoGenError):
    """404: no such execution or file."""


class RateLimitedError(VideoGenError):
    """429 (or held back before sending): `retry_after` is how many seconds to wait,
    from Retry-After if VideoGen sent one, else until X-RateLimit-Reset, else a
    backoff that doubles with each 429 in a row."""

    transient: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code, request_id=request_id)
        self.retry_after = retry_after


class ServerError(VideoGenError):
    """5xx: VideoGen failed; retry only where retrying is safe."""

    transient: ClassVar[bool] = True


class ApiConnectionError(VideoGenError):
    """No HTTP answer: connect error, timeout, or a dropped connection.

    `request_sent` is False only when the request certainly never reached the
    server (connect error, connect or pool timeout). When True, a POST may
    have started work on VideoGen's side: find out before sending it again.
    """

    transient: ClassVar[bool] = True

    def __init__(self, message: str, *, request_sent: bool) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class DownloadError(VideoGenError):
    """A download that cannot be trusted: truncated, or larger than allowed.

    A truncated download is worth another try; one that is too large is not.
    """

    TRUNCATED: ClassVar[str] = "truncated"
    TOO_LARGE: ClassVar[str] = "too_large"

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        expected_bytes: int | None = None,
        received_bytes: int | None = None,
    ) -> None:
        super().__init__(message, code=reason)
        self.reason = reason
        self.expected_bytes = expected_bytes
        self.received_bytes = received_bytes

    @property
    def transient(self) -> bool:  # type: ignore[override]
        return self.reason == self.TRUNCATED


ERRORS_BY_STATUS: dict[int, type[VideoGenError]] = {
    400: InvalidParametersError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    429: RateLimitedError,
}


def error_class_for_status(status: int) -> type[VideoGenError]:
    if status in ERRORS_BY_STATUS:
        return ERRORS_BY_STATUS[status]
    if status >= 500:
        return ServerError
    return VideoGenError


def may_be_file_gone(error: VideoGenError) -> bool:
    """Whether VideoGen's refusal may mean that a file the call names is gone (a
    temporary file archived after its 24 hours). No code for it is published, so
    the status is all there is (FILE_GONE_STATUSES); the call was refused, so
    nothing was started."""
    return error.status in FILE_GONE_STATUSES
