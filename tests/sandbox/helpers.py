"""Small HTTP helpers for driving the sandbox in tests."""

from __future__ import annotations

import io
import time
from typing import Any

import httpx
from PIL import Image

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


def upload(api: httpx.Client, data: bytes, display_name: str = "reference.png") -> str:
    created = api.post("/v1/files/upload", json={"displayName": display_name, "isTemporary": False})
    assert created.status_code == 201, created.text
    put = httpx.put(created.json()["uploadUrl"], content=data)
    assert put.status_code == 200, put.text
    return created.json()["fileId"]


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
