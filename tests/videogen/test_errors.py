from __future__ import annotations

import httpx
import pytest

from studio.videogen import (
    ApiConnectionError,
    AuthenticationError,
    DownloadError,
    ForbiddenError,
    InvalidParametersError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    VideoGenError,
)

from .conftest import Recorder


def error_answer(status: int, message: str = "nope", code: str | None = None, **headers: str):
    body = {"message": message} if code is None else {"message": message, "code": code}
    return httpx.Response(status, json=body, headers={"x-request-id": "req_123", **headers})


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, InvalidParametersError),
        (401, AuthenticationError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (429, RateLimitedError),
        (500, ServerError),
        (503, ServerError),
        (418, VideoGenError),
    ],
)
def test_status_maps_to_error_class(make_client, status, error_class):
    client = make_client(Recorder(error_answer(status, "Went wrong.", "some_code")))

    with pytest.raises(error_class) as caught:
        client.get_file("vg_file_1")

    assert type(caught.value) is error_class
    assert caught.value.status == status
    assert caught.value.code == "some_code"
    assert caught.value.request_id == "req_123"
    assert caught.value.message == "Went wrong."


def test_error_str_names_code_and_request_id(make_client):
    client = make_client(Recorder(error_answer(401, "Invalid API key.", "invalid_api_key")))

    with pytest.raises(AuthenticationError) as caught:
        client.get_execution("vg_exec_1")

    assert (
        str(caught.value)
        == "Invalid API key. (status=401, code=invalid_api_key, request_id=req_123)"
    )


def test_error_without_json_body_keeps_status(make_client):
    client = make_client(Recorder(httpx.Response(502, text="<html>Bad gateway</html>")))

    with pytest.raises(ServerError) as caught:
        client.get_execution("vg_exec_1")

    assert caught.value.code is None
    assert caught.value.request_id is None
    assert "Bad gateway" in caught.value.message


def test_empty_error_body_gets_a_message(make_client):
    client = make_client(Recorder(httpx.Response(404)))

    with pytest.raises(NotFoundError, match="HTTP 404"):
        client.get_execution("vg_exec_1")


def test_transient_flags():
    assert RateLimitedError("x").transient
    assert ServerError("x").transient
    assert ApiConnectionError("x", request_sent=True).transient
    for error in (
        VideoGenError("x"),
        InvalidParametersError("x"),
        AuthenticationError("x"),
        ForbiddenError("x"),
        NotFoundError("x"),
    ):
        assert not error.transient
    assert DownloadError("x", reason=DownloadError.TRUNCATED).transient
    assert not DownloadError("x", reason=DownloadError.TOO_LARGE).transient


def test_every_error_is_logged_with_request_id(make_client, videogen_log):
    client = make_client(Recorder(error_answer(403, "Needs the Production add-on.", "forbidden")))

    with pytest.raises(ForbiddenError):
        client.generate_image(prompt="a cat", watermark_mode="NONE")

    [record] = videogen_log.records
    message = record.getMessage()
    assert "POST /v1/tools/generate-image" in message
    assert "status=403" in message
    assert "code=forbidden" in message
    assert "request_id=req_123" in message


def test_non_json_success_body_is_an_error(make_client):
    client = make_client(Recorder(httpx.Response(200, text="not json")))

    with pytest.raises(VideoGenError, match="not JSON"):
        client.get_execution("vg_exec_1")
