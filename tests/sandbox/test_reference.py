"""The sandbox answers what VideoGen's published reference says, driven with raw HTTP.

One test per fact marked *(ref)* in ../shared/videogen-api.md (and per fact of
issue 11 that the reference pages show), each request written from the
reference page named in its docstring, not from the sandbox's code. Time moves
only when a test advances the manual clock (``clocked``): a result, a
description or a delivery is there because its moment came, not by luck.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from tests.fixtures.sandbox import SandboxProcess
from tests.sandbox.conftest import client_for
from tests.sandbox.helpers import decode, png_bytes, receiver, subject_png, subscribe, upload

# The reference's hourly table (docs.videogen.io/rate-limits), one request per group.
TABLE = [
    ("tools", 500, "POST", "/v1/tools/generate-image", {"prompt": "a"}),
    ("executions", 5_000, "GET", "/v1/tools/executions/vg_exec_x", None),
    ("cancel", 250, "POST", "/v1/tools/executions/vg_exec_x/cancel", None),
    ("files", 50_000, "GET", "/v1/files", None),
    ("files", 50_000, "GET", "/v1/files/vg_file_x", None),
    ("hydrate", 2_500, "POST", "/v1/files/vg_file_x/hydrate", None),
    ("uploads", 500, "POST", "/v1/files/upload", {"displayName": "a.png"}),
    ("search", 500, "POST", "/v1/files/search", {"query": "a"}),
    ("webhooks_list", 500, "GET", "/v1/webhooks/endpoints", None),
    ("webhooks_create", 10, "POST", "/v1/webhooks/endpoints", {"url": "https://a.example"}),
    ("webhooks_delete", 10, "DELETE", "/v1/webhooks/endpoints/vg_whep_x", None),
]
FILE_FIELDS = {
    "fileId",
    "scope",
    "type",
    "displayName",
    "description",
    "durationSeconds",
    "transcript",
    "thumbnailSource",
    "previewSource",
    "downloadSource",
    "hlsSource",
    "isPublicPreviewEnabled",
    "staticPublicPreviewSource",
    "publicHlsUrl",
    "publicPlaybackId",
}
EXECUTION_FIELDS = {
    "toolExecutionId",
    "toolType",
    "status",
    "progressPercentage",
    "attemptIndex",
    "error",
}
END = 1.0  # the clocked sandbox's executions end 0.8 s after they start
ANALYSED = 2.0  # and their kept results are described 0.5 s after that


@pytest.fixture(scope="module")
def reference_sandbox(sandbox_factory: Callable[..., SandboxProcess]) -> SandboxProcess:
    """The documented rate-limit table, as a sandbox starts without flags."""
    return sandbox_factory("--rate-limit-profile", "reference")


@pytest.fixture
def reference_api(reference_sandbox: SandboxProcess) -> Iterator[httpx.Client]:
    reference_sandbox.reset()
    with client_for(reference_sandbox) as client:
        yield client


def generate(clocked: SandboxProcess, api: httpx.Client, **body: Any) -> dict[str, Any]:
    started = api.post("/v1/tools/generate-image", json=body)
    assert started.status_code == 202, started.text
    clocked.advance(END)
    execution = api.get(f"/v1/tools/executions/{started.json()['toolExecutionId']}").json()
    assert execution["status"] == "succeeded", execution
    return execution


def bodies(hooks: Any) -> list[dict[str, Any]]:
    return [json.loads(delivery.body) for delivery in hooks.received]


# -- basics and errors (/rest-api-reference, /authentication, /errors) ---------------


def test_ref_bearer_auth_and_401_codes(clocked):
    """Authorization: Bearer <key>; missing_api_key / invalid_api_key, body with a message."""
    url = f"{clocked.base_url}/v1/files"
    missing = httpx.get(url)
    wrong = httpx.get(url, headers={"Authorization": "Bearer vg_key_not_ours"})
    right = httpx.get(url, headers={"Authorization": f"Bearer {clocked.api_key}"})

    assert (missing.status_code, missing.json()["code"]) == (401, "missing_api_key")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_api_key")
    assert missing.json()["message"] and wrong.json()["message"]
    assert right.status_code == 200


def test_ref_errors_are_message_and_code(clocked_api):
    """A failure is a non-2xx with {"message", "code"}; invalid_parameters is a 400."""
    response = clocked_api.post("/v1/tools/generate-image", json={"prompt": ""})

    assert response.status_code == 400
    assert set(response.json()) == {"message", "code"}
    assert response.json()["code"] == "invalid_parameters"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/files/file_123", None),
        ("GET", "/v1/files/vg_exec_123", None),
        ("POST", "/v1/files/vg_file_/hydrate", None),
        ("POST", "/v1/files/nope/enable-public-preview", None),
        ("GET", "/v1/tools/executions/vg_file_123", None),
        ("POST", "/v1/tools/executions/123/cancel", None),
        ("DELETE", "/v1/webhooks/endpoints/whep_1", None),
        ("POST", "/v1/tools/vectorize-image", {"imageStorageFileId": "vg_exec_1"}),
        ("POST", "/v1/tools/generate-image", {"prompt": "a", "imageFileIds": ["file_1"]}),
    ],
)
def test_ref_malformed_or_wrong_prefix_ids_are_400_invalid_id(clocked_api, method, path, body):
    """invalid_id: "a resource id (file, execution, endpoint) is malformed or has the wrong
    prefix"."""
    response = clocked_api.request(method, path, json=body)

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_id"


