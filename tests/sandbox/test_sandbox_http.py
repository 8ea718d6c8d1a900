"""The sandbox over HTTP, as a separate process: the behaviour Studio relies on."""

from __future__ import annotations

import http.client
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import ImageStat

from tests.sandbox.helpers import (
    decode,
    download,
    generate,
    hydrate,
    png_bytes,
    result_images,
    start,
    upload,
    wait,
)

# -- auth, errors, request ids -------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_api_key"),
        ({"Authorization": ""}, "missing_api_key"),
        ({"Authorization": "Bearer wrong"}, "invalid_api_key"),
        ({"Authorization": "Bearer"}, "missing_api_key"),
        ({"Authorization": "Basic sandbox"}, "invalid_api_key"),
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/tools/generate-image"), ("GET", "/v1/tools/executions"), ("GET", "/v1/files")],
)
def test_requests_without_a_valid_key_are_refused(sandbox, headers, code, method, path):
    response = httpx.request(
        method, sandbox.base_url + path, headers=headers, json={"prompt": "a cat"}
    )

    assert response.status_code == 401
    assert response.json()["code"] == code
    assert "API key" in response.json()["message"]
    assert response.headers["x-request-id"].startswith("req_")


def test_key_is_checked_case_insensitively_on_the_scheme_only(sandbox):
    base = sandbox.base_url
    assert httpx.get(f"{base}/v1/files", headers={"Authorization": "bearer sandbox"}).is_success
    wrong_case = httpx.get(f"{base}/v1/files", headers={"Authorization": "Bearer SANDBOX"})
    assert wrong_case.status_code == 401


def test_every_answer_has_its_own_request_id(api, sandbox):
    answers = [
        api.get("/v1/files"),
        api.get("/v1/nothing-here"),
        api.get("/v1/tools/executions/vg_exec_missing"),
        httpx.get(f"{sandbox.base_url}/_storage/download/vg_file_x?token=bad&expires=1"),
    ]

    ids = [answer.headers["x-request-id"] for answer in answers]
    assert all(request_id.startswith("req_") for request_id in ids)
    assert len(set(ids)) == len(ids)


def test_unknown_route_is_a_json_404(api):
    response = api.get("/v1/no/such/thing")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "message": "There is no endpoint GET /v1/no/such/thing.",
        "code": "not_found",
    }


def test_wrong_method_is_a_json_405(api):
    response = api.delete("/v1/tools/generate-image")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe"])
