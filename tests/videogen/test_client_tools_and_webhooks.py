"""The client's sibling tools, webhook endpoints and error classes against the sandbox."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from studio.videogen import (
    InvalidParametersError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    VideoGenClient,
)
from tests.videogen.test_client_against_sandbox import wait_for_execution


@pytest.fixture
def client(sandbox):
    with VideoGenClient(base_url=sandbox.base_url, api_key=sandbox.api_key, timeout=10.0) as c:
        yield c


@pytest.fixture
def source_file_id(client) -> str:
    execution = wait_for_execution(
        client, client.generate_image(prompt="source", aspect_ratio="1:1")
    )
    return execution.results[0].file_id


def _download(client, file_id) -> bytes:
    return b"".join(client.stream_download(client.hydrate_file(file_id).download_url))


@pytest.mark.parametrize(
    "tool, check",
    [
        ("upscale_image", lambda data: Image.open(io.BytesIO(data)).size == (2048, 2048)),
        ("remove_image_background", lambda data: Image.open(io.BytesIO(data)).mode == "RGBA"),
        ("vectorize_image", lambda data: data.lstrip().startswith((b"<svg", b"<?xml"))),
    ],
)
def test_sibling_tools_produce_their_file(client, source_file_id, tool, check):
    execution = wait_for_execution(client, getattr(client, tool)(image_file_id=source_file_id))

    assert execution.status == "succeeded"
    assert len(execution.results) == 1
    assert check(_download(client, execution.results[0].file_id))


def test_sibling_tool_with_unknown_source_is_invalid_parameters(client):
    with pytest.raises(InvalidParametersError) as caught:
        client.upscale_image(image_file_id="vg_file_doesnotexist")
    assert caught.value.status == 400 and caught.value.request_id


def test_webhook_endpoints_create_list_delete(client):
    created = client.create_webhook_endpoint(
        url="https://studio.example/webhooks/videogen/",
        events=["tool_execution.succeeded"],
        description="test",
    )

    assert created["signingSecret"].startswith("whsec_")
    listed = client.list_webhook_endpoints()
    assert created["endpointId"] in [e["endpointId"] for e in listed]
    assert all("signingSecret" not in e for e in listed)
    client.delete_webhook_endpoint(created["endpointId"])
    assert created["endpointId"] not in [e["endpointId"] for e in client.list_webhook_endpoints()]
    with pytest.raises(NotFoundError):
        client.delete_webhook_endpoint(created["endpointId"])


def test_injected_server_errors_and_rate_limits_arrive_as_their_classes(sandbox_factory):
    box = sandbox_factory()
    with VideoGenClient(base_url=box.base_url, api_key=box.api_key, timeout=10.0) as client:
        box.faults(server_error_share={"tools": 1.0})
        with pytest.raises(ServerError) as server_error:
            client.generate_image(prompt="x")
        box.faults(
            server_error_share={"tools": 0.0},
            rate_limited_share={"tools": 1.0},
            rate_limited_retry_after=7,
        )
        with pytest.raises(RateLimitedError) as rate_limited:
            client.generate_image(prompt="x")

    assert server_error.value.status >= 500 and server_error.value.transient
    assert rate_limited.value.retry_after == 7
    assert box.stats()["executions"] == {} or sum(box.stats()["executions"].values()) == 0
