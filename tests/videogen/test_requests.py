"""What the client puts on the wire."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import httpx
import pytest

from studio.videogen import VideoGenClient, VideoGenError, client_from_settings

from .conftest import API_KEY, BASE_URL, Recorder

STARTED = httpx.Response(202, json={"toolExecutionId": "vg_exec_1"})


def body(request: httpx.Request) -> dict:
    return json.loads(request.content)


def test_generate_image_request(make_client):
    recorder = Recorder(STARTED)
    client = make_client(recorder)

    execution_id = client.generate_image(
        prompt="a cat in a hat",
        image_file_ids=["vg_file_a", "vg_file_b"],
        aspect_ratio="4:3",
        watermark_mode="VIDEO_GEN",
        num_results=2,
        is_output_temporary=True,
    )

    assert execution_id == "vg_exec_1"
    [request] = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE_URL}/v1/tools/generate-image"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.headers["X-VideoGen-Client"] == "studio"
    assert body(request) == {
        "prompt": "a cat in a hat",
        "imageFileIds": ["vg_file_a", "vg_file_b"],
        "aspectRatio": {"width": 4, "height": 3},
        "watermarkMode": "VIDEO_GEN",
        "numResults": 2,
        "isOutputTemporary": True,
    }


def test_generate_image_defaults_and_no_prevalidation(make_client):
    recorder = Recorder(STARTED)
    client = make_client(recorder)

    client.generate_image(prompt="a cat", num_results=0)

    assert body(recorder.requests[0]) == {
        "prompt": "a cat",
        "aspectRatio": {"width": 16, "height": 9},
        "watermarkMode": "AUTO",
        "numResults": 0,
        "isOutputTemporary": False,
    }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("upscale_image", "/v1/tools/upscale-image"),
        ("remove_image_background", "/v1/tools/remove-image-background"),
        ("vectorize_image", "/v1/tools/vectorize-image"),
    ],
)
def test_sibling_tools_request(make_client, method, path):
    recorder = Recorder(STARTED)
    client = make_client(recorder)

    assert (
        getattr(client, method)(image_file_id="vg_file_1", is_output_temporary=True) == "vg_exec_1"
    )

    [request] = recorder.requests
    assert request.url.path == path
    # vectorize-image's fields, from its reference page; the siblings' are a guess.
    assert body(request) == {
        "imageStorageFileId": "vg_file_1",
        "watermarkMode": "AUTO",
        "numResults": 1,
        "isOutputTemporary": True,
    }


def test_tool_answer_without_execution_id_is_an_error(make_client):
    client = make_client(Recorder(httpx.Response(202, json={"status": "pending"})))

    with pytest.raises(VideoGenError, match="toolExecutionId"):
        client.generate_image(prompt="a cat")


def test_execution_paths(make_client):
    recorder = Recorder(
        httpx.Response(200, json={"toolExecutionId": "vg_exec_1", "status": "cancelled"})
    )
    client = make_client(recorder)

    client.get_execution("vg_exec_1")
    client.cancel_execution("vg_exec_1")
    client.get_execution("../files/x")

    assert [(r.method, r.url.raw_path.decode()) for r in recorder.requests] == [
        ("GET", "/v1/tools/executions/vg_exec_1"),
        ("POST", "/v1/tools/executions/vg_exec_1/cancel"),
        ("GET", "/v1/tools/executions/..%2Ffiles%2Fx"),
    ]


def test_list_executions_query(make_client):
    recorder = Recorder(
        httpx.Response(200, json={"items": [{"toolExecutionId": "vg_exec_2"}], "nextCursor": "c3"})
    )
    client = make_client(recorder)

    page = client.list_executions(limit=5, cursor="c2", self_only=True)
    client.list_executions()

    assert [execution.id for execution in page.items] == ["vg_exec_2"]
    assert page.next_cursor == "c3"
    assert dict(recorder.requests[0].url.params) == {
        "limit": "5",
        "cursor": "c2",
        "selfOnly": "true",
    }
    assert dict(recorder.requests[1].url.params) == {"limit": "20"}


def test_create_upload_request(make_client):
    recorder = Recorder(
        httpx.Response(
            200, json={"fileId": "vg_file_1", "uploadUrl": "https://storage.test/u?sig=s"}
        )
    )
    client = make_client(recorder)

    upload = client.create_upload(display_name="cat.png", is_temporary=True)
    client.create_upload(display_name="any", type=None)

    assert upload.file_id == "vg_file_1"
    assert upload.upload_url == "https://storage.test/u?sig=s"
    assert recorder.requests[0].url.path == "/v1/files/upload"
    assert body(recorder.requests[0]) == {
        "displayName": "cat.png",
        "isTemporary": True,
        "type": "IMAGE",
    }
    assert body(recorder.requests[1]) == {"displayName": "any", "isTemporary": False}


def test_put_upload_sends_bytes_without_the_api_key(make_client):
    recorder = Recorder(httpx.Response(200))
    client = make_client(recorder)

    client.put_upload("https://storage.test/u?sig=s", b"\x89PNG data", content_type="image/png")

    [request] = recorder.requests
    assert request.method == "PUT"
    assert str(request.url) == "https://storage.test/u?sig=s"
    assert "Authorization" not in request.headers
    assert request.headers["Content-Type"] == "image/png"
    assert request.content == b"\x89PNG data"


def test_put_upload_streams_a_file_with_its_length_and_rewinds_on_retry(make_client):
    recorder = Recorder(httpx.Response(503), httpx.Response(200))
    client = make_client(recorder)

    client.put_upload("https://storage.test/u?sig=s", io.BytesIO(b"x" * 200_000))

    assert len(recorder.requests) == 2
    for request in recorder.requests:
        assert request.headers["Content-Length"] == "200000"
        assert "Transfer-Encoding" not in request.headers
        assert request.read() == b"x" * 200_000


def test_file_requests(make_client):
    answer = {
        "fileId": "vg_file_1",
        "type": "IMAGE",
        "downloadSource": {"status": "ready", "url": "https://s/f"},
    }
    recorder = Recorder(httpx.Response(200, json=answer))
    client = make_client(recorder)

    assert client.get_file("vg_file_1").download_url == "https://s/f"
    assert client.hydrate_file("vg_file_1").is_ready

    assert [(r.method, r.url.path) for r in recorder.requests] == [
        ("GET", "/v1/files/vg_file_1"),
        ("POST", "/v1/files/vg_file_1/hydrate"),
    ]


def test_context_manager_closes():
    with VideoGenClient(
        base_url=BASE_URL, api_key=API_KEY, transport=httpx.MockTransport(Recorder(STARTED))
    ) as client:
        client.generate_image(prompt="a cat")
    assert client._api.is_closed and client._storage.is_closed


def test_timeouts():
    client = VideoGenClient(base_url=BASE_URL, api_key=API_KEY, timeout=12.0)
    try:
        assert client._api.timeout == httpx.Timeout(12.0, connect=5.0)
    finally:
        client.close()


def test_client_from_settings(monkeypatch):
    import django.conf

    monkeypatch.setattr(
        django.conf,
        "settings",
        SimpleNamespace(
            VIDEOGEN_BASE_URL=BASE_URL + "/", VIDEOGEN_API_KEY="k", VIDEOGEN_TIMEOUT=7.0
        ),
    )

    client = client_from_settings()
    try:
        assert client._api.base_url.host == "api.videogen.test"
        assert client._api.headers["Authorization"] == "Bearer k"
        assert client._api.timeout.read == 7.0
    finally:
        client.close()
