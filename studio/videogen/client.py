"""Studio's one HTTP client for the VideoGen API.

Plain arguments in, typed results out; no Django here, so workers and tests
can build it directly. Retries are short and bounded: Celery tasks do the
long waits by re-scheduling themselves.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit

import httpx

from .assumptions import (
    ASPECT_RATIO_FIELDS,
    REMOVE_BACKGROUND_SOURCE_FIELD,
    UPSCALE_SOURCE_FIELD,
)
from .errors import (
    ApiConnectionError,
    DownloadError,
    RateLimitedError,
    VideoGenError,
    error_class_for_status,
)
from .ratelimit import (
    DEFAULT_PAUSE_SECONDS,
    MAX_BACKOFF_SECONDS,
    RateLimiter,
    RateLimitInfo,
    group_for,
)
from .types import Execution, ExecutionPage, FileObject, SearchHit, Upload

logger = logging.getLogger("studio.videogen")

ASPECT_RATIOS = ("1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "21:9")
WATERMARK_MODES = ("AUTO", "VIDEO_GEN", "NONE")

# The source-file field of each sibling image tool: vectorize-image's is on its
# reference page; the other two are guesses (assumptions.py).
VECTORIZE_SOURCE_FIELD = "imageStorageFileId"
SOURCE_FIELDS = {
    "upscale-image": UPSCALE_SOURCE_FIELD,
    "remove-image-background": REMOVE_BACKGROUND_SOURCE_FIELD,
    "vectorize-image": VECTORIZE_SOURCE_FIELD,
}

# One wait per retry: two retries at most, after 0.2 s and then 0.5 s.
RETRY_DELAYS = (0.2, 0.5)
# A longer Retry-After is left to the caller, who re-schedules instead of waiting.
MAX_RETRY_AFTER = 2.0
CONNECT_TIMEOUT = 5.0

# Errors that prove the request never left this machine.
_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

_sleep = time.sleep  # module-level so tests can replace it

# Told of every answer of a limited endpoint group: (group, HTTP status). The
# generations app records them per hour, team and member (the API budget page).
_call_observers: list[Callable[[str, int], None]] = []


def add_call_observer(observer: Callable[[str, int], None]) -> None:
    if observer not in _call_observers:
        _call_observers.append(observer)


def aspect_ratio_payload(ratio: str) -> dict[str, int]:
    """The wire shape of an aspect ratio, "16:9" -> {"width": 16, "height": 9}.

    VideoGen does not publish the object's fields: ASPECT_RATIO_FIELDS guesses them.
    """
    width, _, height = ratio.partition(":")
    if not (width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise ValueError(f"aspect ratio must look like '16:9', not {ratio!r}")
    width_field, height_field = ASPECT_RATIO_FIELDS
    return {width_field: int(width), height_field: int(height)}


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def rate_limit_wait(
    *, retry_after: float | None, info: RateLimitInfo | None, refusals: int, now: float
) -> float:
    """How long a 429 asks us to wait.

    The reference advises backing off and names X-RateLimit-Reset as the moment
    the window opens; it never mentions Retry-After, which is honoured first if
    one comes anyway. Otherwise, with the window spent, wait until its reset;
    else back off exponentially: 1 s, 2 s, 4 s, ... for the 1st, 2nd, 3rd 429
    in a row.
    """
    if retry_after is not None:
        return retry_after
    # Only a spent window is waited out to its reset; a 429 while requests remain
    # is some other refusal, and an hour's wait would be far too long for it.
    spent = info is not None and (info.remaining is None or info.remaining <= 0)
    reset = info.seconds_to_reset(now) if spent else None
    if reset is not None:
        # The reset is a whole second: wait into it, not up to its edge.
        return reset + 0.5 if reset > 0 else DEFAULT_PAUSE_SECONDS
    return min(MAX_BACKOFF_SECONDS, DEFAULT_PAUSE_SECONDS * 2 ** max(0, refusals - 1))


def retry_delay(error: VideoGenError, *, attempt: int, safe_to_retry: bool) -> float | None:
    """How long to wait before trying again, or None to give up now.

    The retry rule of the whole client:
    - a request that certainly never reached VideoGen may always be sent again;
    - anything else only when the call is safe to repeat (reads, hydrate,
      cancel) and the error is transient (5xx, 429, timeouts, dropped links);
    - a tool POST is never repeated after a read timeout or a 5xx: it may
      already have started paid work.
    """
    if attempt >= len(RETRY_DELAYS):
        return None
    if isinstance(error, ApiConnectionError) and not error.request_sent:
        return RETRY_DELAYS[attempt]
    if not (safe_to_retry and error.transient):
        return None
    if isinstance(error, RateLimitedError) and error.retry_after is not None:
        # Short waits here; a longer one is the caller's, who re-schedules.
        return error.retry_after if error.retry_after <= MAX_RETRY_AFTER else None
    return RETRY_DELAYS[attempt]


class VideoGenClient:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        client_id: str = "studio",
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        # Shared by every worker (ratelimit.py); None: calls are not paced here.
        self._limiter = rate_limiter
        # The latest X-RateLimit-* seen per endpoint group, and 429s in a row.
        self._rate_limits: dict[str, RateLimitInfo] = {}
        self._refusals: dict[str, int] = {}
        self._last_rate_limit: RateLimitInfo | None = None
        self._clock = time.time
        timeouts = httpx.Timeout(timeout, connect=CONNECT_TIMEOUT)
        self._api = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeouts,
            transport=transport,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "X-VideoGen-Client": client_id,
            },
        )
        # Signed storage URLs carry their own authorisation: never send the key there.
        self._storage = httpx.Client(timeout=timeouts, transport=transport, follow_redirects=True)

    def close(self) -> None:
        self._api.close()
        self._storage.close()

    def __enter__(self) -> VideoGenClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Tools: each POST starts paid work and answers the execution's id.

    def generate_image(
        self,
        *,
        prompt: str,
        image_file_ids: Sequence[str] = (),
        aspect_ratio: str = "16:9",
        watermark_mode: str = "AUTO",
        num_results: int = 1,
        is_output_temporary: bool = False,
        budget_reserved: bool = False,
    ) -> str:
        """budget_reserved: the dispatcher already took this call from the budget."""
        body: dict[str, Any] = {
            "prompt": prompt,
            "aspectRatio": aspect_ratio_payload(aspect_ratio),
            "watermarkMode": watermark_mode,
            "numResults": num_results,
            "isOutputTemporary": is_output_temporary,
        }
        if image_file_ids:
            body["imageFileIds"] = list(image_file_ids)
        return self._start_tool("generate-image", body, budget_reserved)

    def upscale_image(
        self,
        *,
        image_file_id: str,
        watermark_mode: str = "AUTO",
        num_results: int = 1,
        is_output_temporary: bool = False,
        budget_reserved: bool = False,
    ) -> str:
        return self._start_image_tool(
            "upscale-image", image_file_id, watermark_mode, num_results, is_output_temporary,
            budget_reserved,
        )

    def remove_image_background(
        self,
        *,
        image_file_id: str,
        watermark_mode: str = "AUTO",
        num_results: int = 1,
        is_output_temporary: bool = False,
        budget_reserved: bool = False,
    ) -> str:
        return self._start_image_tool(
            "remove-image-background",
            image_file_id,
            watermark_mode,
            num_results,
            is_output_temporary,
            budget_reserved,
        )

    def vectorize_image(
        self,
        *,
        image_file_id: str,
        watermark_mode: str = "AUTO",
        num_results: int = 1,
        is_output_temporary: bool = False,
        budget_reserved: bool = False,
    ) -> str:
        return self._start_image_tool(
            "vectorize-image", image_file_id, watermark_mode, num_results, is_output_temporary,
            budget_reserved,
        )

    # Executions

    def get_execution(self, execution_id: str) -> Execution:
        data = self._request(
            "GET", f"/v1/tools/executions/{_segment(execution_id)}", safe_to_retry=True
        )
        return Execution.from_wire(data)

    def cancel_execution(self, execution_id: str) -> str:
        """Ask for cancellation; VideoGen answers only the id ("request accepted"):
        the status comes from the next GET or the webhook."""
        # Cancelling twice changes nothing, so a retry is harmless.
        path = f"/v1/tools/executions/{_segment(execution_id)}/cancel"
        data = self._request("POST", path, safe_to_retry=True)
        answered = data.get("toolExecutionId") if isinstance(data, Mapping) else None
        return answered if isinstance(answered, str) and answered else execution_id

    def list_executions(
        self, *, limit: int = 20, cursor: str | None = None, self_only: bool | None = None
    ) -> ExecutionPage:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        if self_only is not None:
            params["selfOnly"] = self_only
        data = self._request("GET", "/v1/tools/executions", params=params, safe_to_retry=True)
        return ExecutionPage.from_wire(data)

    # Webhook endpoints

    def create_webhook_endpoint(
        self, *, url: str, events: Sequence[str], description: str = ""
    ) -> dict[str, Any]:
        """Returns the endpoint with its `signingSecret`, which VideoGen shows only once."""
        body = {"url": url, "events": list(events), "description": description}
        data = self._request("POST", "/v1/webhooks/endpoints", json=body, safe_to_retry=False)
        if not isinstance(data, Mapping) or not data.get("signingSecret"):
            raise VideoGenError("VideoGen created a webhook endpoint but sent no signing secret.")
        return dict(data)

    def list_webhook_endpoints(self) -> list[dict[str, Any]]:
        """Every endpoint, page by page (`{endpoints, hasMore, nextCursor}`)."""
        endpoints: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params = {"cursor": cursor} if cursor else None
            data = self._request(
                "GET", "/v1/webhooks/endpoints", params=params, safe_to_retry=True
            )
            if not isinstance(data, Mapping):
                return endpoints
            endpoints += [dict(e) for e in data.get("endpoints") or [] if isinstance(e, Mapping)]
            cursor = data.get("nextCursor") if data.get("hasMore") else None
            if not isinstance(cursor, str) or not cursor:
                return endpoints

    def delete_webhook_endpoint(self, endpoint_id: str) -> None:
        path = f"/v1/webhooks/endpoints/{_segment(endpoint_id)}"
        self._request("DELETE", path, safe_to_retry=True)

    # Files

    def create_upload(
        self, *, display_name: str, is_temporary: bool = False, type: str | None = "IMAGE"
    ) -> Upload:
        body: dict[str, Any] = {"displayName": display_name, "isTemporary": is_temporary}
        if type is not None:
            body["type"] = type
        upload = Upload.from_wire(
            self._request("POST", "/v1/files/upload", json=body, safe_to_retry=False)
        )
        if not (upload.file_id and upload.upload_url):
            raise VideoGenError("VideoGen answered an upload without fileId or uploadUrl.")
        return upload

    def put_upload(
        self, upload_url: str, data: bytes | BinaryIO, *, content_type: str | None = None
    ) -> None:
        """PUT the bytes to the signed upload URL (a PUT may be repeated)."""
        headers = {"Content-Type": content_type} if content_type else {}
        if isinstance(data, (bytes, bytearray, memoryview)):
            body = bytes(data)

            def send() -> httpx.Response:
                return self._storage.put(upload_url, content=body, headers=headers)

            safe_to_retry = True
        else:
            stream = data
            start = stream.tell() if stream.seekable() else None

            def send() -> httpx.Response:
                if start is not None:
                    stream.seek(start)
                # httpx reads the file in chunks and sends its length.
                return self._storage.put(upload_url, content=stream, headers=headers)

            safe_to_retry = start is not None
        response = self._send(
            send, method="PUT", path=_loggable(upload_url), safe_to_retry=safe_to_retry
        )
        response.close()

    def search_files(
        self, *, query: str, num_results: int = 10, self_only: bool = False
    ) -> tuple[SearchHit, ...]:
        """Files whose description matches `query`, best first (temporary files never)."""
        body = {"query": query, "numResults": num_results, "selfOnly": self_only}
        data = self._request("POST", "/v1/files/search", json=body, safe_to_retry=True)
        hits = data.get("results") if isinstance(data, Mapping) else None
        return tuple(SearchHit.from_wire(h) for h in hits or () if isinstance(h, Mapping))

    def rate_limit(self, group: str) -> RateLimitInfo | None:
        """What VideoGen last said of `group`'s hourly limit (X-RateLimit-*), if anything."""
        return self._rate_limits.get(group)

    @property
    def budget(self) -> RateLimiter | None:
        """The shared budget this client draws from (None: calls are not paced)."""
        return self._limiter

    @property
    def last_rate_limit(self) -> RateLimitInfo | None:
        """The X-RateLimit-* of the latest API answer, whatever its group."""
        return self._last_rate_limit

    def get_file(self, file_id: str) -> FileObject:
        """The file without signed URLs; use hydrate_file for those."""
        return FileObject.from_wire(
            self._request("GET", f"/v1/files/{_segment(file_id)}", safe_to_retry=True)
        )

    def hydrate_file(self, file_id: str) -> FileObject:
        """The file with fresh signed URLs (a POST, but it only reads)."""
        path = f"/v1/files/{_segment(file_id)}/hydrate"
        return FileObject.from_wire(self._request("POST", path, safe_to_retry=True))

    def stream_download(
        self, url: str, *, chunk_size: int = 64 * 1024, max_bytes: int | None = None
    ) -> Iterator[bytes]:
        """Yield the bytes behind a signed URL, chunk by chunk.

        Nothing is sent until the first chunk is asked for. Opening the
        download is retried like any read; a download broken half-way raises
        DownloadError (truncated), and so does one larger than max_bytes.
        """
        path = _loggable(url)

        def send() -> httpx.Response:
            return self._storage.send(self._storage.build_request("GET", url), stream=True)

        response = self._send(send, method="GET", path=path, safe_to_retry=True)
        try:
            expected = _int_header(response.headers.get("Content-Length"))
            if max_bytes is not None and expected is not None and expected > max_bytes:
                raise self._download_error(
                    path,
                    f"the file is {expected} bytes, more than {max_bytes}",
                    DownloadError.TOO_LARGE,
                    expected=expected,
                )
            received = 0
            try:
                for chunk in response.iter_bytes(chunk_size):
                    received += len(chunk)
                    if max_bytes is not None and received > max_bytes:
                        raise self._download_error(
                            path,
                            f"the file is more than {max_bytes} bytes",
                            DownloadError.TOO_LARGE,
                            expected=expected,
                            received=received,
                        )
                    yield chunk
            except httpx.TransportError as exc:
                on_wire = response.num_bytes_downloaded
                raise self._download_error(
                    path,
                    f"the connection broke after {on_wire} bytes ({exc!r})",
                    DownloadError.TRUNCATED,
                    expected=expected,
                    received=on_wire,
                ) from exc
            # Content-Length counts the bytes on the wire, before any decoding.
            encoded = response.headers.get("Content-Encoding", "identity") != "identity"
            on_wire = response.num_bytes_downloaded if encoded else received
            if expected is not None and on_wire != expected:
                raise self._download_error(
                    path,
                    f"received {on_wire} of {expected} bytes",
                    DownloadError.TRUNCATED,
                    expected=expected,
                    received=on_wire,
                )
        finally:
            response.close()

    # Internals

    def _start_image_tool(
        self,
        tool: str,
        image_file_id: str,
        watermark_mode: str,
        num_results: int,
        is_output_temporary: bool,
        budget_reserved: bool = False,
    ) -> str:
        body = {
            SOURCE_FIELDS[tool]: image_file_id,
            "watermarkMode": watermark_mode,
            "numResults": num_results,
            "isOutputTemporary": is_output_temporary,
        }
        return self._start_tool(tool, body, budget_reserved)

    def _start_tool(self, tool: str, body: dict[str, Any], budget_reserved: bool = False) -> str:
        data = self._request(
            "POST", f"/v1/tools/{tool}", json=body, safe_to_retry=False,
            budget_reserved=budget_reserved,
        )
        execution_id = data.get("toolExecutionId") if isinstance(data, Mapping) else None
        if not isinstance(execution_id, str) or not execution_id:
            raise VideoGenError(f"VideoGen started {tool} but answered no toolExecutionId.")
        return execution_id

    def _request(
        self,
        method: str,
        path: str,
        *,
        safe_to_retry: bool,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        budget_reserved: bool = False,
    ) -> Any:
        """One API call, answered as parsed JSON.

        safe_to_retry: whether repeating the call after it may have reached
        VideoGen is harmless (see retry_delay).
        """

        def send() -> httpx.Response:
            return self._api.request(method, path, json=json, params=params)

        response = self._send(
            send,
            method=method,
            path=path,
            safe_to_retry=safe_to_retry,
            group=group_for(path, method),
            budget_reserved=budget_reserved,
        )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            error = VideoGenError(
                "VideoGen answered with a body that is not JSON.",
                status=response.status_code,
                request_id=response.headers.get("x-request-id"),
            )
            _log_error(method, path, error, attempt=0, retry_in=None)
            raise error from None

    def _send(
        self,
        send: Callable[[], httpx.Response],
        *,
        method: str,
        path: str,
        safe_to_retry: bool,
        group: str | None = None,
        budget_reserved: bool = False,
    ) -> httpx.Response:
        attempt = 0
        while True:
            # A reserved call was taken from the budget once; a retry takes its own.
            if not (budget_reserved and attempt == 0):
                self._hold_back(group)
            try:
                response = _transport_call(send)
                info = self._observe(response, group)
                if response.status_code < 400:
                    return response
                raise self._error_from_response(response, group, info)
            except VideoGenError as error:
                if isinstance(error, RateLimitedError) and group and self._limiter:
                    # Every worker slows down, not only this one.
                    self._limiter.pause(group, error.retry_after or DEFAULT_PAUSE_SECONDS)
                retry_in = retry_delay(error, attempt=attempt, safe_to_retry=safe_to_retry)
                _log_error(method, path, error, attempt=attempt, retry_in=retry_in)
                if retry_in is None:
                    raise
                _sleep(retry_in)
            attempt += 1

    def _observe(self, response: httpx.Response, group: str | None) -> RateLimitInfo | None:
        """Read X-RateLimit-* (every API response carries them) into the shared
        budget, so that every worker's count is VideoGen's and none sends what
        would be refused."""
        if group is None:
            return None
        for observer in _call_observers:
            try:
                observer(group, response.status_code)
            except Exception:  # recording use must never break the call itself
                logger.exception("could not record a %s call", group)
        info = RateLimitInfo.from_headers(response.headers, group)
        if info is None:
            return None
        self._rate_limits[group] = info
        self._last_rate_limit = info
        if response.status_code != 429:
            self._refusals.pop(group, None)
        if self._limiter:
            self._limiter.observe(group, info)
        return info

    def _error_from_response(
        self, response: httpx.Response, group: str | None, info: RateLimitInfo | None
    ) -> VideoGenError:
        error = _error_from_response(response)
        error.rate_limit = info
        if isinstance(error, RateLimitedError):
            key = group or ""
            self._refusals[key] = self._refusals.get(key, 0) + 1
            error.retry_after = rate_limit_wait(
                retry_after=error.retry_after,
                info=info,
                refusals=self._refusals[key],
                now=self._clock(),
            )
        return error

    def _hold_back(self, group: str | None) -> None:
        """Refuse locally, before sending, when the group's shared bucket is empty."""
        if not (group and self._limiter):
            return
        wait = self._limiter.acquire(group)
        if wait > 0:
            raise RateLimitedError(
                f"Holding back {group} calls for {wait:.1f}s to stay under VideoGen's rate limit.",
                status=None,
                code="rate_limited_locally",
                retry_after=wait,
            )

    def _download_error(
        self,
        path: str,
        why: str,
        reason: str,
        *,
        expected: int | None = None,
        received: int | None = None,
    ) -> DownloadError:
        error = DownloadError(
            f"Download of {path} failed: {why}.",
            reason=reason,
            expected_bytes=expected,
            received_bytes=received,
        )
        _log_error("GET", path, error, attempt=0, retry_in=None)
        return error


