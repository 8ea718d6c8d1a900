from __future__ import annotations

import httpx
import pytest

from studio.videogen import DownloadError, ForbiddenError, NotFoundError

from .conftest import Recorder

URL = "https://storage.test/files/1.png?signature=secret"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


def streamed(chunks, **headers):
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=headers, content=iter(chunks))

    return answer


def test_streams_in_chunks_without_the_api_key(make_client):
    recorder = Recorder(lambda request: httpx.Response(200, content=PNG))
    client = make_client(recorder)

    chunks = list(client.stream_download(URL, chunk_size=1000))

    assert b"".join(chunks) == PNG
    assert max(len(chunk) for chunk in chunks) <= 1000
    assert len(chunks) > 1
    [request] = recorder.requests
    assert "Authorization" not in request.headers
    assert str(request.url) == URL


def test_nothing_is_sent_before_the_first_chunk_is_asked_for(make_client):
    recorder = Recorder(lambda request: httpx.Response(200, content=PNG))
    client = make_client(recorder)

    download = client.stream_download(URL)
    assert recorder.requests == []
    next(download)
    assert len(recorder.requests) == 1
    download.close()


def test_short_body_against_content_length_is_truncated(make_client):
    client = make_client(
        Recorder(streamed([PNG[:100], PNG[100:500]], **{"Content-Length": str(len(PNG))}))
    )

    with pytest.raises(DownloadError) as caught:
        b"".join(client.stream_download(URL))

    assert caught.value.reason == DownloadError.TRUNCATED
    assert caught.value.transient
    assert caught.value.expected_bytes == len(PNG)
    assert caught.value.received_bytes == 500


def test_connection_dropped_mid_body_is_truncated(make_client):
    def chunks():
        yield PNG[:100]
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body"
        )

    client = make_client(Recorder(lambda request: httpx.Response(200, content=chunks())))

    with pytest.raises(DownloadError) as caught:
        b"".join(client.stream_download(URL))

    assert caught.value.reason == DownloadError.TRUNCATED
    assert caught.value.received_bytes == 100


def test_too_large_by_content_length_is_refused_before_reading(make_client):
    client = make_client(Recorder(lambda request: httpx.Response(200, content=PNG)))

    download = client.stream_download(URL, max_bytes=100)
    with pytest.raises(DownloadError) as caught:
        next(download)

    assert caught.value.reason == DownloadError.TOO_LARGE
    assert not caught.value.transient


def test_too_large_without_content_length_stops_while_streaming(make_client):
    client = make_client(Recorder(streamed([PNG[:1000], PNG[1000:2000], PNG[2000:]])))

    received = b""
    with pytest.raises(DownloadError) as caught:
        for chunk in client.stream_download(URL, chunk_size=1000, max_bytes=1500):
            received += chunk

    assert caught.value.reason == DownloadError.TOO_LARGE
    assert received == PNG[:1000]


def test_expired_signed_url_is_forbidden(make_client):
    client = make_client(Recorder(httpx.Response(403, text="<Error>Request has expired</Error>")))

    with pytest.raises(ForbiddenError, match="expired"):
        list(client.stream_download(URL))


def test_opening_a_download_is_retried(make_client):
    recorder = Recorder(
        httpx.Response(503),
        httpx.ConnectError("refused"),
        lambda request: httpx.Response(200, content=PNG),
    )
    client = make_client(recorder)

    assert b"".join(client.stream_download(URL)) == PNG
    assert len(recorder.requests) == 3


def test_signature_stays_out_of_the_logs(make_client, videogen_log):
    client = make_client(Recorder(httpx.Response(404)))

    with pytest.raises(NotFoundError):
        list(client.stream_download(URL))

    assert "secret" not in videogen_log.text
    assert "https://storage.test/files/1.png" in videogen_log.text


def test_real_connection_closed_early_is_truncated():
    """Over a real socket: the server promises more bytes than it sends."""
    import socket
    import threading

    from studio.videogen import VideoGenClient

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_once():
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n"
                + f"Content-Length: {len(PNG)}\r\n\r\n".encode()
                + PNG[:1000]
            )

    server = threading.Thread(target=serve_once, daemon=True)
    server.start()
    try:
        with VideoGenClient(base_url="http://127.0.0.1", api_key="k", timeout=5.0) as client:
            with pytest.raises(DownloadError) as caught:
                b"".join(client.stream_download(f"http://127.0.0.1:{port}/1.png?sig=s"))
    finally:
        server.join(timeout=5)
        listener.close()

    assert caught.value.reason == DownloadError.TRUNCATED
    assert caught.value.expected_bytes == len(PNG)