def test_unparseable_body_is_invalid_parameters(api, body):
    response = api.post("/v1/tools/generate-image", content=body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameters"
    assert "JSON" in response.json()["message"]


# -- generate-image validation -------------------------------------------------

FIVE_IDS = [f"vg_file_{n}" for n in range(5)]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ([], "JSON object"),
        ({}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": None}, "prompt"),
        ({"prompt": 42}, "prompt"),
        ({"prompt": "x" * 4001}, "prompt"),
        ({"prompt": "a cat", "seed": 7}, "seed"),
        ({"prompt": "a cat", "imageFileIds": "vg_file_1"}, "imageFileIds"),
        ({"prompt": "a cat", "imageFileIds": FIVE_IDS}, "imageFileIds"),
        ({"prompt": "a cat", "imageFileIds": [7]}, "imageFileIds[0]"),
        ({"prompt": "a cat", "imageFileIds": ["file_1"]}, "imageFileIds[0]"),
        ({"prompt": "a cat", "imageFileIds": ["vg_file_nope"]}, "vg_file_nope does not exist"),
        ({"prompt": "a cat", "aspectRatio": "16:9"}, "aspectRatio"),
        ({"prompt": "a cat", "aspectRatio": {"width": 16}}, "aspectRatio"),
        ({"prompt": "a cat", "aspectRatio": {"width": 16, "height": 9, "x": 1}}, "aspectRatio"),
        ({"prompt": "a cat", "aspectRatio": {"width": 0, "height": 9}}, "aspectRatio.width"),
        ({"prompt": "a cat", "aspectRatio": {"width": 16, "height": 101}}, "aspectRatio.height"),
        ({"prompt": "a cat", "aspectRatio": {"width": 16.0, "height": 9}}, "aspectRatio.width"),
        ({"prompt": "a cat", "aspectRatio": {"width": True, "height": 9}}, "aspectRatio.width"),
        ({"prompt": "a cat", "aspectRatio": {"width": "16", "height": 9}}, "aspectRatio.width"),
        ({"prompt": "a cat", "watermarkMode": "none"}, "watermarkMode"),
        ({"prompt": "a cat", "watermarkMode": 1}, "watermarkMode"),
        ({"prompt": "a cat", "numResults": 0}, "numResults"),
        ({"prompt": "a cat", "numResults": 101}, "numResults"),
        ({"prompt": "a cat", "numResults": True}, "numResults"),
        ({"prompt": "a cat", "numResults": "2"}, "numResults"),
        ({"prompt": "a cat", "numResults": 2.5}, "numResults"),
        ({"prompt": "a cat", "isOutputTemporary": "yes"}, "isOutputTemporary"),
        ({"prompt": "a cat", "isOutputTemporary": 1}, "isOutputTemporary"),
    ],
)
def test_generate_image_rejects_invalid_fields(api, body, named):
    response = api.post("/v1/tools/generate-image", json=body)

    assert response.status_code == 400, response.text
    # A string that is not a file id (wrong prefix) is the reference's invalid_id.
    wrong_prefix = body.get("imageFileIds") == ["file_1"] if isinstance(body, dict) else False
    assert response.json()["code"] == ("invalid_id" if wrong_prefix else "invalid_parameters")
    assert named in response.json()["message"]


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"numResults": 100},
        {"numResults": 1, "isOutputTemporary": True},
        {"aspectRatio": {"width": 100, "height": 1}},
        {"watermarkMode": "VIDEO_GEN"},
        {"watermarkMode": "AUTO"},
        # Explicit nulls mean "the default", as when the key is left out.
        {"imageFileIds": None, "aspectRatio": None, "numResults": None},
    ],
)
def test_generate_image_accepts_valid_fields(api, extra):
    response = api.post("/v1/tools/generate-image", json={"prompt": "a cat", **extra})

    assert response.status_code == 202, response.text
    assert response.json()["toolExecutionId"].startswith("vg_exec_")


def test_longest_prompt_is_accepted(api):
    assert api.post("/v1/tools/generate-image", json={"prompt": "x" * 4000}).status_code == 202


def test_watermark_none_needs_the_production_addon(api, make_api):
    refused = api.post("/v1/tools/generate-image", json={"prompt": "a", "watermarkMode": "NONE"})

    assert refused.status_code == 403
    assert refused.json()["code"] == "production_addon_required"
    assert "Production add-on" in refused.json()["message"]

    production = make_api("--production-addon")
    accepted = production.post(
        "/v1/tools/generate-image", json={"prompt": "a", "watermarkMode": "NONE"}
    )
    assert accepted.status_code == 202


def test_watermark_changes_the_image(make_api):
    production = make_api("--production-addon", "--pending-seconds", "0", "--running-seconds", "0")

    marked = result_images(production, prompt="a harbour", watermarkMode="VIDEO_GEN")
    auto = result_images(production, prompt="a harbour", watermarkMode="AUTO")
    clean = result_images(production, prompt="a harbour", watermarkMode="NONE")

    assert marked != clean
    assert auto == clean  # with the add-on, AUTO leaves the watermark off


# -- executions ------------------------------------------------------------------