def test_ref_unknown_objects_are_404(clocked_api):
    """404: the resource doesn't exist."""
    for method, path in (
        ("GET", "/v1/files/vg_file_doesnotexist"),
        ("GET", "/v1/tools/executions/vg_exec_doesnotexist"),
        ("DELETE", "/v1/webhooks/endpoints/vg_whep_doesnotexist"),
    ):
        assert clocked_api.request(method, path).status_code == 404


def test_ref_ids_are_prefixed(clocked, clocked_api):
    """All ids are prefixed strings: vg_exec_..., vg_file_..."""
    execution = generate(clocked, clocked_api, prompt="prefixes")

    assert execution["toolExecutionId"].startswith("vg_exec_")
    assert execution["results"][0]["fileId"].startswith("vg_file_")


# -- rate limits (/rate-limits) ----------------------------------------------------------


@pytest.mark.parametrize(("group", "limit", "method", "path", "body"), TABLE)
def test_ref_limits_follow_the_hourly_table(reference_api, group, limit, method, path, body):
    """Per key, per endpoint group, per hour: the default table."""
    response = reference_api.request(method, path, json=body)

    assert response.headers["x-ratelimit-limit"] == str(limit), group
    assert int(response.headers["x-ratelimit-remaining"]) == limit - 1
    reset = int(response.headers["x-ratelimit-reset"])
    assert time.time() + 3500 < reset <= time.time() + 3601  # an hour's window, unix seconds


def test_ref_every_response_carries_the_rate_limit_headers(clocked_api):
    """X-RateLimit-Limit, -Remaining and -Reset on every response, errors included."""
    answers = [
        clocked_api.get("/v1/files"),  # 200
        clocked_api.post("/v1/tools/generate-image", json={"prompt": "a"}),  # 202
        clocked_api.post("/v1/tools/generate-image", json={}),  # 400
        clocked_api.get("/v1/files/vg_file_nope"),  # 404
        clocked_api.post("/v1/webhooks/endpoints", json={"url": "https://a.b", "events": []}),
    ]

    for answer in answers:
        for header in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
            assert header in answer.headers, (answer.status_code, header)


def test_ref_a_429_has_no_retry_after(clocked, clocked_api):
    """Handling 429 responses: back off; the reference mentions no Retry-After."""
    clocked.faults(rate_limits="search=1/60")

    clocked_api.post("/v1/files/search", json={"query": "a"})
    refused = clocked_api.post("/v1/files/search", json={"query": "a"})

    assert refused.status_code == 429
    assert "retry-after" not in refused.headers
    assert refused.headers["x-ratelimit-remaining"] == "0"


