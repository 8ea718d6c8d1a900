"""The client against the live sandbox: the calls Studio makes, end to end.

Needs the session-scoped `sandbox` fixture (tests/fixtures/sandbox.py), whose
executions are pending for 0.2 s, then running for 0.6 s, then succeed, and
whose account lacks the Production add-on.
"""

from __future__ import annotations

import io
import struct
import time
import zlib
from collections.abc import Iterator

import pytest

from studio.videogen import (
    AuthenticationError,
    Execution,
    FileObject,
    ForbiddenError,
    InvalidParametersError,
    NotFoundError,
    VideoGenClient,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def tiny_png() -> bytes:
    """A valid 1x1 red PNG, built by hand so the test needs no imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@pytest.fixture
def client(sandbox) -> Iterator[VideoGenClient]:
    with VideoGenClient(base_url=sandbox.base_url, api_key=sandbox.api_key, timeout=10.0) as client:
        yield client


def wait_for_execution(
    client: VideoGenClient, execution_id: str, seen: list[str] | None = None
) -> Execution:
    deadline = time.monotonic() + 15
    while True:
        execution = client.get_execution(execution_id)
        if seen is not None:
            seen.append(execution.status)
        if execution.is_terminal:
            return execution
        assert time.monotonic() < deadline, f"{execution_id} still {execution.status}"
        time.sleep(0.1)


def wait_until_ready(client: VideoGenClient, file_id: str) -> FileObject:
    deadline = time.monotonic() + 15
    while True:
        file = client.hydrate_file(file_id)
        assert not file.has_failed, f"{file_id} failed processing"
        if file.is_ready:
            return file
        assert time.monotonic() < deadline, f"{file_id} never became ready"
        time.sleep(0.1)


def test_generate_poll_and_download(client):
    execution_id = client.generate_image(
        prompt="a lighthouse at dusk", aspect_ratio="1:1", num_results=2
    )
    assert execution_id.startswith("vg_exec_")

    seen: list[str] = []
    execution = wait_for_execution(client, execution_id, seen)

    assert execution.is_succeeded, execution.error
    assert set(seen) <= {"pending", "running", "succeeded"}
    assert execution.id == execution_id
    assert execution.tool_type == "GENERATE_IMAGE"
    assert execution.progress == 100
    assert len(execution.results) == 2
    file_id = execution.results[0].file_id
    assert file_id.startswith("vg_file_")

    assert client.get_file(file_id).download_url is None  # GET carries no signed URLs
    file = client.hydrate_file(file_id)
    assert file.is_ready
    assert file.download_url
    data = b"".join(client.stream_download(file.download_url, chunk_size=1024))
    assert data.startswith(PNG_SIGNATURE)


def test_upload_then_generate_from_it(client):
    upload = client.create_upload(display_name="reference.png", is_temporary=True)
    assert upload.file_id.startswith("vg_file_")
    client.put_upload(upload.upload_url, tiny_png(), content_type="image/png")
    reference = wait_until_ready(client, upload.file_id)
    assert reference.id == upload.file_id
    assert reference.display_name == "reference.png"

    second = client.create_upload(display_name="second.png")
    client.put_upload(second.upload_url, io.BytesIO(tiny_png()), content_type="image/png")
    wait_until_ready(client, second.file_id)

    execution_id = client.generate_image(
        prompt="the same scene at night", image_file_ids=[upload.file_id, second.file_id]
    )
    execution = wait_for_execution(client, execution_id)

    assert execution.is_succeeded, execution.error
    assert execution.results


def test_list_executions_finds_a_new_execution(client):
    execution_id = client.generate_image(prompt="a red kite")

    page = client.list_executions(limit=50, self_only=True)

    assert execution_id in [execution.id for execution in page.items]
    first = client.list_executions(limit=1)
    assert len(first.items) == 1
    assert first.next_cursor
    second = client.list_executions(limit=1, cursor=first.next_cursor)
    assert second.items[0].id != first.items[0].id


def test_cancel_execution(client):
    execution_id = client.generate_image(prompt="a cancelled idea")

    # The reference: cancel answers only {toolExecutionId}; the status comes from a GET.
    assert client.cancel_execution(execution_id) == execution_id
    assert client.get_execution(execution_id).status == "cancelled"
    assert client.cancel_execution(execution_id) == execution_id  # changes nothing
    assert client.get_execution(execution_id).status == "cancelled"


def test_wrong_api_key(sandbox):
    with VideoGenClient(base_url=sandbox.base_url, api_key="vg_wrong") as client:
        with pytest.raises(AuthenticationError) as caught:
            client.generate_image(prompt="a cat")

    assert caught.value.status == 401
    assert caught.value.code == "invalid_api_key"
    assert caught.value.request_id
    assert caught.value.request_id in str(caught.value)


def test_invalid_parameters_carry_the_server_message(client):
    with pytest.raises(InvalidParametersError) as caught:
        client.generate_image(prompt="a cat", num_results=0)

    assert caught.value.status == 400
    assert caught.value.code == "invalid_parameters"
    assert caught.value.message
    assert caught.value.request_id


def test_watermark_none_needs_the_production_addon(client):
    with pytest.raises(ForbiddenError) as caught:
        client.generate_image(prompt="a cat", watermark_mode="NONE")

    assert caught.value.status == 403


def test_unknown_execution(client):
    with pytest.raises(NotFoundError) as caught:
        client.get_execution("vg_exec_doesnotexist")

    assert caught.value.status == 404
    assert caught.value.request_id


def test_malformed_id(client):
    with pytest.raises(InvalidParametersError) as caught:
        client.get_file("not-a-file-id")

    assert caught.value.code == "invalid_id"


@pytest.fixture(scope="module")
def production_sandbox(sandbox_factory):
    """An account with the Production add-on, whose signed URLs live one second."""
    return sandbox_factory("--production-addon", "--url-ttl-seconds", "1")


def test_watermark_none_with_the_production_addon(production_sandbox):
    with VideoGenClient(
        base_url=production_sandbox.base_url, api_key=production_sandbox.api_key
    ) as client:
        execution = wait_for_execution(
            client, client.generate_image(prompt="a clean print", watermark_mode="NONE")
        )

    assert execution.is_succeeded, execution.error


def test_expired_signed_url_is_forbidden(production_sandbox):
    with VideoGenClient(
        base_url=production_sandbox.base_url, api_key=production_sandbox.api_key
    ) as client:
        execution = wait_for_execution(client, client.generate_image(prompt="a fading photo"))
        file = client.hydrate_file(execution.results[0].file_id)
        assert file.download is not None and file.download.expires_at is not None
        time.sleep(max(0.0, file.download.expires_at - time.time()) + 0.2)

        with pytest.raises(ForbiddenError):
            b"".join(client.stream_download(file.download_url))
        fresh = client.hydrate_file(file.id)
        assert b"".join(client.stream_download(fresh.download_url)).startswith(PNG_SIGNATURE)
