"""The retry rule: reads repeat briefly; paid POSTs repeat only when never sent."""

from __future__ import annotations

import time

import httpx
import pytest

from studio.videogen import (
    ApiConnectionError,
    NotFoundError,
    RateLimitedError,
    ServerError,
)

from .conftest import Recorder

STARTED = httpx.Response(202, json={"toolExecutionId": "vg_exec_1"})
EXECUTION = httpx.Response(200, json={"toolExecutionId": "vg_exec_1", "status": "running"})
FILE = httpx.Response(200, json={"fileId": "vg_file_1", "type": "IMAGE"})


def unavailable() -> httpx.Response:
    return httpx.Response(503, json={"message": "Try later."})


def test_read_timeout_on_generate_image_is_not_retried(make_client, sleeps):
    recorder = Recorder(httpx.ReadTimeout("timed out"), STARTED)
    client = make_client(recorder)

    with pytest.raises(ApiConnectionError) as caught:
        client.generate_image(prompt="a cat")

    assert len(recorder.requests) == 1
    assert caught.value.request_sent is True
    assert sleeps == []


def test_remote_protocol_error_on_a_tool_post_is_not_retried(make_client):
    recorder = Recorder(httpx.RemoteProtocolError("Server disconnected"), STARTED)
    client = make_client(recorder)

    with pytest.raises(ApiConnectionError) as caught:
        client.upscale_image(image_file_id="vg_file_1")

    assert len(recorder.requests) == 1
    assert caught.value.request_sent is True


def test_server_error_on_generate_image_is_not_retried(make_client):
    recorder = Recorder(unavailable(), STARTED)
    client = make_client(recorder)

    with pytest.raises(ServerError):
        client.generate_image(prompt="a cat")

    assert len(recorder.requests) == 1


def test_rate_limit_on_generate_image_is_left_to_the_caller(make_client):
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "1"}), STARTED)
    client = make_client(recorder)

    with pytest.raises(RateLimitedError) as caught:
        client.generate_image(prompt="a cat")

    assert len(recorder.requests) == 1
    assert caught.value.retry_after == 1.0


def test_connect_error_on_generate_image_is_retried(make_client, sleeps):
    recorder = Recorder(httpx.ConnectError("refused"), STARTED)
    client = make_client(recorder)

    assert client.generate_image(prompt="a cat") == "vg_exec_1"
    assert len(recorder.requests) == 2
    assert sleeps == [0.2]


def test_connect_timeout_on_create_upload_is_retried(make_client):
    upload = httpx.Response(
        200, json={"fileId": "vg_file_1", "uploadUrl": "https://storage.test/u"}
    )
    recorder = Recorder(httpx.ConnectTimeout("slow"), upload)
    client = make_client(recorder)

    assert client.create_upload(display_name="cat.png").file_id == "vg_file_1"
    assert len(recorder.requests) == 2


def test_read_timeout_on_create_upload_is_not_retried(make_client):
    recorder = Recorder(httpx.ReadTimeout("timed out"))
    client = make_client(recorder)

    with pytest.raises(ApiConnectionError):
        client.create_upload(display_name="cat.png")

    assert len(recorder.requests) == 1


def test_connect_errors_give_up_after_two_retries(make_client, sleeps):
    recorder = Recorder(httpx.ConnectError("refused"))
    client = make_client(recorder)

    with pytest.raises(ApiConnectionError) as caught:
        client.generate_image(prompt="a cat")

    assert caught.value.request_sent is False
    assert len(recorder.requests) == 3
    assert sleeps == [0.2, 0.5]


def test_get_503_twice_then_200_succeeds(make_client, sleeps):
    recorder = Recorder(unavailable(), unavailable(), EXECUTION)
    client = make_client(recorder)

    assert client.get_execution("vg_exec_1").status == "running"
    assert len(recorder.requests) == 3
    assert sleeps == [0.2, 0.5]


def test_get_503_three_times_raises(make_client):
    recorder = Recorder(unavailable())
    client = make_client(recorder)

    with pytest.raises(ServerError):
        client.get_execution("vg_exec_1")

    assert len(recorder.requests) == 3


def test_get_read_timeout_is_retried(make_client):
    recorder = Recorder(httpx.ReadTimeout("timed out"), EXECUTION)
    client = make_client(recorder)

    assert client.get_execution("vg_exec_1").id == "vg_exec_1"
    assert len(recorder.requests) == 2