def test_ref_the_hour_and_the_table_are_settable_by_group(sandbox_factory):
    """Issue 11: the table and its "hour" in Studio's syntax, group=N/seconds."""
    box = sandbox_factory("--rate-limits", "tools=2/30,executions=100/30")
    with client_for(box) as api:
        answers = [api.post("/v1/tools/generate-image", json={"prompt": "a"}) for _ in range(3)]
        execution = api.get("/v1/tools/executions/vg_exec_x")

    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[0].headers["x-ratelimit-limit"] == "2"
    assert int(answers[0].headers["x-ratelimit-reset"]) <= time.time() + 31
    assert execution.headers["x-ratelimit-limit"] == "100"


# -- tools (/rest-api-reference/tools/...) -------------------------------------------


def test_ref_generate_image_answers_202_with_an_execution_id(clocked_api):
    """POST /v1/tools/generate-image -> 202 {toolExecutionId}."""
    response = clocked_api.post("/v1/tools/generate-image", json={"prompt": "a garden"})

    assert response.status_code == 202
    assert set(response.json()) == {"toolExecutionId"}


@pytest.mark.parametrize(("count", "status"), [(0, 400), (1, 202), (100, 202), (101, 400)])
def test_ref_generate_image_num_results_is_1_to_100(clocked_api, count, status):
    body = {"prompt": "many", "numResults": count}
    assert clocked_api.post("/v1/tools/generate-image", json=body).status_code == status


def test_ref_generate_image_takes_at_most_4_reference_images(clocked_api):
    ids = [upload(clocked_api, png_bytes((n, 0, 0)), temporary=True) for n in range(5)]

    four = clocked_api.post(
        "/v1/tools/generate-image", json={"prompt": "a", "imageFileIds": ids[:4]}
    )
    five = clocked_api.post("/v1/tools/generate-image", json={"prompt": "a", "imageFileIds": ids})

    assert four.status_code == 202
    assert (five.status_code, five.json()["code"]) == (400, "invalid_parameters")


def test_ref_watermark_none_without_the_addon_is_an_error(clocked_api):
    """NONE "requires the Production API add-on; returns an error if you don't have it"."""
    response = clocked_api.post(
        "/v1/tools/generate-image", json={"prompt": "a", "watermarkMode": "NONE"}
    )

    assert response.status_code == 403  # the status is our guess; the reference gives none


def test_ref_vectorize_takes_image_storage_file_id_and_num_results(clocked, clocked_api):
    """vectorize-image: imageStorageFileId (required), numResults 1-100; output SVG."""
    source = upload(clocked_api, subject_png(), display_name="subject.png")
    old_name = clocked_api.post("/v1/tools/vectorize-image", json={"imageFileId": source})
    too_many = clocked_api.post(
        "/v1/tools/vectorize-image", json={"imageStorageFileId": source, "numResults": 101}
    )
    started = clocked_api.post(
        "/v1/tools/vectorize-image",
        json={"imageStorageFileId": source, "numResults": 3, "watermarkMode": "AUTO"},
    )
    clocked.advance(END)
    execution = clocked_api.get(f"/v1/tools/executions/{started.json()['toolExecutionId']}")

    assert (old_name.status_code, old_name.json()["code"]) == (400, "invalid_parameters")
    assert "imageStorageFileId" in old_name.json()["message"]
    assert too_many.status_code == 400
    assert started.status_code == 202
    results = execution.json()["results"]
    assert len(results) == 3
    svg = httpx.get(results[0]["file"]["downloadSource"]["url"])
    assert svg.headers["content-type"].startswith("image/svg+xml")


@pytest.mark.parametrize("tool", ["upscale-image", "remove-image-background"])
def test_ref_sibling_tools_take_the_guessed_fields(clocked, clocked_api, tool):
    """Their pages were unreadable: vectorize's fields, one constant per tool (a guess)."""
    source = upload(clocked_api, subject_png(), display_name="subject.png")

    started = clocked_api.post(
        f"/v1/tools/{tool}", json={"imageStorageFileId": source, "numResults": 2}
    )
    clocked.advance(END)
    execution = clocked_api.get(f"/v1/tools/executions/{started.json()['toolExecutionId']}")

    assert started.status_code == 202, started.text
    assert len(execution.json()["results"]) == 2


