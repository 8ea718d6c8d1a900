from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.fixtures.sandbox import SandboxProcess


def client_for(sandbox: SandboxProcess) -> httpx.Client:
    return httpx.Client(
        base_url=sandbox.base_url,
        headers={"Authorization": f"Bearer {sandbox.api_key}"},
        timeout=10.0,
    )


@pytest.fixture
def api(sandbox: SandboxProcess) -> Iterator[httpx.Client]:
    """An authenticated client of the shared sandbox (pending 0.2 s, running 0.6 s)."""
    with client_for(sandbox) as client:
        yield client


@pytest.fixture(scope="module")
def instant_sandbox(sandbox_factory: Callable[..., SandboxProcess]) -> SandboxProcess:
    """A sandbox whose executions succeed at once, for tests about results rather than timing."""
    return sandbox_factory("--pending-seconds", "0", "--running-seconds", "0")


@pytest.fixture
def instant_api(instant_sandbox: SandboxProcess) -> Iterator[httpx.Client]:
    with client_for(instant_sandbox) as client:
        yield client


@pytest.fixture
def make_api(
    sandbox_factory: Callable[..., SandboxProcess],
) -> Iterator[Callable[..., httpx.Client]]:
    """Start a fresh sandbox with extra flags, stopped after the test, and return a client of it."""
    started: list[tuple[SandboxProcess, httpx.Client]] = []

    def make(*flags: str) -> httpx.Client:
        sandbox = sandbox_factory(*flags)
        started.append((sandbox, client_for(sandbox)))
        return started[-1][1]

    yield make
    for sandbox, client in started:
        client.close()
        sandbox.stop()
