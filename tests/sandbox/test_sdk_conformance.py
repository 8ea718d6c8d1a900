"""The official VideoGen SDK, unchanged, drives the sandbox.

The SDK is an independent client of the same API: where it cannot work with
the sandbox, the sandbox is wrong. Note that the SDK turns the wire's
camelCase keys into snake_case.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator

import httpx
import pytest
from PIL import Image
from videogen import (
    VideoGen,
    VideoGenError,
    create_public_preview,
    download_file,
    upload_file,
    verify_webhook_signature,
)

from tests.sandbox.helpers import png_bytes, receiver, subject_png

FAST_POLL = {"poll_interval_ms": 50, "timeout_ms": 15_000}


@pytest.fixture
def client(sandbox) -> Iterator[VideoGen]:
    with VideoGen(api_key=sandbox.api_key, base_url=sandbox.base_url, timeout=10.0) as client:
        yield client


@pytest.fixture
def lab_client(lab) -> Iterator[VideoGen]:
    """A client of the lab sandbox: quick executions, reset for each test, faults allowed."""
    with VideoGen(api_key=lab.api_key, base_url=lab.base_url, timeout=10.0) as client:
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
    assert plain["download_source"] == {
        "status": "ready",
        "url": None,
        "expires_at": None,
        "width": 320,
        "height": 200,
    }


def test_list_files_and_archive(sandbox_factory):
    # A sandbox of its own: the shared one holds more files than one page.
    box = sandbox_factory()
    client = VideoGen(api_key=box.api_key, base_url=box.base_url)
    file_id = upload_file(client, png_bytes(), display_name="to-archive.png", **FAST_POLL)[
        "file_id"
    ]

    listed = client.files.get_files(limit=100)
    assert file_id in [item["file_id"] for item in listed["files"]]

    archived = client.files.archive_file(file_id=file_id)
    assert archived["file_id"] == file_id
    assert file_id not in [item["file_id"] for item in client.files.get_files(limit=100)["files"]]


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

    assert cancelled == {"tool_execution_id": execution_id}
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


# -- the sibling image tools -------------------------------------------------------


def _uploaded_subject(client: VideoGen) -> str:
    return upload_file(client, subject_png((320, 200)), display_name="subject.png", **FAST_POLL)[
        "file_id"
    ]


def test_upscale_image_and_wait(lab_client):
    # The SDK sends its keyword arguments as the body, in camelCase: imageStorageFileId.
    execution = lab_client.tools.upscale_image_and_wait(
        image_storage_file_id=_uploaded_subject(lab_client), watermark_mode="AUTO", **FAST_POLL
    )

    assert execution["status"] == "succeeded"
    assert execution["tool_type"] == "UPSCALE_IMAGE"
    [result] = execution["results"]
    image = Image.open(io.BytesIO(download_file(lab_client, result["file_id"])))
    assert (image.format, image.size) == ("PNG", (640, 400))


def test_remove_image_background_and_wait(lab_client):
    execution = lab_client.tools.remove_image_background_and_wait(
        image_storage_file_id=_uploaded_subject(lab_client), is_output_temporary=True, **FAST_POLL
    )

    assert execution["tool_type"] == "REMOVE_IMAGE_BACKGROUND"
    data = lab_client.download_file(execution["results"][0]["file_id"])
    alpha = Image.open(io.BytesIO(data)).getchannel("A")
    assert alpha.getextrema() == (0, 255)


def test_vectorize_image_and_wait(lab_client):
    execution = lab_client.tools.vectorize_image_and_wait(
        image_storage_file_id=_uploaded_subject(lab_client), **FAST_POLL
    )

    assert execution["tool_type"] == "VECTORIZE_IMAGE"
    svg = ElementTree.fromstring(download_file(lab_client, execution["results"][0]["file_id"]))
    assert svg.get("viewBox")
    assert len(svg.findall("{http://www.w3.org/2000/svg}path")) > 1


def test_a_failed_execution_raises_in_the_waiting_helpers(lab, lab_client):
    lab.faults(execution_failure_share=1.0)

    with pytest.raises(VideoGenError) as caught:
        lab_client.tools.generate_image_and_wait(prompt="doomed", **FAST_POLL)
    failed = lab_client.tools.upscale_image_and_wait(
        image_storage_file_id=_uploaded_subject(lab_client), throw_on_failure=False, **FAST_POLL
    )

    assert caught.value.body["status"] == "failed"
    assert caught.value.body["error"]["code"] == "generation_failed"
    assert failed["status"] == "failed"
    assert failed["error"] == {
        "message": "The model could not render this prompt.",
        "code": "generation_failed",
    }


def test_injected_errors_reach_the_sdk_as_errors(lab, lab_client):
    lab.faults(rate_limited_share={"tools": 1.0}, server_error_share={"files": 1.0})

    with pytest.raises(VideoGenError) as limited:
        lab_client.tools.vectorize_image(image_storage_file_id="vg_file_x")
    with pytest.raises(VideoGenError) as failed:
        lab_client.files.get_files()

    assert limited.value.status == 429
    assert limited.value.body["code"] == "rate_limited"
    assert failed.value.status in (500, 502, 503)
    assert failed.value.request_id.startswith("req_")


def test_list_tool_executions_needs_no_tool_type(lab_client):
    source = _uploaded_subject(lab_client)
    generated = lab_client.tools.generate_image(prompt="a")["tool_execution_id"]
    upscaled = lab_client.tools.upscale_image(image_storage_file_id=source)["tool_execution_id"]

    listed = lab_client.tools.list_tool_executions(limit=10)

    assert [item["tool_execution_id"] for item in listed["items"]] == [upscaled, generated]
    assert [item["tool_type"] for item in listed["items"]] == ["UPSCALE_IMAGE", "GENERATE_IMAGE"]


# -- webhooks ----------------------------------------------------------------------


def test_webhook_endpoints_create_list_delete(lab_client):
    created = lab_client.webhooks.create_webhook_endpoint(
        url="https://studio.example/hooks",
        events=["tool_execution.succeeded", "tool_execution.failed"],
        description="Studio",
    )

    assert created["endpoint_id"].startswith("vg_whep_")
    assert created["signing_secret"].startswith("whsec_")
    assert created["signing_secret_last4"] == created["signing_secret"][-4:]
    listed = lab_client.webhooks.list_webhook_endpoints(limit=10)
    assert [item["endpoint_id"] for item in listed["endpoints"]] == [created["endpoint_id"]]
    assert "signing_secret" not in listed["endpoints"][0]
    assert listed["next_cursor"] is None

    assert lab_client.webhooks.delete_webhook_endpoint(created["endpoint_id"]) is None
    assert lab_client.webhooks.list_webhook_endpoints()["endpoints"] == []
    with pytest.raises(VideoGenError) as caught:
        lab_client.webhooks.delete_webhook_endpoint(endpoint_id=created["endpoint_id"])
    assert caught.value.status == 404


def test_create_webhook_endpoint_validation_reaches_the_sdk(lab_client):
    with pytest.raises(VideoGenError) as caught:
        lab_client.webhooks.create_webhook_endpoint(url="mailto:a@b.c", events=["x"])

    assert caught.value.status == 400
    assert caught.value.body["code"] == "invalid_parameters"


def test_verify_webhook_signature_on_a_real_delivery(lab_client):
    with receiver() as hooks:
        secret = lab_client.webhooks.create_webhook_endpoint(
            url=hooks.url, events=["tool_execution.succeeded"]
        )["signing_secret"]
        execution = lab_client.tools.vectorize_image_and_wait(
            image_storage_file_id=_uploaded_subject(lab_client), **FAST_POLL
        )
        [delivery] = hooks.wait_for(1)

    event = verify_webhook_signature(delivery.body, delivery.headers, secret)
    assert event["event"] == "tool_execution.succeeded"
    assert event["tool_execution_id"] == execution["tool_execution_id"]
    assert event["tool_type"] == "VECTORIZE_IMAGE"
    assert event["results"][0]["file"]["download_source"]["url"].startswith("http://127.0.0.1:")
    # The method on the client, and the keyword spelling, say the same.
    again = lab_client.verify_webhook_signature(
        raw_body=delivery.body, headers=delivery.headers, signing_secret=secret
    )
    assert again == event
    with pytest.raises(VideoGenError):
        verify_webhook_signature(delivery.body, delivery.headers, "whsec_" + "A" * 32)


# -- search, public preview, the file list, numResults on vectorize ----------------


@pytest.fixture
def clocked_client(clocked) -> Iterator[VideoGen]:
    """A client of the manual-clock sandbox: the test moves time, the SDK never waits."""
    with VideoGen(api_key=clocked.api_key, base_url=clocked.base_url, timeout=10.0) as client:
        yield client


def test_search_files(clocked, clocked_client):
    started = clocked_client.tools.generate_image(prompt="a windmill in a tulip field")
    clocked_client.tools.generate_image(prompt="a windmill", is_output_temporary=True)
    clocked.advance(2.5)  # finished, and described a moment later
    [made] = clocked_client.tools.get_tool_execution_info(started["tool_execution_id"])["results"]

    found = clocked_client.files.search_files(query="windmill", num_results=5, self_only=False)

    assert [r["file"]["file_id"] for r in found["results"]] == [made["file_id"]]
    assert 0 < found["results"][0]["similarity"] <= 1
    assert found["results"][0]["file"]["description"].startswith("A windmill in a tulip field.")


def test_public_preview_with_the_sdk_helper(lab_client):
    file_id = upload_file(lab_client, png_bytes((5, 50, 150)), **FAST_POLL)["file_id"]

    previewed = create_public_preview(lab_client, file_id, **FAST_POLL)
    url = previewed["static_public_preview_source"]["url"]
    fetched = httpx.get(url)
    disabled = lab_client.files.disable_public_preview(file_id=file_id)

    assert previewed["is_public_preview_enabled"] is True
    assert previewed["static_public_preview_source"]["expires_at"] is None
    assert fetched.content == png_bytes((5, 50, 150))
    assert disabled["is_public_preview_enabled"] is False
    assert httpx.get(url).status_code == 404
    again = lab_client.files.enable_public_preview(file_id=file_id)
    assert again["is_public_preview_enabled"] is True


def test_the_file_list_pages_with_the_sdk(lab_client):
    made = [upload_file(lab_client, png_bytes((n, 7, 7)), **FAST_POLL)["file_id"] for n in range(3)]

    first = lab_client.files.get_files(limit=2)
    rest = lab_client.files.get_files(limit=2, cursor=first["next_cursor"])

    assert first["has_more"] is True and rest["has_more"] is False
    assert rest["next_cursor"] is None
    listed = [f["file_id"] for f in first["files"] + rest["files"]]
    assert sorted(listed) == sorted(made)
    assert lab_client.files.get_files()["files"]  # the default limit


def test_vectorize_num_results(lab_client):
    execution = lab_client.tools.vectorize_image_and_wait(
        image_storage_file_id=_uploaded_subject(lab_client), num_results=2, **FAST_POLL
    )

    assert len(execution["results"]) == 2
    for result in execution["results"]:
        svg = ElementTree.fromstring(download_file(lab_client, result["file_id"]))
        assert svg.get("viewBox")