# -- executions (/rest-api-reference/tools/get-tool-execution-info, cancel) ------------


def test_ref_execution_fields_and_phases(clocked, clocked_api):
    """toolExecutionId, toolType, status, progressPercentage (0-100), attemptIndex (>=0),
    results (present when succeeded), error (object or null)."""
    started = clocked_api.post("/v1/tools/generate-image", json={"prompt": "phases"})
    execution_id = started.json()["toolExecutionId"]
    pending = clocked_api.get(f"/v1/tools/executions/{execution_id}").json()
    clocked.advance(0.5)
    running = clocked_api.get(f"/v1/tools/executions/{execution_id}").json()

    for execution, status in ((pending, "pending"), (running, "running")):
        assert set(execution) == EXECUTION_FIELDS
        assert execution["status"] == status
        assert 0 <= execution["progressPercentage"] < 100
        assert execution["attemptIndex"] == 0 and execution["error"] is None
        assert execution["toolType"] == "GENERATE_IMAGE"


def test_ref_a_succeeded_execution_is_100_percent_with_hydrated_results(clocked, clocked_api):
    """progressPercentage "always 100 when status is succeeded"; results arrive hydrated:
    "freshly completed tool executions include hydrated URLs already"."""
    execution = generate(clocked, clocked_api, prompt="hydrated", numResults=2)

    assert execution["progressPercentage"] == 100
    assert set(execution) == EXECUTION_FIELDS | {"results"}
    for result in execution["results"]:
        assert set(result) == {"fileId", "type", "file"}
        source = result["file"]["downloadSource"]
        assert source["status"] == "ready" and source["expiresAt"] > time.time()
        image = decode(httpx.get(source["url"]).content)  # no key: the URL is signed
        assert (source["width"], source["height"]) == image.size == (1024, 576)
        thumbnail = result["file"]["thumbnailSource"]
        assert (thumbnail["width"], thumbnail["height"]) == (256, 144)


def test_ref_cancel_answers_the_execution_id_only(clocked, clocked_api):
    """POST .../cancel -> "Cancellation request accepted": {toolExecutionId}."""
    started = clocked_api.post("/v1/tools/generate-image", json={"prompt": "never mind"})
    execution_id = started.json()["toolExecutionId"]

    cancelled = clocked_api.post(f"/v1/tools/executions/{execution_id}/cancel")
    clocked.advance(60)

    assert cancelled.status_code == 200
    assert cancelled.json() == {"toolExecutionId": execution_id}
    later = clocked_api.get(f"/v1/tools/executions/{execution_id}").json()
    assert later["status"] == "cancelled" and "results" not in later


# -- files (/pagination, /file-uploads, /file-hydration, /rest-api-reference/files/...) ---


def test_ref_upload_answers_200_with_file_id_and_upload_url(clocked_api):
    """POST /v1/files/upload {displayName, type?, isTemporary?} -> 200 {fileId, uploadUrl};
    PUT the raw bytes there without authentication."""
    created = clocked_api.post("/v1/files/upload", json={"displayName": "a.png", "type": "IMAGE"})

    assert created.status_code == 200
    assert set(created.json()) == {"fileId", "uploadUrl"}
    assert httpx.put(created.json()["uploadUrl"], content=png_bytes()).status_code == 200
    file = clocked_api.get(f"/v1/files/{created.json()['fileId']}").json()
    assert file["downloadSource"]["status"] == "ready"


def test_ref_type_is_null_until_inferred(clocked_api):
    """type: "Null when the file is still being processed"; omitted on upload: inferred."""
    created = clocked_api.post("/v1/files/upload", json={"displayName": "what.png"}).json()
    before = clocked_api.get(f"/v1/files/{created['fileId']}").json()
    httpx.put(created["uploadUrl"], content=png_bytes())
    after = clocked_api.get(f"/v1/files/{created['fileId']}").json()

    assert before["type"] is None
    assert after["type"] == "IMAGE"


