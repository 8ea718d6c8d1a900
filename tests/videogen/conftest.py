from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import httpx
import pytest

from studio.videogen import VideoGenClient
from studio.videogen import client as client_module

BASE_URL = "https://api.videogen.test"
API_KEY = "vg_test_key"

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that answers from a script and keeps every request."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            # A fresh copy each time, as a scripted answer may be given more than once.
            return httpx.Response(
                answer.status_code, headers=answer.headers, content=answer.content
            )
        return answer(request)


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retries wait without sleeping; the waits are recorded instead."""
    waits: list[float] = []
    monkeypatch.setattr(client_module, "_sleep", waits.append)
    return waits


@pytest.fixture
def make_client() -> Iterator[Callable[[Recorder], VideoGenClient]]:
    clients: list[VideoGenClient] = []

    def make(recorder: Recorder) -> VideoGenClient:
        client = VideoGenClient(
            base_url=BASE_URL, api_key=API_KEY, transport=httpx.MockTransport(recorder)
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def videogen_log(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pytest.LogCaptureFixture]:
    """caplog, fed directly by the client's logger, whatever the logging settings say."""
    logger = logging.getLogger("studio.videogen")
    monkeypatch.setattr(logger, "propagate", False)  # each record once
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger="studio.videogen"):
            yield caplog
    finally:
        logger.removeHandler(caplog.handler)
