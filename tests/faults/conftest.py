"""Fault tests run Studio's worker and beat as real subprocesses (``celery -A
studio worker``), so that a test can kill -9 them, restart them, and take
their broker away, while the test process watches the database and the
sandbox's counters.

Every test that starts a stack runs twice, once per broker (the `broker`
fixture): Redis, and the embedded SQLite broker of `make run`
(studio/broker.py), with its file under the stack's var/ and no Redis at
all in the subprocesses (cache and rate limits per process, as `make run`
has them). The test process publishes to the same broker.

The subprocesses use tests/faults/worker_settings.py: the real settings,
pointed through the environment at this test's database, Redis key prefix,
media folder and sandbox.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.db.models import Count

from studio.celery import app as celery_app
from studio.generations.models import ACTIVE_STATUSES, Generation, Result, Status
from tests.conftest import delete_redis_keys

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 30.0
BROKERS = ("redis", "embedded")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class StudioProcess:
    """One `celery -A studio worker|beat` in its own process group (kill -9 takes it all)."""

    def __init__(self, kind: str, args: list[str], env: dict[str, str], log_path: Path):
        self.kind = kind
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "studio", kind, *args],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, marker: str, since: int = 0) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if marker in self.log_text()[since:]:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"celery {self.kind} did not start:\n{self.log_text()[-4000:]}")

    def kill(self) -> None:
        """kill -9 of the whole process group: the main process and its pool children."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # warm shutdown
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


@dataclass
class Stack:
    """Studio's background processes for one test, and what they are pointed at."""

    workdir: Path
    env: dict[str, str]
    broker: str = "redis"
    workers: list[StudioProcess] = field(default_factory=list)
    beat: StudioProcess | None = None
    started: int = 0

    def start_worker(self, concurrency: int = 2, pool: str = "prefork") -> StudioProcess:
        self.started += 1
        log = self.workdir / f"worker-{self.started}.log"
        worker = StudioProcess(
            "worker",
            ["-P", pool, "-c", str(concurrency), "-n", f"faults{self.started}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--loglevel", "INFO"],
            self.env,
            log,
        )
        worker.wait_ready(" ready.")
        self.workers.append(worker)
        return worker

    def start_beat(self) -> StudioProcess:
        self.beat = StudioProcess(
            "beat",
            ["--schedule", str(self.workdir / "beat-schedule"), "--loglevel", "INFO"],
            self.env,
            self.workdir / "beat.log",
        )
        self.beat.wait_ready("beat: Starting")
        return self.beat

    @property
    def broker_file(self) -> Path:
        """The embedded broker's SQLite file (what `make run` keeps in var/)."""
        return self.workdir / "var" / "broker.sqlite3"

    def stop(self) -> None:
        for process in [*self.workers, *([self.beat] if self.beat else [])]:
            try:
                process.stop()
            except (OSError, ValueError):
                pass

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.log_path.name}\n{p.log_text()[-3000:]}"
            for p in [*self.workers, *([self.beat] if self.beat else [])]
        )


def stack_env(
    *,
    workdir: Path,
    sandbox,
    redis_url: str | None = None,
    broker: str = "redis",
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment of worker and beat: this test's database, Redis keys, media, sandbox."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STUDIO_", "VIDEOGEN_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.faults.worker_settings",
            "PYTHONPATH": str(REPO_ROOT),
            "PYTHONUNBUFFERED": "1",
            "STUDIO_FAULTS_DB_NAME": str(connection.settings_dict["NAME"]),
            # Empty: the embedded broker, and no Redis for cache or rate limits.
            "REDIS_URL": (redis_url or settings.REDIS_URL) if broker == "redis" else "",
            "STUDIO_REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
            "STUDIO_VAR_DIR": str(workdir / "var"),
            "STUDIO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "VIDEOGEN_BASE_URL": sandbox.base_url,
            "VIDEOGEN_SANDBOX_KEY": sandbox.api_key,
            "VIDEOGEN_TIMEOUT": "10",
            "STUDIO_RATE_LIMITS": settings.STUDIO_RATE_LIMITS,
            "STUDIO_POLL_FIRST_DELAY": "0.3",
            "STUDIO_POLL_BACKOFF": "1.3",
            "STUDIO_POLL_MAX_DELAY": "2",
            "STUDIO_RECONCILE_INTERVAL": "1",
            "STUDIO_RECONCILE_GRACE": "4",
            "STUDIO_LOG_LEVEL": "INFO",
        }
    )
    if "DATABASE_URL" in os.environ:
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    env.update(extra or {})
    return env