def test_ref_file_object_fields_and_scope(clocked, clocked_api):
    """scope GLOBAL, or TEMPORARY for temporary files; toolType and toolExecutionId only for
    files a tool execution made; isPublicPreviewEnabled."""
    kept = generate(clocked, clocked_api, prompt="kept")
    temporary = generate(clocked, clocked_api, prompt="scratch", isOutputTemporary=True)
    uploaded = clocked_api.get(f"/v1/files/{upload(clocked_api, png_bytes())}").json()

    made = kept["results"][0]["file"]
    assert set(made) == FILE_FIELDS | {"toolType", "toolExecutionId"}
    assert made["scope"] == "GLOBAL" and made["type"] == "IMAGE"
    assert made["toolType"] == "GENERATE_IMAGE"
    assert made["toolExecutionId"] == kept["toolExecutionId"]
    assert made["isPublicPreviewEnabled"] is False
    assert temporary["results"][0]["file"]["scope"] == "TEMPORARY"
    assert set(uploaded) == FILE_FIELDS and uploaded["scope"] == "GLOBAL"


def test_ref_get_file_has_no_signed_urls_hydrate_has_fresh_ones(clocked_api):
    file_id = upload(clocked_api, png_bytes())

    plain = clocked_api.get(f"/v1/files/{file_id}").json()
    hydrated = clocked_api.post(f"/v1/files/{file_id}/hydrate").json()

    assert plain["downloadSource"]["url"] is None
    assert httpx.get(hydrated["downloadSource"]["url"]).content == png_bytes()
    assert isinstance(hydrated["downloadSource"]["expiresAt"], int)


def test_ref_file_list_pages(clocked_api):
    """{files, hasMore, nextCursor}; limit 1-200, default 50; cursors are endpoint-specific;
    most recently updated first."""
    ids = [upload(clocked_api, png_bytes((n, 1, 1)), temporary=True) for n in range(52)]

    default = clocked_api.get("/v1/files").json()
    rest = clocked_api.get("/v1/files", params={"cursor": default["nextCursor"]}).json()
    bounds = [
        clocked_api.get("/v1/files", params={"limit": n}).status_code for n in (0, 1, 200, 201)
    ]
    other = clocked_api.get("/v1/webhooks/endpoints", params={"cursor": default["nextCursor"]})

    assert set(default) == {"files", "hasMore", "nextCursor"}
    assert len(default["files"]) == 50 and default["hasMore"] is True
    assert (len(rest["files"]), rest["hasMore"], rest["nextCursor"]) == (2, False, None)
    assert [f["fileId"] for f in default["files"] + rest["files"]] == ids[::-1]
    assert bounds == [400, 200, 200, 400]
    assert other.status_code == 400


def test_ref_files_list_most_recently_updated_first(clocked, clocked_api):
    """ "GET /v1/files returns results most recently updated first": a description is an
    update."""
    kept = upload(clocked_api, png_bytes((1, 2, 3)), display_name="kept.png")
    scratch = upload(clocked_api, png_bytes((3, 2, 1)), temporary=True)
    before = [f["fileId"] for f in clocked_api.get("/v1/files").json()["files"]]
    clocked.advance(ANALYSED)  # the kept one is described
    after = [f["fileId"] for f in clocked_api.get("/v1/files").json()["files"]]

    assert before == [scratch, kept]
    assert after == [kept, scratch]


def test_ref_archived_files_leave_the_list(clocked_api):
    file_id = upload(clocked_api, png_bytes(), temporary=True)

    archived = clocked_api.post(f"/v1/files/{file_id}/archive")

    assert archived.status_code == 200 and archived.json()["fileId"] == file_id
    listed = clocked_api.get("/v1/files").json()["files"]
    assert file_id not in [f["fileId"] for f in listed]