def test_execution_goes_pending_running_succeeded(clocked, clocked_api):
    # The clock moves only when told: each phase is seen where it must be, whatever the load.
    api = clocked_api
    execution_id = start(api, prompt="a lighthouse", numResults=3)
    seen = [api.get(f"/v1/tools/executions/{execution_id}").json()]
    clocked.advance(0.05)  # then 0.1 s steps, between the edges: pending until 0.2 s,
    for _ in range(9):  # running until 0.8 s
        seen.append(api.get(f"/v1/tools/executions/{execution_id}").json())
        clocked.advance(0.1)

    statuses = [execution["status"] for execution in seen]
    assert statuses == ["pending"] * 3 + ["running"] * 6 + ["succeeded"], statuses
    assert all(e["progressPercentage"] == 0 for e in seen if e["status"] == "pending")
    running = [e["progressPercentage"] for e in seen if e["status"] == "running"]
    assert running == sorted(running) and len(set(running)) == 6, running
    assert all(0 <= progress <= 99 for progress in running)
    assert all("results" not in e for e in seen if e["status"] != "succeeded")

    done = seen[-1]
    assert done["progressPercentage"] == 100
    assert done["toolExecutionId"] == execution_id
    assert done["toolType"] == "GENERATE_IMAGE"
    assert done["attemptIndex"] == 0
    assert done["error"] is None
    assert "createdAt" not in done  # the reference shows none
    assert len(done["results"]) == 3
    assert len({result["fileId"] for result in done["results"]}) == 3
    for result in done["results"]:
        assert result["fileId"].startswith("vg_file_")
        assert result["type"] == "IMAGE"
        assert result["file"]["fileId"] == result["fileId"]
        # Results come hydrated: signed URLs and the image's size.
        source = result["file"]["downloadSource"]
        assert source["status"] == "ready" and source["url"].startswith("http://")
        assert (source["width"], source["height"]) == (1024, 576)


def test_results_are_stable_once_succeeded(instant_api):
    execution = generate(instant_api, prompt="a stable result", numResults=2)
    again = wait(instant_api, execution["toolExecutionId"])

    def files(execution):  # the URLs are signed afresh on each read
        return [(r["fileId"], r["type"], r["file"]["displayName"]) for r in execution["results"]]

    assert files(again) == files(execution)


def test_unknown_and_malformed_execution_ids(api):
    missing = api.get("/v1/tools/executions/vg_exec_doesnotexist")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert "vg_exec_doesnotexist" in missing.json()["message"]

    for path in ("/v1/tools/executions/exec_123", "/v1/tools/executions/exec_123/cancel"):
        method = "POST" if path.endswith("cancel") else "GET"
        malformed = api.request(method, path)
        assert malformed.status_code == 400
        assert malformed.json()["code"] == "invalid_id"

    assert api.post("/v1/tools/executions/vg_exec_doesnotexist/cancel").status_code == 404


def test_cancel_in_flight_stops_the_execution(clocked, clocked_api):
    execution_id = start(clocked_api, prompt="a cancelled idea")

    cancelled = clocked_api.post(f"/v1/tools/executions/{execution_id}/cancel")

    assert cancelled.status_code == 200
    assert cancelled.json() == {"toolExecutionId": execution_id}  # "request accepted"
    clocked.advance(60)  # far past the time it would have succeeded
    later = clocked_api.get(f"/v1/tools/executions/{execution_id}").json()
    assert later["status"] == "cancelled"
    assert "results" not in later
    again = clocked_api.post(f"/v1/tools/executions/{execution_id}/cancel")
    assert again.status_code == 200
    assert clocked_api.get(f"/v1/tools/executions/{execution_id}").json()["status"] == "cancelled"


def test_cancel_while_running_keeps_the_progress_reached(clocked, clocked_api):
    execution_id = start(clocked_api, prompt="half done")
    clocked.advance(0.5)  # pending for 0.2 s, then half-way through 0.6 s of running
    execution = clocked_api.get(f"/v1/tools/executions/{execution_id}").json()

    clocked_api.post(f"/v1/tools/executions/{execution_id}/cancel")
    cancelled = clocked_api.get(f"/v1/tools/executions/{execution_id}").json()

    assert execution["status"] == "running"
    assert execution["progressPercentage"] == 49
    assert cancelled["status"] == "cancelled"
    assert cancelled["progressPercentage"] == 49
    clocked.advance(10)
    later = clocked_api.get(f"/v1/tools/executions/{execution_id}").json()
    assert later["progressPercentage"] == 49