@pytest.fixture(params=BROKERS)
def broker(request) -> str:
    """Which broker the stack runs on: each fault test runs once per broker."""
    return request.param


def publish_to(url: str, options: dict) -> tuple[str, dict]:
    """Point this process's Celery app (what generation_create and the live
    server enqueue through) at a broker; returns what it was pointed at."""
    conf = celery_app.conf
    before = (conf.broker_url, conf.broker_transport_options)
    conf.broker_url, conf.broker_transport_options = url, options
    celery_app._pool = None  # connections are made again, to the new broker
    celery_app.amqp._producer_pool = None
    return before


@pytest.fixture
def make_stack(transactional_db, media_root, tmp_path, broker) -> Iterator:
    """make_stack(sandbox, redis_url=None, **env) -> Stack; stopped at the end of the test."""
    stacks: list[Stack] = []
    delete_redis_keys()  # no message of an earlier test may reach these workers
    published_to = None

    def make(sandbox, redis_url: str | None = None, **extra: str) -> Stack:
        nonlocal published_to
        workdir = tmp_path / f"stack-{len(stacks)}"
        workdir.mkdir()
        stack = Stack(
            workdir,
            stack_env(workdir=workdir, sandbox=sandbox, redis_url=redis_url, broker=broker,
                      extra=extra),
            broker,
        )
        if broker == "embedded":
            before = publish_to(
                "studio-sqlite://localhost/",
                {"path": str(stack.broker_file)},
            )
            published_to = published_to or before
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop()
    if published_to:
        publish_to(*published_to)
    delete_redis_keys()


class PrivateRedis:
    """A redis-server of the test's own, on a free port, that the test may stop and restart.

    The machine's Redis on 6379 serves other suites and is never touched.
    """

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        """Gone at once, and with it every queued message (nothing is saved)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        self.kill()


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


# --- what a run ended with ------------------------------------------------------------


def executions_on(sandbox) -> int:
    return sum(sandbox.stats()["executions"].values())


def outcome(generations, sandbox, executions: int | None = None) -> dict[str, int]:
    """Counts the report quotes: lost, duplicate executions, unknown, and the rest.

    `executions`: how many the sandbox created for these generations (default: all it has).
    """
    rows = list(Generation.objects.filter(pk__in=[g.pk for g in generations]))
    claimed = {g.remote_execution_id for g in rows if g.remote_execution_id}
    in_flight = [
        g for g in rows
        if g.status in ACTIVE_STATUSES or (g.status == Status.SUCCEEDED and not g.ingested_at)
    ]
    duplicate_results = (
        Result.objects.filter(generation__in=rows)
        .values("generation", "position")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    executions = executions_on(sandbox) if executions is None else executions
    unknown = sum(g.status == Status.UNKNOWN for g in rows)
    return {
        "generations": len(rows),
        "succeeded": sum(g.status == Status.SUCCEEDED and bool(g.ingested_at) for g in rows),
        "failed": sum(g.status == Status.FAILED for g in rows),
        "unknown": unknown,
        "lost": len(in_flight),
        "executions": executions,
        "claimed_executions": len(claimed),
        # Beyond one per generation: an unknown generation may own one unclaimed execution.
        "duplicate_executions": max(0, executions - len(claimed) - unknown),
        "duplicate_results": duplicate_results,
    }


def report(name: str, counts: dict) -> None:
    """One line per run in the test output (-s) and in test-results/faults.log."""
    line = f"{name}: " + ", ".join(f"{k}={v}" for k, v in counts.items())
    print(line)
    out = REPO_ROOT / "test-results"
    out.mkdir(exist_ok=True)
    with (out / "faults.log").open("a") as log:
        log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")
