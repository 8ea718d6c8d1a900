"""The official VideoGen SDK, unchanged, drives the sandbox.

The SDK is an independent client of the same API: where it cannot work with
the sandbox, the sandbox is wrong. Note that the SDK turns the wire's
camelCase keys into snake_case.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image
from videogen import VideoGen, VideoGenError, download_file, upload_file

from tests.sandbox.helpers import png_bytes

FAST_POLL = {"poll_interval_ms": 50, "timeout_ms": 15_000}


@pytest.fixture
def client(sandbox) -> Iterator[VideoGen]:
    with VideoGen(api_key=sandbox.api_key, base_url=sandbox.base_url, timeout=10.0) as client:
        yield client


def test_generate_image_and_wait(client):
    execution = client.tools.generate_image_and_wait(
        prompt="a lighthouse at dusk",
        aspect_ratio={"width": 1, "height": 1},
        num_results=2,
        is_output_temporary=True,
        **FAST_POLL,
    )

    assert execution["status"] == "succeeded"
    assert execution["tool_type"] == "GENERATE_IMAGE"
    assert execution["progress_percentage"] == 100
    assert execution["tool_execution_id"].startswith("vg_exec_")
    assert len(execution["results"]) == 2
    for result in execution["results"]:
        assert result["file_id"].startswith("vg_file_")
        assert result["file"]["download_source"]["status"] == "ready"

    data = download_file(client, execution["results"][0]["file_id"])
    image = Image.open(io.BytesIO(data))
    assert (image.format, image.size) == ("PNG", (1024, 1024))


def test_upload_file_then_generate_from_it(client):
    uploaded = upload_file(
        client,
        png_bytes((20, 200, 60)),
        display_name="green.png",
        type="IMAGE",
        content_type="image/png",
        **FAST_POLL,
    )

    assert uploaded["file_id"].startswith("vg_file_")
    assert uploaded["display_name"] == "green.png"
    assert uploaded["download_source"]["status"] == "ready"
    assert httpx.get(uploaded["download_source"]["url"]).content == png_bytes((20, 200, 60))

    execution = client.tools.generate_image_and_wait(
        prompt="the same, at night", image_file_ids=[uploaded["file_id"]], **FAST_POLL
    )
    assert execution["status"] == "succeeded"
    assert len(execution["results"]) == 1


def test_upload_file_accepts_a_file_object(client):
    uploaded = client.upload_file(
        io.BytesIO(png_bytes()), display_name="stream.png", is_temporary=True, **FAST_POLL
    )

    assert client.download_file(uploaded["file_id"]) == png_bytes()


def test_hydrate_and_get_file(client):
    file_id = upload_file(client, png_bytes(), **FAST_POLL)["file_id"]

    hydrated = client.files.hydrate_file(file_id=file_id)
    plain = client.files.get_file(file_id)

    assert hydrated["file_id"] == file_id
    assert hydrated["download_source"]["url"].startswith("http://127.0.0.1:")
    assert isinstance(hydrated["download_source"]["expires_at"], int)
    assert httpx.get(hydrated["download_source"]["url"]).content == png_bytes()
    assert plain["download_source"] == {"status": "ready", "url": None, "expires_at": None}


def test_list_files_and_archive(sandbox_factory):
    # A sandbox of its own: the shared one holds more files than one page.
    box = sandbox_factory()
    client = VideoGen(api_key=box.api_key, base_url=box.base_url)
    file_id = upload_file(client, png_bytes(), display_name="to-archive.png", **FAST_POLL)[
        "file_id"
    ]

    listed = client.files.get_files(limit=100)
    assert file_id in [item["file_id"] for item in listed["items"]]

    archived = client.files.archive_file(file_id=file_id)
    assert archived["file_id"] == file_id
    assert file_id not in [item["file_id"] for item in client.files.get_files(limit=100)["items"]]


def test_list_tool_executions_pages(client):
    started = [
        client.tools.generate_image(prompt=f"page {n}")["tool_execution_id"] for n in range(3)
    ]

    first = client.tools.list_tool_executions(limit=2, self_only=True)
    second = client.tools.list_tool_executions(limit=2, cursor=first["next_cursor"])

    newest = [item["tool_execution_id"] for item in first["items"]]
    assert newest == started[:0:-1]  # the last two, newest first
    assert second["items"][0]["tool_execution_id"] == started[0]


def test_cancel_tool_execution(client):
    execution_id = client.tools.generate_image(prompt="never mind")["tool_execution_id"]

    cancelled = client.tools.cancel_tool_execution(execution_id)

    assert cancelled["status"] == "cancelled"
    assert client.tools.get_tool_execution_info(execution_id)["status"] == "cancelled"
    polled = client.poll_executed_tool(execution_id, throw_on_failure=False, **FAST_POLL)
    assert polled["status"] == "cancelled"
    with pytest.raises(VideoGenError, match="cancelled"):
        client.poll_executed_tool(execution_id, **FAST_POLL)


def test_wrong_key_is_a_401(sandbox):
    with VideoGen(api_key="not-the-key", base_url=sandbox.base_url) as client:
        with pytest.raises(VideoGenError) as caught:
            client.tools.generate_image(prompt="a cat")

    assert caught.value.status == 401
    assert caught.value.body["code"] == "invalid_api_key"
    assert str(caught.value).startswith("The API key is not valid")
    assert caught.value.request_id.startswith("req_")


def test_invalid_parameters_is_a_400_with_the_message(client):
    with pytest.raises(VideoGenError) as caught:
        client.tools.generate_image(prompt="a cat", num_results=0)

    assert caught.value.status == 400
    assert caught.value.body["code"] == "invalid_parameters"
    assert "numResults" in str(caught.value)


def test_watermark_none_is_a_403(client):
    with pytest.raises(VideoGenError) as caught:
        client.tools.generate_image(prompt="a cat", watermark_mode="NONE")

    assert caught.value.status == 403
    assert caught.value.body["code"] == "production_addon_required"
    assert "Production add-on" in str(caught.value)


def test_unknown_execution_is_a_404(client):
    with pytest.raises(VideoGenError) as caught:
        client.tools.get_tool_execution_info("vg_exec_doesnotexist")

    assert caught.value.status == 404