def test_cancel_of_a_terminal_execution_changes_nothing(instant_api):
    execution = generate(instant_api, prompt="already done")

    response = instant_api.post(f"/v1/tools/executions/{execution['toolExecutionId']}/cancel")

    assert response.status_code == 200
    again = wait(instant_api, execution["toolExecutionId"])
    assert again["status"] == "succeeded"
    assert [r["fileId"] for r in again["results"]] == [r["fileId"] for r in execution["results"]]


def test_list_executions_pages_newest_first(make_api):
    api = make_api()
    created = [start(api, prompt=f"prompt {n}") for n in range(5)]

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/tools/executions", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        seen += [item["toolExecutionId"] for item in body["items"]]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break

    assert seen == created[::-1]
    assert pages == 3
    assert api.get("/v1/tools/executions", params={"selfOnly": "true"}).json()["items"]


def test_list_executions_default_and_maximum_limit(make_api):
    api = make_api()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: start(api, prompt=f"p{n}"), range(22)))

    # The reference's pagination: 50 by default, at most 200.
    first = api.get("/v1/tools/executions", params={"limit": 20}).json()
    assert len(first["items"]) == 20
    assert first["nextCursor"] and first["hasMore"] is True
    rest = api.get("/v1/tools/executions", params={"cursor": first["nextCursor"]}).json()
    assert len(rest["items"]) == 2
    assert rest["nextCursor"] is None and rest["hasMore"] is False
    assert len(api.get("/v1/tools/executions").json()["items"]) == 22
    assert len(api.get("/v1/tools/executions", params={"limit": 200}).json()["items"]) == 22


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"limit": "ten"},
        {"limit": -1},
        {"cursor": "not-a-cursor"},
        {"selfOnly": "maybe"},
    ],
)
def test_list_executions_rejects_bad_query(api, params):
    response = api.get("/v1/tools/executions", params=params)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameters"
    assert next(iter(params)) in response.json()["message"]


def test_a_cursor_of_one_list_is_refused_by_another(api):
    upload(api, png_bytes())
    upload(api, png_bytes())
    file_cursor = api.get("/v1/files", params={"limit": 1}).json()["nextCursor"]

    response = api.get("/v1/tools/executions", params={"cursor": file_cursor})

    assert response.status_code == 400


def test_many_concurrent_requests(api):
    with ThreadPoolExecutor(32) as pool:
        ids = list(pool.map(lambda n: start(api, prompt=f"concurrent {n}"), range(64)))

    assert len(set(ids)) == 64


# -- result images ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "size"),
    [
        (None, (1024, 576)),
        ({"width": 16, "height": 9}, (1024, 576)),
        ({"width": 9, "height": 16}, (576, 1024)),
        ({"width": 1, "height": 1}, (1024, 1024)),
        ({"width": 4, "height": 3}, (1024, 768)),
        ({"width": 2, "height": 3}, (683, 1024)),
        ({"width": 21, "height": 9}, (1024, 439)),
        ({"width": 100, "height": 1}, (1024, 10)),
    ],
)
def test_result_is_a_png_of_the_requested_aspect_ratio(instant_api, ratio, size):
    fields = {"prompt": "a field of tulips"}
    if ratio:
        fields["aspectRatio"] = ratio

    [data] = result_images(instant_api, **fields)

    image = decode(data)
    assert image.format == "PNG"
    assert image.size == size


def test_download_has_png_headers(instant_api):
    execution = generate(instant_api, prompt="headers")
    url = hydrate(instant_api, execution["results"][0]["fileId"])["downloadSource"]["url"]

    response = httpx.get(url)

    assert response.headers["content-type"] == "image/png"
    assert int(response.headers["content-length"]) == len(response.content) > 1000


