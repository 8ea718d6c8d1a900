"""The client reads and writes the shapes of VideoGen's published reference."""

from __future__ import annotations

import json
import time

import httpx

from studio.videogen import FileObject, LocalRateLimiter, VideoGenClient, parse_limits
from studio.videogen.types import EXPIRY_MARGIN_SECONDS

from .conftest import API_KEY, BASE_URL, Recorder

# As on the file-hydration page: every source with its size and expiry.
HYDRATED = {
    "fileId": "vg_file_1",
    "type": "IMAGE",
    "scope": "GLOBAL",
    "displayName": "A mountain at sunrise",
    "description": "A mountain at sunrise, orange and blue.",
    "toolType": "GENERATE_IMAGE",
    "toolExecutionId": "vg_exec_1",
    "isPublicPreviewEnabled": False,
    "thumbnailSource": {"status": "ready", "url": "https://s/t", "expiresAt": 1745413200,
                        "width": 256, "height": 256},
    "previewSource": {"status": "ready", "url": "https://s/p", "expiresAt": 1745413200,
                      "width": 720, "height": 720},
    "downloadSource": {"status": "ready", "url": "https://s/d", "expiresAt": 1745413200,
                       "width": 1024, "height": 1024},
}


def test_a_hydrated_file_is_read_whole():
    file = FileObject.from_wire(HYDRATED)

    assert (file.scope, file.tool_type, file.tool_execution_id) == (
        "GLOBAL", "GENERATE_IMAGE", "vg_exec_1"
    )
    assert file.description.startswith("A mountain")
    assert (file.download.width, file.download.height) == (1024, 1024)
    assert file.download.expires_at == 1745413200.0


def test_a_signed_url_is_used_until_just_before_it_expires():
    file = FileObject.from_wire(HYDRATED)
    expires = 1745413200

    assert file.usable_download_url(expires - EXPIRY_MARGIN_SECONDS - 1) == "https://s/d"
    assert file.usable_download_url(expires - EXPIRY_MARGIN_SECONDS + 1) is None
    assert file.usable_download_url(expires + 1) is None


def test_a_file_without_signed_urls_is_ready_by_its_type():
    # GET /v1/files/{id} answers without signed URLs; `type` is null while processing.
    assert FileObject.from_wire({"fileId": "vg_file_1", "type": "IMAGE"}).is_ready
    assert not FileObject.from_wire({"fileId": "vg_file_1", "type": None}).is_ready
    pending = {"fileId": "vg_file_1", "type": "IMAGE",
               "downloadSource": {"status": "pending", "url": None, "expiresAt": None}}
    assert not FileObject.from_wire(pending).is_ready


def test_webhook_endpoints_are_listed_page_by_page(make_client):
    recorder = Recorder(
        httpx.Response(200, json={"endpoints": [{"endpointId": "vg_whep_1"}], "hasMore": True,
                                  "nextCursor": "c2"}),
        httpx.Response(200, json={"endpoints": [{"endpointId": "vg_whep_2"}], "hasMore": False,
                                  "nextCursor": None}),
    )
    client = make_client(recorder)

    assert [e["endpointId"] for e in client.list_webhook_endpoints()] == ["vg_whep_1", "vg_whep_2"]
    assert [r.url.params.get("cursor") for r in recorder.requests] == [None, "c2"]


def test_file_search_sends_the_documented_body(make_client):
    recorder = Recorder(httpx.Response(200, json={"results": [{"similarity": 0.8,
                                                               "file": HYDRATED}]}))
    client = make_client(recorder)

    [hit] = client.search_files(query="mountain", num_results=5)

    assert json.loads(recorder.requests[0].content) == {
        "query": "mountain", "numResults": 5, "selfOnly": False
    }
    assert hit.similarity == 0.8 and hit.file.id == "vg_file_1"


def test_a_spent_group_is_paused_until_its_reset_without_a_429():
    reset = int(time.time()) + 20
    answer = httpx.Response(
        202,
        json={"toolExecutionId": "vg_exec_1"},
        headers={"X-RateLimit-Limit": "500", "X-RateLimit-Remaining": "0",
                 "X-RateLimit-Reset": str(reset)},
    )
    recorder = Recorder(answer)
    limiter = LocalRateLimiter(parse_limits("tools=100/60"))
    client = VideoGenClient(base_url=BASE_URL, api_key=API_KEY, rate_limiter=limiter,
                            transport=httpx.MockTransport(recorder))

    client.generate_image(prompt="the last one this hour")

    wait = limiter.acquire("tools")
    assert reset - time.time() - 1 <= wait <= reset - time.time() + 1
    assert limiter.acquire("executions") == 0.0  # another group
    assert len(recorder.requests) == 1


def test_a_group_without_a_bucket_of_ours_still_waits_out_videogens_pause():
    limiter = LocalRateLimiter(parse_limits("tools=100/60"))

    limiter.pause("hydrate", 30)

    assert 29 <= limiter.acquire("hydrate") <= 30
    assert limiter.acquire("search") == 0.0
