"""The one exception the sandbox raises to answer with an API error.

Anything that raises `ApiError` becomes the body ``{"message", "code"}`` that
VideoGen sends, with the given HTTP status.
"""

from __future__ import annotations

from collections.abc import Mapping


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self) -> dict[str, str]:
        return {"message": self.message, "code": self.code}


def invalid_parameters(message: str) -> ApiError:
    return ApiError(400, "invalid_parameters", message)


def invalid_id(message: str) -> ApiError:
    return ApiError(400, "invalid_id", message)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def forbidden(code: str, message: str) -> ApiError:
    return ApiError(403, code, message)