def test_same_prompt_gives_the_same_bytes_and_different_prompts_differ(instant_api):
    first = result_images(instant_api, prompt="a red fox in snow")
    second = result_images(instant_api, prompt="a red fox in snow")
    other = result_images(instant_api, prompt="a blue whale at night")

    assert first == second
    assert first != other
    # Clearly different, not a pixel apart: the mean colours are far from each other.
    fox, whale = (ImageStat.Stat(decode(data[0])).mean for data in (first, other))
    assert sum(abs(a - b) for a, b in zip(fox, whale, strict=True)) > 20


def test_results_of_one_execution_differ(instant_api):
    images = result_images(instant_api, prompt="variations", numResults=3)

    assert len(set(images)) == 3


def test_a_hundred_results_render_quickly(instant_api):
    execution = generate(instant_api, prompt="a crowd", numResults=100)
    started = time.monotonic()

    with ThreadPoolExecutor(16) as pool:
        images = list(
            pool.map(lambda result: download(instant_api, result["fileId"]), execution["results"])
        )

    assert len(set(images)) == 100
    assert time.monotonic() - started < 30


def test_reference_image_tints_the_result(instant_api):
    red = (230, 20, 20)
    reference = upload(instant_api, png_bytes(red))

    [plain] = result_images(instant_api, prompt="a quiet street")
    [tinted] = result_images(instant_api, prompt="a quiet street", imageFileIds=[reference])

    assert plain != tinted

    def distance_to_red(data: bytes) -> float:
        mean = ImageStat.Stat(decode(data).convert("RGB")).mean
        return sum(abs(channel - target) for channel, target in zip(mean, red, strict=True))

    assert distance_to_red(tinted) < 0.8 * distance_to_red(plain)


def test_four_references_are_accepted(instant_api):
    references = [upload(instant_api, png_bytes((60 * n, 100, 200))) for n in range(4)]

    [data] = result_images(instant_api, prompt="a collage", imageFileIds=references)

    assert decode(data).size == (1024, 576)


def test_a_generated_result_can_be_a_reference(instant_api):
    first = generate(instant_api, prompt="a sketch")

    [data] = result_images(
        instant_api, prompt="the sketch, coloured", imageFileIds=[first["results"][0]["fileId"]]
    )

    assert decode(data).size == (1024, 576)


def test_reference_must_be_uploaded_and_decodable(api):
    pending = api.post("/v1/files/upload", json={"displayName": "later.png"}).json()["fileId"]
    broken = upload(api, b"this is not an image", display_name="notes.txt")

    not_uploaded = api.post(
        "/v1/tools/generate-image", json={"prompt": "a", "imageFileIds": [pending]}
    )
    undecodable = api.post(
        "/v1/tools/generate-image", json={"prompt": "a", "imageFileIds": [broken]}
    )

    assert not_uploaded.status_code == 400
    assert not_uploaded.json()["code"] == "invalid_parameters"
    assert f"{pending} has not been uploaded" in not_uploaded.json()["message"]
    assert undecodable.status_code == 400
    assert undecodable.json()["message"] == (
        f"imageFileIds[0]: file {broken} is not a decodable image."
    )


# -- files -------------------------------------------------------------------------


