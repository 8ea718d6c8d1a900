"""Small HTTP helpers for driving the sandbox in tests."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from PIL import Image, ImageDraw

TERMINAL = {"succeeded", "failed", "cancelled"}


def png_bytes(
    colour: tuple[int, int, int] = (220, 30, 30), size: tuple[int, int] = (320, 200)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def start(api: httpx.Client, **fields: Any) -> str:
    """POST generate-image and return the execution id; fails the test on any other answer."""
    response = api.post("/v1/tools/generate-image", json=fields)
    assert response.status_code == 202, response.text
    return response.json()["toolExecutionId"]


def wait(api: httpx.Client, execution_id: str, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(f"/v1/tools/executions/{execution_id}")
        assert response.status_code == 200, response.text
        execution = response.json()
        if execution["status"] in TERMINAL:
            return execution
        assert time.monotonic() < deadline, f"{execution_id} is still {execution['status']}"
        time.sleep(0.02)


def generate(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    """Start an execution and wait for it to succeed."""
    execution = wait(api, start(api, **fields))
    assert execution["status"] == "succeeded", execution
    return execution


def hydrate(api: httpx.Client, file_id: str) -> dict[str, Any]:
    response = api.post(f"/v1/files/{file_id}/hydrate")
    assert response.status_code == 200, response.text
    return response.json()


def download(api: httpx.Client, file_id: str) -> bytes:
    """The bytes of a file, the way clients get them: hydrate, then GET the signed URL."""
    url = hydrate(api, file_id)["downloadSource"]["url"]
    response = httpx.get(url)  # no API key: the signature is the credential
    assert response.status_code == 200, response.text
    return response.content


def result_images(api: httpx.Client, **fields: Any) -> list[bytes]:
    execution = generate(api, **fields)
    return [download(api, result["fileId"]) for result in execution["results"]]


def upload(
    api: httpx.Client,
    data: bytes,
    display_name: str = "reference.png",
    file_type: str | None = None,
    temporary: bool = False,
) -> str:
    body: dict[str, Any] = {"displayName": display_name, "isTemporary": temporary}
    if file_type is not None:
        body["type"] = file_type
    created = api.post("/v1/files/upload", json=body)
    assert created.status_code == 200, created.text
    put = httpx.put(created.json()["uploadUrl"], content=data)
    assert put.status_code == 200, put.text
    return created.json()["fileId"]


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def subject_png(size: tuple[int, int] = (320, 200)) -> bytes:
    """A red disc on an off-white backdrop, with a backdrop-coloured hole in the disc."""
    image = Image.new("RGB", size, (246, 244, 240))
    draw = ImageDraw.Draw(image)
    width, height = size
    draw.ellipse((width // 4, height // 5, 3 * width // 4, 4 * height // 5), fill=(200, 30, 40))
    draw.rectangle(
        (width // 2 - 10, height // 2 - 6, width // 2 + 10, height // 2 + 6), fill=(246, 244, 240)
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def start_tool(api: httpx.Client, tool: str, **fields: Any) -> str:
    """POST /v1/tools/{tool} and return the execution id; fails the test on any other answer."""
    response = api.post(f"/v1/tools/{tool}", json=fields)
    assert response.status_code == 202, response.text
    return response.json()["toolExecutionId"]


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, message: str = "") -> Any:
    """Poll `condition` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, message or "condition not met in time"
        time.sleep(0.02)
    return result


# -- a webhook receiver ------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]  # names in lower case
    body: bytes
    at: float  # time.time() on arrival


class Receiver:
    """A tiny HTTP server that records every POST; `answers` scripts the statuses, then 204."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self.received: list[Received] = []
        self._condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._condition:
                    headers = {name.lower(): value for name, value in self.headers.items()}
                    receiver.received.append(Received(headers, body, time.time()))
                    status = receiver.answers.pop(0) if receiver.answers else 204
                    receiver._condition.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/videogen"
        # A short poll keeps shutdown() quick: it waits for the serving loop to notice.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The first `count` deliveries, waiting for them to arrive."""
        with self._condition:
            arrived = self._condition.wait_for(lambda: len(self.received) >= count, timeout)
            assert arrived, f"{len(self.received)} of {count} webhook deliveries arrived"
            return list(self.received)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def receiver(answers: list[int] | None = None) -> Iterator[Receiver]:
    running = Receiver(answers)
    try:
        yield running
    finally:
        running.close()


def subscribe(api: httpx.Client, url: str, *events: str) -> dict[str, Any]:
    """Create a webhook endpoint for `events` (default: every tool_execution one)."""
    events = events or (
        "tool_execution.succeeded",
        "tool_execution.failed",
        "tool_execution.cancelled",
    )
    response = api.post("/v1/webhooks/endpoints", json={"url": url, "events": list(events)})
    assert response.status_code == 201, response.text
    return response.json()