def test_ref_public_preview_enable_and_disable(clocked, clocked_api):
    """enable-public-preview: staticPublicPreviewSource, a permanent public URL (expiresAt
    null); disable-public-preview revokes it."""
    file_id = upload(clocked_api, png_bytes((9, 99, 199)), display_name="shared.png")

    enabled = clocked_api.post(f"/v1/files/{file_id}/enable-public-preview")
    preview = enabled.json()["staticPublicPreviewSource"]
    clocked.advance(7 * 24 * 3600)  # a week later, still there: it does not expire
    fetched = httpx.get(preview["url"])
    disabled = clocked_api.post(f"/v1/files/{file_id}/disable-public-preview")

    assert enabled.status_code == 200
    assert enabled.json()["isPublicPreviewEnabled"] is True
    assert preview["status"] == "ready" and preview["expiresAt"] is None
    assert (preview["width"], preview["height"]) == (320, 200)
    assert fetched.status_code == 200 and fetched.content == png_bytes((9, 99, 199))
    assert disabled.status_code == 200
    assert disabled.json()["isPublicPreviewEnabled"] is False
    assert disabled.json()["staticPublicPreviewSource"] is None
    assert httpx.get(preview["url"]).status_code == 404
    assert clocked_api.get(f"/v1/files/{file_id}").json()["isPublicPreviewEnabled"] is False


# -- analysis and search (/rest-api-reference/files/search-files) --------------------


def test_ref_a_kept_image_is_described_a_moment_later(clocked, clocked_api):
    """Non-temporary files are analysed (a description); temporary ones never are."""
    with receiver() as hooks:
        subscribe(clocked_api, hooks.url, "file.analysis_completed")
        kept = generate(clocked, clocked_api, prompt="a lighthouse at dusk")
        kept_id = kept["results"][0]["fileId"]
        right_after = clocked_api.get(f"/v1/files/{kept_id}").json()["description"]
        scratch = generate(clocked, clocked_api, prompt="a lighthouse", isOutputTemporary=True)
        clocked.advance(ANALYSED)
        described = clocked_api.get(f"/v1/files/{kept_id}").json()["description"]
        events = bodies(hooks)

    assert right_after is None
    assert described.startswith("A lighthouse at dusk.")
    assert (
        clocked_api.get(f"/v1/files/{scratch['results'][0]['fileId']}").json()["description"]
        is None
    )
    [event] = events  # the temporary result has none
    assert event["event"] == "file.analysis_completed" and event["fileId"] == kept_id
    assert event["file"]["description"] == described
    assert isinstance(event["occurredAt"], float)


def test_ref_descriptions_are_deterministic_and_name_what_was_drawn(clocked, clocked_api):
    """Built from the prompt and from the image: colour (and shape) words the prompt lacks."""
    first = generate(clocked, clocked_api, prompt="a quiet harbour")
    second = generate(clocked, clocked_api, prompt="a quiet harbour")
    clocked.advance(ANALYSED)

    def description(execution: dict[str, Any]) -> str:
        file_id = execution["results"][0]["fileId"]
        return clocked_api.get(f"/v1/files/{file_id}").json()["description"]

    assert description(first) == description(second)
    words = set(description(first).lower().replace(",", " ").replace(".", " ").split())
    colours = {
        "red",
        "orange",
        "yellow",
        "green",
        "teal",
        "cyan",
        "blue",
        "navy",
        "purple",
        "magenta",
        "pink",
        "brown",
        "olive",
        "maroon",
        "grey",
        "silver",
        "black",
        "white",
    }
    assert words & colours  # a colour word that is not in the prompt
    assert words & {"ellipse", "ellipses", "rectangle", "rectangles", "polygon", "polygons"}