def test_upload_flow(api, sandbox):
    created = api.post(
        "/v1/files/upload", json={"displayName": "cat.png", "type": "IMAGE", "isTemporary": True}
    )
    assert created.status_code == 200, created.text
    assert set(created.json()) == {"fileId", "uploadUrl"}
    file_id = created.json()["fileId"]
    upload_url = created.json()["uploadUrl"]
    assert file_id.startswith("vg_file_")
    assert upload_url.startswith(f"{sandbox.base_url}/_storage/upload/{file_id}?")

    before = hydrate(api, file_id)
    assert before["downloadSource"] == {
        "status": "pending",
        "url": None,
        "expiresAt": None,
        "width": None,
        "height": None,
    }
    assert before["thumbnailSource"]["status"] == "pending"

    data = png_bytes((10, 120, 240), (640, 480))
    put = httpx.put(upload_url, content=data, headers={"Content-Type": "image/png"})
    assert put.status_code == 200
    assert put.headers["x-request-id"].startswith("req_")

    ready = hydrate(api, file_id)
    assert ready["fileId"] == file_id
    assert ready["type"] == "IMAGE"
    assert ready["scope"] == "TEMPORARY"
    assert ready["description"] is None  # temporary files are never analysed
    assert "toolType" not in ready and "toolExecutionId" not in ready
    assert ready["displayName"] == "cat.png"
    assert ready["hlsSource"] is None
    for name in ("downloadSource", "previewSource", "thumbnailSource"):
        source = ready[name]
        assert source["status"] == "ready"
        assert source["url"].startswith(f"{sandbox.base_url}/_storage/")
        assert time.time() < source["expiresAt"] <= time.time() + 301

    plain = api.get(f"/v1/files/{file_id}").json()
    assert {name: plain[name]["url"] for name in ("downloadSource", "thumbnailSource")} == {
        "downloadSource": None,
        "thumbnailSource": None,
    }
    assert plain["downloadSource"]["status"] == "ready"

    downloaded = httpx.get(ready["downloadSource"]["url"])
    assert downloaded.content == data
    assert downloaded.headers["content-type"] == "image/png"
    thumbnail = decode(httpx.get(ready["thumbnailSource"]["url"]).content)
    assert thumbnail.size == (256, 192)


def test_non_image_upload_is_downloadable_but_has_no_previews(api):
    file_id = upload(api, b"%PDF-1.4 not really", display_name="doc.pdf")

    hydrated = hydrate(api, file_id)

    assert hydrated["downloadSource"]["status"] == "ready"
    assert hydrated["thumbnailSource"] == {
        "status": "failed",
        "url": None,
        "expiresAt": None,
        "width": None,
        "height": None,
    }
    assert httpx.get(hydrated["downloadSource"]["url"]).content == b"%PDF-1.4 not really"


def test_same_bytes_may_be_put_again_but_not_others(api):
    created = api.post("/v1/files/upload", json={"displayName": "x.png"}).json()

    assert httpx.put(created["uploadUrl"], content=png_bytes()).status_code == 200
    assert httpx.put(created["uploadUrl"], content=png_bytes()).status_code == 200
    replaced = httpx.put(created["uploadUrl"], content=png_bytes((0, 0, 0)))
    assert replaced.status_code == 409
    assert replaced.json()["code"] == "already_uploaded"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda url, file_id, other: url.replace("token=", "token=0"),
        lambda url, file_id, other: url.split("&expires=")[0] + "&expires=99999999999",
        lambda url, file_id, other: url.split("?")[0],
        lambda url, file_id, other: url.replace(file_id, other),
    ],
    ids=["token", "expiry", "unsigned", "other-file"],
)
def test_upload_with_a_bad_signature_is_refused(api, tamper):
    created = api.post("/v1/files/upload", json={"displayName": "x.png"}).json()
    other = api.post("/v1/files/upload", json={"displayName": "y.png"}).json()["fileId"]

    response = httpx.put(
        tamper(created["uploadUrl"], created["fileId"], other), content=png_bytes()
    )

    assert response.status_code == 403
    assert response.json()["code"] == "invalid_signature"
    assert hydrate(api, created["fileId"])["downloadSource"]["status"] == "pending"
    assert hydrate(api, other)["downloadSource"]["status"] == "pending"


def test_a_download_url_cannot_upload(api):
    file_id = upload(api, png_bytes())
    download_url = hydrate(api, file_id)["downloadSource"]["url"]

    response = httpx.put(download_url.replace("/download/", "/upload/"), content=b"x")

    assert response.status_code == 403


