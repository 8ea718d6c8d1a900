"""The HTTP side: a threading server that routes requests to the endpoints in `api`.

Every answer carries an ``x-request-id`` header, and every failure is the
JSON body ``{"message", "code"}``, as from the real API. One log line per
request goes to the ``studio.sandbox`` logger.

A request goes: route, API key (or admin token), rate limit of its group,
injected latency and errors of its group (faults.py), then the endpoint.
Rate-limit headers go on every answer of a limited group, errors included.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import signal
import socket
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import admin, webhooks_api  # noqa: F401 - their endpoints register on the router
from .api import Sandbox, router
from .config import SandboxConfig
from .errors import ApiError
from .faults import API_GROUPS, RequestFault
from .ratelimit import format_rate_limits
from .web import Request, Response, Route, error_response

logger = logging.getLogger("studio.sandbox")


class ExposureRefused(Exception):
    """The configuration would expose the default API key beyond this machine."""


class SandboxServer(ThreadingHTTPServer):
    # Handler threads must not keep the process alive on shutdown, and a burst
    # of parallel test workers must not overflow the listen backlog.
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, config: SandboxConfig) -> None:
        self.app = Sandbox(config)
        # On a failed bind, TCPServer calls server_close, which closes the app too.
        super().__init__((config.host, config.port), SandboxRequestHandler)
        if not config.public_url:
            host = self.server_address[0]
            # A wildcard address is no place to send anyone: name this machine instead.
            host = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)
            self.app.public_url = f"http://{host}:{self.server_address[1]}"

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def server_close(self) -> None:
        super().server_close()
        self.app.close()

    def stop(self) -> None:
        """Stop serving (when running in another thread) and release the socket."""
        self.shutdown()
        self.server_close()


class SandboxRequestHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive, as clients with connection pools expect.
    protocol_version = "HTTP/1.1"
    server_version = "VideoGenSandbox/1"
    server: SandboxServer
    # Whether this request's body was consumed; if not, the connection cannot be reused.
    _body_read = False

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; with Nagle's algorithm the body would
        # wait for the client's delayed ACK of the headers, some 40 ms a request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _handle(self) -> None:
        started = time.perf_counter()
        request_id = "req_" + secrets.token_hex(12)
        path, _, query_string = self.path.partition("?")
        self._body_read = False
        app = self.server.app
        limit_headers: dict[str, str] = {}
        # The counters are of API traffic, not of the tests' own calls to /_admin.
        counted = not path.startswith("/_admin/")
        try:
            route, path_params = router.match(self.command, path)
            if route.admin:
                self._authenticate_admin()
            else:
                app.stats.count("requests", f"{route.method} {route.template}")
            if route.authenticated:
                api_key = self._authenticate()
                if route.group in API_GROUPS:
                    limit_headers = self._check_rate_limit(api_key, route.group)
            fault = app.faults.request_fault(route.group)
            self._inject(fault)
            request = Request(
                method=self.command,
                path=path,
                query_string=query_string,
                headers=self.headers,
                body=self._read_body(route),
                base_url=self._base_url(),
                path_params=path_params,
            )
            response = route.handler(app, request)
            if fault.error is not None and fault.after_handling:
                response = error_response(fault.error)  # the work is done, the answer lost
        except ApiError as error:
            response = error_response(error)
        except Exception:
            logger.exception("%s %s failed (%s)", self.command, path, request_id)
            response = error_response(
                ApiError(
                    500,
                    "internal_error",
                    f"The sandbox failed on this request; its log has {request_id}.",
                )
            )
        if limit_headers:
            response = replace(response, headers={**limit_headers, **response.headers})
        if counted:
            app.stats.count("responses", str(response.status))
        self._send(response, request_id)
        elapsed_ms = (time.perf_counter() - started) * 1000
        # The query string is left out: it holds the signatures of storage URLs.
        logger.info(
            '%s "%s %s" %d %.1fms %s',
            self.client_address[0],
            self.command,
            path,
            response.status,
            elapsed_ms,
            request_id,
        )

    def _check_rate_limit(self, api_key: str, group: str) -> dict[str, str]:
        """The group's rate-limit headers; a 429 carrying them when over the limit."""
        app = self.server.app
        verdict = app.check_rate_limit(api_key, group)
        headers = verdict.headers()
        if not verdict.allowed:
            # The reference mentions no Retry-After: X-RateLimit-Reset says when to come back.
            extra = {}
            if app.faults.current.rate_limit_retry_after:
                extra = {"Retry-After": str(verdict.retry_after)}
            raise ApiError(
                429,
                "rate_limited",
                f"Rate limit of {verdict.limit} requests exceeded for {group} endpoints; "
                "the window resets at X-RateLimit-Reset.",
                {**headers, **extra},
            )
        return headers

    def _inject(self, fault: RequestFault) -> None:
        """Sleep the latency, count the fault, raise its error (unless it comes after handling)."""
        stats = self.server.app.stats
        if fault.delay_seconds > 0:
            stats.count("injected", "latency")
            time.sleep(fault.delay_seconds)
        if fault.error is None:
            return
        kind = "rate_limited" if fault.error.status == 429 else "server_error"
        stats.count("injected", kind + ("_after_handling" if fault.after_handling else ""))
        if not fault.after_handling:
            raise fault.error

    def _base_url(self) -> str:
        # The address the client used, so signed URLs work through port mappings and proxies.
        host = self.headers.get("Host")
        return f"http://{host}" if host else self.server.base_url

    def _authenticate(self, expected: str | None = None) -> str:
        """The API key sent (checked against `expected`, by default the sandbox's key)."""
        scheme, _, key = (self.headers.get("Authorization") or "").strip().partition(" ")
        key = key.strip()
        challenge = {"WWW-Authenticate": 'Bearer realm="VideoGen sandbox"'}
        if not scheme or (scheme.lower() == "bearer" and not key):
            raise ApiError(
                401,
                "missing_api_key",
                "No API key was sent: use the header 'Authorization: Bearer <api key>'.",
                challenge,
            )
        expected = expected or self.server.app.config.api_key
        if scheme.lower() != "bearer" or not hmac.compare_digest(key.encode(), expected.encode()):
            raise ApiError(
                401, "invalid_api_key", "The API key is not valid for this account.", challenge
            )
        return key

    def _authenticate_admin(self) -> None:
        # With an admin token, the API key alone cannot change faults.
        self._authenticate(self.server.app.config.admin_token or None)

    def _read_body(self, route: Route) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise ApiError(
                411,
                "length_required",
                "Send the body with a Content-Length; chunked bodies are not accepted.",
            )
        raw_length = self.headers.get("Content-Length", "0").strip()
        if not raw_length.isdecimal():
            raise ApiError(
                400, "invalid_parameters", f"Content-Length {raw_length!r} is not a number."
            )
        length = int(raw_length)
        if length > route.max_body_bytes:
            limit_mb = route.max_body_bytes / (1024 * 1024)
            raise ApiError(
                413,
                "payload_too_large",
                f"The body is {length} bytes; the limit here is {limit_mb:g} MB.",
            )
        body = self.rfile.read(length)
        self._body_read = True
        if len(body) != length:
            raise ApiError(
                400, "invalid_parameters", "The connection closed before the whole body arrived."
            )
        return body

    def _has_body(self) -> bool:
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        return chunked or self.headers.get("Content-Length", "0").strip() not in ("", "0")

    def _send(self, response: Response, request_id: str) -> None:
        # A body we did not read would be taken for the next request on this connection.
        if not self._body_read and self._has_body():
            self.close_connection = True
        try:
            self.send_response(response.status)
            self.send_header("x-request-id", request_id)
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            if response.status != 204:  # a 204 has neither body nor length
                self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if response.status != 204:
                self._write_body(response)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client left; nothing to tell it

    def _write_body(self, response: Response) -> None:
        body = response.body
        if response.truncate_after is not None:
            body = body[: response.truncate_after]
            # Closing after fewer bytes than Content-Length announced: the client sees the break.
            self.close_connection = True
        rate = response.bytes_per_second
        if not rate:
            self.wfile.write(body)
            return
        # Twenty writes a second keep a throttled download smooth without busy-looping.
        chunk = max(1, rate // 20)
        for offset in range(0, len(body), chunk):
            piece = body[offset : offset + chunk]
            self.wfile.write(piece)
            time.sleep(len(piece) / rate)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # `_handle` logs each request itself, with timing and request id

    def log_message(self, format: str, *args: object) -> None:
        # Protocol-level errors from http.server (malformed request lines and the like).
        logger.warning("%s %s", self.client_address[0], format % args)


def start_in_thread(config: SandboxConfig) -> tuple[SandboxServer, str]:
    """Serve in a daemon thread, for in-process use; stop with ``server.stop()``.

    Give ``port=0`` to get a free port; the returned base URL has the real one.
    """
    server = SandboxServer(config)
    thread = threading.Thread(target=server.serve_forever, name="videogen-sandbox", daemon=True)
    thread.start()
    return server, server.base_url


def serve(config: SandboxConfig) -> None:
    """Serve in the foreground until SIGTERM or Ctrl-C."""
    if (problem := config.network_exposure_problem()) is not None:
        raise ExposureRefused(problem)
    server = SandboxServer(config)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # leaves serve_forever in the main thread

    signal.signal(signal.SIGTERM, stop)
    faults = server.app.faults.current
    logger.info(
        "VideoGen sandbox listening on %s "
        "(pending %gs, running %gs, production add-on %s, URL TTL %gs, "
        "rate limits %s, seed %d%s)",
        server.base_url,
        config.pending_seconds,
        config.running_seconds,
        "on" if config.production_addon else "off",
        config.url_ttl_seconds,
        format_rate_limits(faults.rate_limits),
        config.seed,
        ", manual clock" if config.manual_clock else "",
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        logger.info("Shutting down")
    finally:
        server.server_close()
