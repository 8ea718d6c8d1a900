"""The retry rule: reads repeat briefly; paid POSTs repeat only when never sent."""

from __future__ import annotations

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
    assert client.cancel_execution("vg_exec_1").id == "vg_exec_1"
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


def test_429_without_retry_after_uses_the_short_backoff(make_client, sleeps):
    recorder = Recorder(httpx.Response(429), EXECUTION)
    client = make_client(recorder)

    client.get_execution("vg_exec_1")

    assert sleeps == [0.2]


def test_client_errors_are_not_retried(make_client):
    recorder = Recorder(httpx.Response(404, json={"message": "No such execution."}))
    client = make_client(recorder)

    with pytest.raises(NotFoundError):
        client.get_execution("vg_exec_missing")

    assert len(recorder.requests) == 1
