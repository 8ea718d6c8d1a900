"""Fault injection and the admin endpoints: each switch, set at run time through /_admin/faults."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.sandbox.conftest import LAB_ADMIN_TOKEN, client_for
from tests.sandbox.helpers import (
    generate,
    hydrate,
    png_bytes,
    start,
    start_tool,
    upload,
    wait,
)

# -- the admin endpoints ---------------------------------------------------------


def test_admin_needs_the_admin_token_when_there_is_one(lab):
    url = f"{lab.base_url}/_admin/faults"

    assert httpx.get(url).status_code == 401
    with_key = httpx.get(url, headers={"Authorization": f"Bearer {lab.api_key}"})
    assert with_key.status_code == 401
    assert with_key.json()["code"] == "invalid_api_key"
    with_token = httpx.get(url, headers={"Authorization": f"Bearer {LAB_ADMIN_TOKEN}"})
    assert with_token.status_code == 200


def test_admin_takes_the_api_key_without_an_admin_token(sandbox):
    answer = httpx.get(
        f"{sandbox.base_url}/_admin/stats", headers={"Authorization": f"Bearer {sandbox.api_key}"}
    )

    assert answer.status_code == 200
    assert set(answer.json()) == {"executions", "requests", "responses", "injected", "webhooks"}


def test_get_shows_the_starting_settings_and_post_merges(lab):
    before = lab.faults()
    assert before["pending_seconds"] == 0
    assert before["running_seconds"] == 0.05
    assert before["server_error_share"] == dict.fromkeys(
        [
            "tools",
            "executions",
            "cancel",
            "files",
            "hydrate",
            "uploads",
            "search",
            "resources",
            "webhooks_list",
            "webhooks_create",
            "webhooks_delete",
            "storage",
        ],
        0.0,
    )

    after = lab.faults(latency_ms={"files": 30}, server_error_statuses=[502])

    assert after["latency_ms"]["files"] == 30
    assert after["latency_ms"]["tools"] == 0  # other groups keep theirs
    assert after["server_error_statuses"] == [502]
    assert after["running_seconds"] == 0.05  # keys not given are left alone
    assert lab.faults(latency_ms=5)["latency_ms"] == dict.fromkeys(after["latency_ms"], 5)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"no_such_fault": 1}, "no_such_fault"),
        ({"server_error_share": 1.5}, "server_error_share"),
        ({"server_error_share": {"nowhere": 0.5}}, "nowhere"),
        ({"rate_limited_share": {"storage": 0.5}}, "storage"),
        ({"server_error_statuses": [418]}, "server_error_statuses"),
        ({"server_error_statuses": []}, "server_error_statuses"),
        ({"pending_seconds": -1}, "pending_seconds"),
        ({"production_addon": "yes"}, "production_addon"),
        ({"rate_limits": {"tools": "0/60"}}, "tools=0/60"),
        ({"rate_limits": {"tools": 2.5}}, "tools=2.5"),
        ({"rate_limits": "webhooks=2/1"}, "unknown group 'webhooks'"),
        ({"execution_failure_code": ""}, "execution_failure_code"),
    ],
)
def test_bad_changes_are_a_400_and_change_nothing(lab, changes, named):
    before = lab.faults()

    response = httpx.post(
        f"{lab.base_url}/_admin/faults",
        json=changes,
        headers={"Authorization": f"Bearer {LAB_ADMIN_TOKEN}"},
    )

    assert response.status_code == 400
    assert named in response.json()["message"]
    assert lab.faults() == before


def test_reset_forgets_records_and_restores_the_starting_faults(lab, lab_api):
    file_id = upload(lab_api, png_bytes())
    start(lab_api, prompt="before the reset")
    lab.faults(production_addon=True, latency_ms=10)

    lab.reset()

    assert lab_api.get(f"/v1/files/{file_id}").status_code == 404
    assert lab_api.get("/v1/tools/executions").json()["items"] == []
    assert lab.faults()["production_addon"] is False
    assert lab.faults()["latency_ms"]["files"] == 0
    assert lab.stats()["executions"] == {}


def test_stats_count_executions_requests_and_responses(lab, lab_api):
    source = upload(lab_api, png_bytes())
    generate(lab_api, prompt="one")
    generate(lab_api, prompt="two")
    start_tool(lab_api, "upscale-image", imageStorageFileId=source)
    start_tool(lab_api, "vectorize-image", imageStorageFileId=source)
    lab_api.post("/v1/tools/generate-image", json={"prompt": ""})  # a 400 starts nothing

    stats = lab.stats()

    assert stats["executions"] == {"GENERATE_IMAGE": 2, "UPSCALE_IMAGE": 1, "VECTORIZE_IMAGE": 1}
    assert stats["requests"]["POST /v1/tools/generate-image"] == 3
    assert stats["requests"]["POST /v1/tools/upscale-image"] == 1
    assert stats["requests"]["PUT /_storage/upload/{file_id}"] == 1
    assert stats["requests"]["GET /v1/tools/executions/{execution_id}"] >= 2
    assert stats["responses"]["400"] == 1
    assert stats["responses"]["202"] == 4


# -- executions ------------------------------------------------------------------


def test_failure_share_fails_executions_with_the_error_body(lab, lab_api):
    lab.faults(execution_failure_share=1.0, running_seconds=0.3)
    source = upload(lab_api, png_bytes())

    generated = wait(lab_api, start(lab_api, prompt="a cat"))
    tool = wait(lab_api, start_tool(lab_api, "remove-image-background", imageStorageFileId=source))

    for execution in (generated, tool):
        assert execution["status"] == "failed"
        assert "results" not in execution
        assert execution["error"] == {
            "message": "The model could not render this prompt.",
            "code": "generation_failed",
        }
        assert 0 < execution["progressPercentage"] < 100  # it failed part-way

    lab.faults(execution_failure_code="content_policy", execution_failure_message="No.")
    again = wait(lab_api, start(lab_api, prompt="a cat"))
    assert again["error"] == {"message": "No.", "code": "content_policy"}
    assert lab.stats()["executions"]["GENERATE_IMAGE"] == 2


def test_a_share_of_one_half_fails_about_half_reproducibly(sandbox_factory):
    def outcomes(box) -> list[str]:
        with client_for(box) as api:
            ids = [start(api, prompt=f"p{n}") for n in range(20)]
            return [wait(api, execution_id)["status"] for execution_id in ids]

    flags = ("--pending-seconds", "0", "--running-seconds", "0", "--seed", "42")
    first = sandbox_factory(*flags, "--execution-failure-share", "0.5")
    runs = [outcomes(first)]
    first.reset()  # back to the start of the seeded sequence
    runs.append(outcomes(first))
    first.stop()

    assert runs[0] == runs[1]
    assert 3 <= runs[0].count("failed") <= 17


def test_durations_change_for_new_executions(lab, lab_api):
    lab.faults(pending_seconds=5)
    slow = start(lab_api, prompt="slow")
    lab.faults(pending_seconds=0)
    quick = start(lab_api, prompt="quick")

    assert wait(lab_api, quick)["status"] == "succeeded"
    assert lab_api.get(f"/v1/tools/executions/{slow}").json()["status"] == "pending"


def test_production_addon_switches_at_run_time(lab, lab_api):
    body = {"prompt": "clean", "watermarkMode": "NONE"}
    assert lab_api.post("/v1/tools/generate-image", json=body).status_code == 403

    lab.faults(production_addon=True)
    assert lab_api.post("/v1/tools/generate-image", json=body).status_code == 202

    lab.faults(production_addon=False)
    assert lab_api.post("/v1/tools/generate-image", json=body).status_code == 403


# -- requests --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "method", "path"),
    [
        ("tools", "POST", "/v1/tools/generate-image"),
        ("executions", "GET", "/v1/tools/executions"),
        ("files", "GET", "/v1/files"),
        ("webhooks_list", "GET", "/v1/webhooks/endpoints"),
        ("hydrate", "POST", "/v1/files/vg_file_x/hydrate"),
        ("search", "POST", "/v1/files/search"),
    ],
)
def test_server_error_share_of_one_fails_every_call_of_its_group(lab, lab_api, group, method, path):
    lab.faults(server_error_share={group: 1.0})

    answers = [lab_api.request(method, path, json={"prompt": "x"}) for _ in range(6)]

    assert {answer.status_code for answer in answers} <= {500, 502, 503}
    for answer in answers:
        assert answer.json()["code"] in ("internal_error", "bad_gateway", "service_unavailable")
        assert answer.headers["x-request-id"].startswith("req_")
        assert "x-ratelimit-limit" in answer.headers
    assert lab_api.get("/_health").status_code == 200
    other_group = "/v1/files" if group != "files" else "/v1/tools/executions"
    assert lab_api.get(other_group).status_code == 200
    assert lab.stats()["injected"]["server_error"] == 6
    assert lab.stats()["executions"] == {}  # refused before anything started


def test_statuses_pick_the_5xx_and_503_says_when_to_retry(lab, lab_api):
    lab.faults(server_error_share={"files": 1.0}, server_error_statuses=[503])

    answer = lab_api.get("/v1/files")

    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"


def test_a_5xx_after_handling_loses_the_answer_but_not_the_execution(lab, lab_api):
    # The case that makes tool POSTs unsafe to retry: the 502 hides a started execution.
    lab.faults(
        server_error_share={"tools": 1.0},
        server_error_statuses=[502],
        server_error_after_handling_share=1.0,
    )

    answer = lab_api.post("/v1/tools/generate-image", json={"prompt": "paid for"})

    assert answer.status_code == 502
    lab.faults(server_error_share=0.0)
    [execution] = lab_api.get("/v1/tools/executions").json()["items"]
    assert wait(lab_api, execution["toolExecutionId"])["status"] == "succeeded"
    assert lab.stats()["executions"] == {"GENERATE_IMAGE": 1}


def test_storage_can_fail_too(lab, lab_api):
    file_id = upload(lab_api, png_bytes())
    url = hydrate(lab_api, file_id)["downloadSource"]["url"]
    lab.faults(server_error_share={"storage": 1.0}, server_error_statuses=[500])

    assert httpx.get(url).status_code == 500


def test_rate_limited_share_answers_429_with_retry_after(lab, lab_api):
    lab.faults(rate_limited_share={"executions": 1.0}, rate_limited_retry_after=7)

    answer = lab_api.get("/v1/tools/executions")

    assert answer.status_code == 429
    assert answer.json()["code"] == "rate_limited"
    assert answer.headers["retry-after"] == "7"
    assert lab_api.get("/v1/files").status_code == 200
    assert lab.stats()["injected"]["rate_limited"] == 1


def test_latency_slows_one_group(lab, lab_api):
    lab.faults(latency_ms={"files": 300}, latency_jitter_ms={"files": 100})

    started = time.monotonic()
    lab_api.get("/v1/files")
    slow = time.monotonic() - started
    started = time.monotonic()
    lab_api.get("/v1/tools/executions")
    quick = time.monotonic() - started

    assert 0.3 <= slow < 1.0
    assert quick < 0.2


# -- downloads -------------------------------------------------------------------


def test_truncated_download_sends_less_than_its_content_length(lab, lab_api):
    data = png_bytes((10, 20, 30), (300, 300)) + bytes(range(256)) * 40
    file_id = upload(lab_api, data, display_name="big.bin")
    url = hydrate(lab_api, file_id)["downloadSource"]["url"]
    lab.faults(truncated_download_share=1.0, truncated_download_fraction=0.25)

    received = 0
    with httpx.stream("GET", url) as response:
        declared = int(response.headers["content-length"])
        with pytest.raises(httpx.RemoteProtocolError):
            for chunk in response.iter_raw():
                received += len(chunk)

    assert declared == len(data)
    assert 0 < received < declared
    assert received == int(len(data) * 0.25)
    lab.faults(truncated_download_share=0.0)
    assert httpx.get(url).content == data  # the file itself is whole


def test_slow_download_is_throttled(lab, lab_api):
    data = bytes(range(256)) * 12  # 3 KB
    url = hydrate(lab_api, upload(lab_api, data, display_name="x.bin"))["downloadSource"]["url"]
    lab.faults(download_bytes_per_second=5000)

    started = time.monotonic()
    content = httpx.get(url).content

    assert content == data
    assert time.monotonic() - started > 0.5