def test_ref_search_answers_results_with_similarity_and_file(clocked, clocked_api):
    """POST /v1/files/search {query} -> {results: [{similarity, file}]}, descending
    similarity, over descriptions; temporary files never appear."""
    lighthouse = generate(clocked, clocked_api, prompt="a red lighthouse on a cliff")
    generate(clocked, clocked_api, prompt="a bowl of fruit")
    generate(clocked, clocked_api, prompt="a lighthouse", isOutputTemporary=True)
    clocked.advance(ANALYSED)

    response = clocked_api.post("/v1/files/search", json={"query": "lighthouse"})

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["file"]["fileId"] for r in results] == [lighthouse["results"][0]["fileId"]]
    assert set(results[0]) == {"similarity", "file"}
    assert 0 < results[0]["similarity"] <= 1
    assert results[0]["file"]["scope"] == "GLOBAL"


def test_ref_search_num_results_and_self_only(clocked, clocked_api):
    """numResults 1-100, default 10; selfOnly a boolean, default false."""
    generate(clocked, clocked_api, prompt="a small boat", numResults=12)
    clocked.advance(ANALYSED)

    default = clocked_api.post("/v1/files/search", json={"query": "boat"}).json()["results"]
    three = clocked_api.post(
        "/v1/files/search", json={"query": "boat", "numResults": 3, "selfOnly": True}
    ).json()["results"]
    statuses = [
        clocked_api.post("/v1/files/search", json=body).status_code
        for body in (
            {"query": "boat", "numResults": 0},
            {"query": "boat", "numResults": 101},
            {"query": "boat", "selfOnly": "yes"},
            {},
        )
    ]

    assert len(default) == 10 and len(three) == 3
    similarities = [r["similarity"] for r in default]
    assert similarities == sorted(similarities, reverse=True)
    assert statuses == [400, 400, 400, 400]


def test_ref_search_finds_a_colour_word_that_is_not_in_the_prompt(clocked, clocked_api):
    """Issue 16's need: the description names what was drawn, so search finds it by that."""
    execution = generate(clocked, clocked_api, prompt="an abstract study")
    clocked.advance(ANALYSED)
    file_id = execution["results"][0]["fileId"]
    description = clocked_api.get(f"/v1/files/{file_id}").json()["description"]
    colour = description.split("Mostly ", 1)[1].split(",")[0].split(" ")[0]

    results = clocked_api.post("/v1/files/search", json={"query": colour}).json()["results"]

    assert colour not in "an abstract study"
    assert file_id in [r["file"]["fileId"] for r in results]


# -- webhooks (/webhook-events, /rest-api-reference/webhooks/...) ---------------------


def test_ref_webhook_endpoint_create_list_delete(clocked_api):
    """201 {endpointId, url, events, createdAt (a number), description, signingSecret,
    signingSecretLast4}; GET lists {endpoints, hasMore, nextCursor}; DELETE removes."""
    created = clocked_api.post(
        "/v1/webhooks/endpoints",
        json={"url": "https://studio.example/hooks", "events": ["tool_execution.succeeded"]},
    )
    listed = clocked_api.get("/v1/webhooks/endpoints").json()
    deleted = clocked_api.delete(f"/v1/webhooks/endpoints/{created.json()['endpointId']}")

    assert created.status_code == 201
    assert set(created.json()) == {
        "endpointId",
        "url",
        "events",
        "createdAt",
        "description",
        "signingSecret",
        "signingSecretLast4",
    }
    assert isinstance(created.json()["createdAt"], float)
    assert set(listed) == {"endpoints", "hasMore", "nextCursor"}
    assert listed["hasMore"] is False and listed["nextCursor"] is None
    assert "signingSecret" not in listed["endpoints"][0]
    assert isinstance(listed["endpoints"][0]["createdAt"], float)
    assert deleted.status_code in (200, 204)
    assert clocked_api.get("/v1/webhooks/endpoints").json()["endpoints"] == []


def test_ref_tool_events_are_signed_with_numeric_occurred_at_and_hydrated_results(
    clocked, clocked_api
):
    """event, occurredAt (unix seconds, a number), toolExecutionId, toolType, results with
    hydrated files; Standard Webhooks signing."""
    with receiver() as hooks:
        secret = subscribe(clocked_api, hooks.url)["signingSecret"]
        execution = generate(clocked, clocked_api, prompt="signed")
        [delivery] = hooks.received

    event = Webhook(secret).verify(delivery.body, delivery.headers)
    assert event["event"] == "tool_execution.succeeded"
    assert isinstance(event["occurredAt"], float) and abs(event["occurredAt"] - time.time()) < 60
    assert event["toolExecutionId"] == execution["toolExecutionId"]
    assert event["toolType"] == "GENERATE_IMAGE"
    source = event["results"][0]["file"]["downloadSource"]
    assert httpx.get(source["url"]).status_code == 200


