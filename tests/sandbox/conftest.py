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


LAB_ADMIN_TOKEN = "lab-admin"
LAB_FLAGS = (
    "--pending-seconds",
    "0",
    "--running-seconds",
    "0.05",
    "--webhook-retry-base-seconds",
    "0.1",
    "--admin-token",
    LAB_ADMIN_TOKEN,
    "--seed",
    "7",
)


@pytest.fixture(scope="session")
def lab_sandbox(sandbox_factory: Callable[..., SandboxProcess]) -> SandboxProcess:
    """A sandbox for faults and webhooks: quick executions and retries, its own admin token."""
    return sandbox_factory(*LAB_FLAGS)


@pytest.fixture
def lab(lab_sandbox: SandboxProcess) -> SandboxProcess:
    """The lab sandbox, reset: no records, no endpoints, zero counters, faults as started."""
    lab_sandbox.reset()
    return lab_sandbox


@pytest.fixture
def lab_api(lab: SandboxProcess) -> Iterator[httpx.Client]:
    with client_for(lab) as client:
        yield client


CLOCKED_FLAGS = ("--manual-clock", "--admin-token", LAB_ADMIN_TOKEN, "--seed", "7")


@pytest.fixture(scope="session")
def clocked_sandbox(sandbox_factory: Callable[..., SandboxProcess]) -> SandboxProcess:
    """A sandbox whose time moves only when a test says (pending 0.2 s, running 0.6 s,
    webhook retries after 0.5 s doubling): nothing in it waits for the wall clock."""
    return sandbox_factory(*CLOCKED_FLAGS)


@pytest.fixture
def clocked(clocked_sandbox: SandboxProcess) -> SandboxProcess:
    clocked_sandbox.reset()
    return clocked_sandbox


@pytest.fixture
def clocked_api(clocked: SandboxProcess) -> Iterator[httpx.Client]:
    with client_for(clocked) as client:
        yield client
