"""Rate limits per API key, per endpoint group, per window; and their headers.

Waiting for a window to pass is done on a manual clock (``clocked``), never by sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.fixtures.sandbox import SandboxProcess
from tests.sandbox.conftest import client_for
from tests.sandbox.helpers import hydrate, png_bytes, upload


@pytest.fixture(scope="module")
def strict_sandbox(sandbox_factory: Callable[..., SandboxProcess]) -> SandboxProcess:
    return sandbox_factory("--profile", "strict")


@pytest.fixture
def strict_api(strict_sandbox: SandboxProcess) -> Iterator[httpx.Client]:
    strict_sandbox.reset()  # fresh windows for each test
    with client_for(strict_sandbox) as client:
        yield client


def test_strict_profile_refuses_the_sixth_tool_call_without_retry_after(strict_api):
    answers = [
        strict_api.post("/v1/tools/generate-image", json={"prompt": f"n{n}"}) for n in range(6)
    ]

    assert [answer.status_code for answer in answers] == [202] * 5 + [429]
    assert [answer.headers["x-ratelimit-remaining"] for answer in answers] == [
        "4",
        "3",
        "2",
        "1",
        "0",
        "0",
    ]
    refused = answers[-1]
    assert refused.json()["code"] == "rate_limited"
    assert "retry-after" not in refused.headers  # the reference promises none
    assert refused.headers["x-ratelimit-limit"] == "5"
    reset = int(refused.headers["x-ratelimit-reset"])  # unix seconds
    assert time.time() < reset <= time.time() + 11


def test_each_group_has_its_own_window(strict_api):
    for n in range(5):
        strict_api.post("/v1/tools/generate-image", json={"prompt": f"n{n}"})

    files = strict_api.get("/v1/files")
    executions = strict_api.get("/v1/tools/executions")

    assert files.status_code == executions.status_code == 200
    assert files.headers["x-ratelimit-limit"] == "30"
    assert files.headers["x-ratelimit-remaining"] == "29"
    assert strict_api.post("/v1/tools/upscale-image", json={}).status_code == 429


def test_refused_calls_do_not_count_and_errors_carry_the_headers(strict_api):
    bad = strict_api.post("/v1/tools/generate-image", json={"prompt": ""})

    assert bad.status_code == 400
    assert bad.headers["x-ratelimit-remaining"] == "4"  # a 400 still counts as a request
    missing = strict_api.get("/v1/files/vg_file_nope")
    assert missing.status_code == 404
    assert missing.headers["x-ratelimit-remaining"] == "29"


def test_storage_health_and_unauthenticated_answers_have_no_limit_headers(
    strict_sandbox, strict_api
):
    url = hydrate(strict_api, upload(strict_api, png_bytes()))["downloadSource"]["url"]

    for answer in (
        httpx.get(url),
        httpx.get(f"{strict_sandbox.base_url}/_health"),
        httpx.get(f"{strict_sandbox.base_url}/v1/files"),  # no key: 401
    ):
        assert "x-ratelimit-limit" not in answer.headers


def test_the_shared_test_sandbox_is_generous_but_still_says_so(api):
    answer = api.get("/v1/tools/executions", params={"limit": 1})

    assert answer.status_code == 200
    assert int(answer.headers["x-ratelimit-limit"]) >= 100_000
    assert int(answer.headers["x-ratelimit-remaining"]) > 1000


def test_limits_and_window_change_at_run_time(clocked, clocked_api):
    clocked.faults(rate_limits={"webhooks_list": "2/0.5"})

    statuses = [clocked_api.get("/v1/webhooks/endpoints").status_code for _ in range(3)]
    clocked.advance(0.4)
    still = clocked_api.get("/v1/webhooks/endpoints").status_code
    clocked.advance(0.2)  # the window has passed

    assert statuses == [200, 200, 429]
    assert still == 429
    assert clocked_api.get("/v1/webhooks/endpoints").status_code == 200


def test_the_reset_header_is_enough_to_wait(clocked, clocked_api):
    clocked.faults(rate_limits="tools=1/30")

    first = clocked_api.post("/v1/tools/generate-image", json={"prompt": "a"})
    second = clocked_api.post("/v1/tools/generate-image", json={"prompt": "b"})
    now = clocked.admin("GET", "clock")["now"]
    clocked.advance(int(second.headers["x-ratelimit-reset"]) - now)
    third = clocked_api.post("/v1/tools/generate-image", json={"prompt": "c"})

    assert (first.status_code, second.status_code, third.status_code) == (202, 429, 202)
    assert "retry-after" not in second.headers


def test_a_fault_option_adds_retry_after_to_limit_429s(clocked, clocked_api):
    clocked.faults(rate_limits="tools=1/30", rate_limit_retry_after=True)

    clocked_api.post("/v1/tools/generate-image", json={"prompt": "a"})
    refused = clocked_api.post("/v1/tools/generate-image", json={"prompt": "b"})

    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "30"
