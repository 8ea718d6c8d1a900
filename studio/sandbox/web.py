"""Request, response and routing: the small web framework the endpoints are written in.

Kept apart from `server.py` so that endpoints are plain functions of a
`Request`, free of `http.server` details.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from .errors import ApiError, invalid_parameters

KB = 1024
MB = 1024 * KB


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]
    body: bytes
    # Scheme and authority the client used to reach us, for absolute URLs in answers.
    base_url: str
    path_params: Mapping[str, str] = field(default_factory=dict)

    def query(self, name: str) -> str | None:
        """The last value of a query parameter, or None when absent."""
        values = parse_qs(self.query_string, keep_blank_values=True).get(name)
        return values[-1] if values else None

    def json(self) -> Any:
        if not self.body.strip():
            raise invalid_parameters("The request body must be a JSON object, and it is empty.")
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise invalid_parameters(f"The request body is not valid JSON: {exc}.") from None


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # Download faults: send the body at this rate, or drop the connection after this many bytes
    # (Content-Length still announces the whole body, as when storage breaks off mid-way).
    bytes_per_second: int | None = None
    truncate_after: int | None = None


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(status, body, "application/json; charset=utf-8", headers or {})


def error_response(error: ApiError) -> Response:
    return json_response(error.status, error.body(), error.headers)


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler
    # Storage URLs carry their own signature instead of an API key.
    authenticated: bool
    max_body_bytes: int
    # The endpoint group that rate limits and faults are set for (faults.GROUPS); None: neither.
    group: str | None = None
    # The sandbox's own /_admin endpoints: the admin token (or the API key) instead of the key.
    admin: bool = False


class Router:
    def __init__(self) -> None:
        self._routes: list[Route] = []

    def route(
        self,
        method: str,
        template: str,
        *,
        authenticated: bool = True,
        max_body_bytes: int = 1 * MB,
        group: str | None = None,
        admin: bool = False,
    ) -> Callable[[Handler], Handler]:
        """Register the decorated function for `method` on `template`.

        ``{name}`` in the template matches one path segment, passed on as a path param.
        """
        pattern = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")

        def register(handler: Handler) -> Handler:
            self._routes.append(
                Route(
                    method,
                    template,
                    pattern,
                    handler,
                    authenticated and not admin,
                    max_body_bytes,
                    group,
                    admin,
                )
            )
            return handler

        return register

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed = []
        for route in self._routes:
            found = route.pattern.match(path)
            if found is None:
                continue
            if route.method == method:
                return route, found.groupdict()
            allowed.append(route.method)
        if allowed:
            raise ApiError(
                405,
                "method_not_allowed",
                f"{method} is not allowed on {path}; use {' or '.join(allowed)}.",
                headers={"Allow": ", ".join(allowed)},
            )
        raise ApiError(404, "not_found", f"There is no endpoint {method} {path}.")