def test_upload_over_50_mb_is_refused_before_reading_it(api, sandbox):
    upload_url = urlsplit(
        api.post("/v1/files/upload", json={"displayName": "big"}).json()["uploadUrl"]
    )
    connection = http.client.HTTPConnection(upload_url.hostname, upload_url.port, timeout=5)
    try:
        # Only the headers: the sandbox must answer from Content-Length alone.
        connection.putrequest("PUT", f"{upload_url.path}?{upload_url.query}")
        connection.putheader("Content-Length", str(50 * 1024 * 1024 + 1))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        assert b"payload_too_large" in response.read()
    finally:
        connection.close()


def test_expired_download_url_is_refused(clocked, clocked_api):
    api = clocked_api
    file_id = upload(api, png_bytes())
    source = hydrate(api, file_id)["downloadSource"]
    assert httpx.get(source["url"]).status_code == 200

    clocked.advance(source["expiresAt"] - clocked.admin("GET", "clock")["now"] - 1)
    still = httpx.get(source["url"]).status_code
    clocked.advance(1.5)

    assert still == 200
    expired = httpx.get(source["url"])
    assert expired.status_code == 403
    assert expired.json()["code"] == "url_expired"
    assert httpx.get(hydrate(api, file_id)["downloadSource"]["url"]).status_code == 200


def test_unknown_and_malformed_file_ids(api):
    assert api.get("/v1/files/vg_file_nope").status_code == 404
    assert api.post("/v1/files/vg_file_nope/hydrate").status_code == 404
    malformed = api.get("/v1/files/file_123")
    assert malformed.status_code == 400
    assert malformed.json()["code"] == "invalid_id"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "displayName"),
        ({"displayName": ""}, "displayName"),
        ({"displayName": "a", "type": "GIF"}, "type"),
        ({"displayName": "a", "isTemporary": "no"}, "isTemporary"),
        ({"displayName": "a", "folder": "x"}, "folder"),
    ],
)
def test_create_upload_validates_its_fields(api, body, named):
    response = api.post("/v1/files/upload", json=body)

    assert response.status_code == 400
    assert named in response.json()["message"]


def test_list_files_pages_newest_first_and_hides_archived(make_api):
    # No analysis within the test: a description is an update, which reorders the list.
    api = make_api("--analysis-seconds", "600")
    uploaded = [upload(api, png_bytes((n, n, n)), display_name=f"{n}.png") for n in range(3)]
    execution = generate(api, prompt="listed")  # its result is a file too

    first = api.get("/v1/files", params={"limit": 2}).json()
    rest = api.get("/v1/files", params={"limit": 2, "cursor": first["nextCursor"]}).json()
    listed = [item["fileId"] for item in first["files"] + rest["files"]]

    assert listed == [execution["results"][0]["fileId"], *uploaded[::-1]]
    assert rest["nextCursor"] is None

    archived = api.post(f"/v1/files/{uploaded[1]}/archive")
    assert archived.status_code == 200
    assert archived.json()["fileId"] == uploaded[1]
    remaining = [item["fileId"] for item in api.get("/v1/files").json()["files"]]
    assert uploaded[1] not in remaining
    assert len(remaining) == 3


# -- the process -------------------------------------------------------------------


def test_connection_stays_usable_after_an_error_with_an_unread_body(sandbox):
    auth = {"Authorization": f"Bearer {sandbox.api_key}"}
    with httpx.Client(base_url=sandbox.base_url, timeout=5) as client:
        refused = client.post("/v1/tools/generate-image", json={"prompt": "x" * 10_000})
        accepted = client.post("/v1/tools/generate-image", json={"prompt": "ok"}, headers=auth)

    assert refused.status_code == 401
    assert accepted.status_code == 202


def test_logs_one_line_per_request_and_stops_on_sigterm(sandbox_factory):
    process = sandbox_factory()
    httpx.get(f"{process.base_url}/v1/files", headers={"Authorization": "Bearer nope"})

    process.process.terminate()

    assert process.process.wait(timeout=5) == 0
    log = process.log_text()
    assert '"GET /v1/files" 401' in log
    assert "listening on " + process.base_url in log
    assert "Shutting down" in log