def test_hydrate_and_cancel_are_retried(make_client):
    recorder = Recorder(httpx.Response(502), FILE, httpx.ReadTimeout("timed out"), EXECUTION)
    client = make_client(recorder)

    assert client.hydrate_file("vg_file_1").id == "vg_file_1"
    assert client.cancel_execution("vg_exec_1") == "vg_exec_1"
    assert len(recorder.requests) == 4


def test_list_executions_is_retried(make_client):
    recorder = Recorder(unavailable(), httpx.Response(200, json={"items": [], "nextCursor": None}))
    client = make_client(recorder)

    assert client.list_executions().items == ()
    assert len(recorder.requests) == 2


def test_429_with_short_retry_after_waits_that_long(make_client, sleeps):
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "1.5"}), EXECUTION)
    client = make_client(recorder)

    client.get_execution("vg_exec_1")

    assert sleeps == [1.5]
    assert len(recorder.requests) == 2


def test_429_with_long_retry_after_is_raised_at_once(make_client, sleeps):
    answer = httpx.Response(
        429, json={"message": "Slow down.", "code": "rate_limited"}, headers={"Retry-After": "30"}
    )
    recorder = Recorder(answer, EXECUTION)
    client = make_client(recorder)

    with pytest.raises(RateLimitedError) as caught:
        client.get_execution("vg_exec_1")

    assert caught.value.retry_after == 30.0
    assert caught.value.code == "rate_limited"
    assert len(recorder.requests) == 1
    assert sleeps == []


def test_429_without_any_hint_backs_off_exponentially(make_client, sleeps):
    recorder = Recorder(httpx.Response(429), httpx.Response(429), httpx.Response(429))
    client = make_client(recorder)

    with pytest.raises(RateLimitedError) as caught:
        client.get_execution("vg_exec_1")

    # 1 s, then 2 s; the third wait (4 s) is too long to sleep here: the caller re-schedules.
    assert sleeps == [1.0, 2.0]
    assert caught.value.retry_after == 4.0


def test_429_waits_until_x_ratelimit_reset(make_client, sleeps):
    reset = int(time.time()) + 30
    answer = httpx.Response(
        429,
        headers={"X-RateLimit-Limit": "500", "X-RateLimit-Remaining": "0",
                 "X-RateLimit-Reset": str(reset)},
    )
    client = make_client(Recorder(answer))

    with pytest.raises(RateLimitedError) as caught:
        client.get_execution("vg_exec_1")

    assert sleeps == []
    assert reset - time.time() <= caught.value.retry_after <= reset - time.time() + 1
    assert caught.value.rate_limit.remaining == 0 and caught.value.rate_limit.limit == 500


def test_a_429_while_requests_remain_backs_off_instead_of_waiting_an_hour(make_client, sleeps):
    answer = httpx.Response(
        429,
        headers={"X-RateLimit-Limit": "500", "X-RateLimit-Remaining": "120",
                 "X-RateLimit-Reset": str(int(time.time()) + 3000)},
    )
    client = make_client(Recorder(answer, EXECUTION))

    client.get_execution("vg_exec_1")

    assert sleeps == [1.0]


def test_retry_after_wins_over_the_reset_when_it_comes(make_client, sleeps):
    answer = httpx.Response(
        429, headers={"Retry-After": "1", "X-RateLimit-Reset": str(int(time.time()) + 300)}
    )
    client = make_client(Recorder(answer, EXECUTION))

    client.get_execution("vg_exec_1")

    assert sleeps == [1.0]


def test_every_answer_says_where_its_group_stands(make_client):
    headers = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999",
               "X-RateLimit-Reset": "1800000000"}
    client = make_client(
        Recorder(httpx.Response(200, json={"toolExecutionId": "vg_exec_1"}, headers=headers))
    )

    client.get_execution("vg_exec_1")

    info = client.rate_limit("executions")
    assert (info.group, info.limit, info.remaining, info.reset_at) == (
        "executions", 5000, 4999, 1800000000.0
    )
    assert client.last_rate_limit == info
    assert client.rate_limit("tools") is None


def test_client_errors_are_not_retried(make_client):
    recorder = Recorder(httpx.Response(404, json={"message": "No such execution."}))
    client = make_client(recorder)

    with pytest.raises(NotFoundError):
        client.get_execution("vg_exec_missing")

    assert len(recorder.requests) == 1