def _transport_call(send: Callable[[], httpx.Response]) -> httpx.Response:
    try:
        return send()
    except httpx.TransportError as exc:
        sent = not isinstance(exc, _NOT_SENT_ERRORS)
        raise ApiConnectionError(
            f"Could not reach VideoGen: {type(exc).__name__}: {exc}", request_sent=sent
        ) from exc


def _error_from_response(response: httpx.Response) -> VideoGenError:
    response.read()  # a streamed answer's error body is small
    response.close()
    message, code = _error_body(response)
    error_class = error_class_for_status(response.status_code)
    request_id = response.headers.get("x-request-id")
    if error_class is RateLimitedError:
        return RateLimitedError(
            message,
            status=response.status_code,
            code=code,
            request_id=request_id,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    return error_class(message, status=response.status_code, code=code, request_id=request_id)


def _error_body(response: httpx.Response) -> tuple[str, str | None]:
    fallback = f"VideoGen answered HTTP {response.status_code}."
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return (text[:200] if text else fallback), None
    if not isinstance(body, Mapping):
        return fallback, None
    message = body.get("message")
    code = body.get("code")
    return (
        message if isinstance(message, str) and message else fallback,
        code if isinstance(code, str) and code else None,
    )


def _log_error(
    method: str, path: str, error: VideoGenError, *, attempt: int, retry_in: float | None
) -> None:
    logger.warning(
        "VideoGen %s %s failed: status=%s code=%s request_id=%s attempt=%d %s: %s",
        method,
        path,
        error.status,
        error.code,
        error.request_id,
        attempt + 1,
        f"retrying in {retry_in:.1f}s" if retry_in is not None else "giving up",
        error.message,
    )


def _segment(value: str) -> str:
    """An id as one path segment, so it can never reach another endpoint."""
    return quote(value, safe="")


def _loggable(url: str) -> str:
    """A signed URL without its query: the signature must not reach the logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _int_header(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