def test_ref_a_failed_event_carries_the_error_and_no_results(clocked, clocked_api):
    clocked.faults(execution_failure_share=1.0)
    with receiver() as hooks:
        subscribe(clocked_api, hooks.url)
        clocked_api.post("/v1/tools/generate-image", json={"prompt": "doomed"})
        clocked.advance(END)
        [event] = bodies(hooks)

    assert event["event"] == "tool_execution.failed"
    assert set(event["error"]) == {"message", "code"}
    assert "results" not in event


def test_ref_the_file_events_are_delivered(clocked, clocked_api):
    """file.upload.completed, file.upload.failed, file.download_ready, file.playback_ready,
    file.analysis_completed, file.analysis_failed: fileId, file (hydrated), error."""
    events = [
        "file.upload.completed",
        "file.upload.failed",
        "file.playback_ready",
        "file.download_ready",
        "file.analysis_completed",
        "file.analysis_failed",
    ]
    with receiver() as hooks:
        subscribe(clocked_api, hooks.url, *events)
        image = upload(clocked_api, png_bytes(), display_name="fine.png")
        broken = upload(clocked_api, b"not an image", display_name="bad.png", file_type="IMAGE")
        clip = upload(
            clocked_api, b"\x00\x00\x00\x18ftypmp42", display_name="a.mp4", file_type="VIDEO"
        )
        clocked.advance(ANALYSED)
        seen = {(body["event"], body["fileId"]): body for body in bodies(hooks)}

    assert set(seen) >= {
        ("file.upload.completed", image),
        ("file.download_ready", image),
        ("file.analysis_completed", image),
        ("file.upload.failed", broken),
        ("file.playback_ready", clip),
        ("file.analysis_failed", clip),
    }
    assert seen[("file.upload.completed", image)]["file"]["downloadSource"]["url"]
    assert set(seen[("file.upload.failed", broken)]["error"]) == {"message", "code"}
    assert set(seen[("file.analysis_failed", clip)]["error"]) == {"message", "code"}
    assert all(isinstance(body["occurredAt"], float) for body in seen.values())


# -- faults the real API can produce -----------------------------------------------------


def test_reordered_deliveries_a_failed_after_the_succeeded(clocked, clocked_api):
    """Events can arrive out of order: a first attempt's failure after the success."""
    clocked.faults(webhook_stale_failure_share=1.0)
    with receiver() as hooks:
        subscribe(clocked_api, hooks.url)
        execution = generate(clocked, clocked_api, prompt="second time lucky")
        events = bodies(hooks)

    assert [e["event"] for e in events] == ["tool_execution.succeeded", "tool_execution.failed"]
    assert {e["toolExecutionId"] for e in events} == {execution["toolExecutionId"]}
    assert execution["status"] == "succeeded" and execution["attemptIndex"] == 1
    assert clocked.stats()["webhooks"]["reordered"] == 1


def test_held_back_deliveries_are_overtaken(clocked, clocked_api):
    clocked.faults(webhook_reorder_share=1.0, webhook_reorder_seconds=5)
    with receiver() as hooks:
        subscribe(clocked_api, hooks.url)
        first = clocked_api.post("/v1/tools/generate-image", json={"prompt": "first"}).json()
        clocked.advance(END)
        clocked.faults(webhook_reorder_share=0.0)
        second = clocked_api.post("/v1/tools/generate-image", json={"prompt": "second"}).json()
        clocked.advance(10)
        order = [e["toolExecutionId"] for e in bodies(hooks)]

    assert order == [second["toolExecutionId"], first["toolExecutionId"]]
