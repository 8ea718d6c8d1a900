"""What Studio's benchmarks share: Studio's real processes, started for one run.

`Stack` starts a private redis-server on a free port (never the machine's
6379), the sandbox, Celery worker(s) and beat as subprocesses, and gunicorn
when a browser needs a server; the benchmark process itself sets Django up
with the same environment, to create users and generations and read results.
The database is SQLite under var/bench-<name>/ (deleted first), or with
DATABASE_URL set, a throwaway database on that server (created and dropped).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what}: not within {timeout:g} s")


def percentile(values, share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS (kB) and Threads of a process, from /proc."""
    found = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM", "Threads"):
                    found[key] = int(value.split()[0])
    except FileNotFoundError:
        pass
    return found


def family(pid: int) -> list[int]:
    """A process and its children (a prefork worker is a parent and its pool)."""
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        children = []
    for child in children:
        pids += family(int(child))
    return pids


class Process:
    def __init__(self, name: str, command: list[str], env: dict, log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, marker: str, timeout: float = 60) -> None:
        def seen():
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_text()[-3000:]}")
            return marker in self.log_text()

        wait_until(seen, timeout, f"{self.name} ready")

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()


def _documented_limits() -> dict[str, int]:
    from studio.videogen.ratelimit import DOCUMENTED_LIMITS

    return DOCUMENTED_LIMITS


class Stack:
    def __init__(self, name: str, *, sandbox_flags=(), env: dict | None = None):
        self.dir = ROOT / "var" / f"bench-{name}"
        shutil.rmtree(self.dir, ignore_errors=True)
        (self.dir / "logs").mkdir(parents=True)
        self.processes: list[Process] = []
        self.redis_url = f"redis://127.0.0.1:{free_port()}/0"
        self.sandbox_url = f"http://127.0.0.1:{free_port()}"
        self.web_url = f"http://127.0.0.1:{free_port()}"
        self.sandbox_flags = list(sandbox_flags)
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("STUDIO_", "VIDEOGEN_"))
        }
        self.env.update({
            "DJANGO_SETTINGS_MODULE": "studio.settings",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "STUDIO_VAR_DIR": str(self.dir / "var"),
            "REDIS_URL": self.redis_url,
            "VIDEOGEN_BASE_URL": self.sandbox_url,
            "VIDEOGEN_SANDBOX_KEY": "sandbox",
            "STUDIO_LOG_LEVEL": "INFO",  # the worker says "ready." at INFO
            # The sandbox runs "generous" (below): Studio's budget is the same table.
            "STUDIO_RATE_LIMITS": ",".join(
                f"{g}={n * 100}/3600" for g, n in _documented_limits().items()
            ),
            **(env or {}),
        })
        self._test_db = False

    # -- processes ---------------------------------------------------------------

    def start(self, name: str, command: list[str], ready: str | None = None) -> Process:
        process = Process(name, command, self.env, self.dir / "logs")
        self.processes.append(process)
        if ready:
            process.wait_for_log(ready)
        return process

    def start_services(self) -> None:
        """Redis and the sandbox, then Django in this process (migrated)."""
        port = urlsplit(self.redis_url).port
        self.start("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
                   ready="Ready to accept connections")
        sandbox_port = urlsplit(self.sandbox_url).port
        # Generous limits (the sandbox's default is the documented hourly table): benches
        # measure Studio, not a key's quota; a bench's own flags come after and win.
        self.start("sandbox", [sys.executable, "-m", "studio.sandbox", "--port",
                               str(sandbox_port), "--rate-limit-profile", "generous",
                               *self.sandbox_flags],
                   ready="listening on")
        self._setup_django()

    def _setup_django(self) -> None:
        os.environ.update(self.env)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        if connection.vendor == "sqlite":
            call_command("migrate", verbosity=0)
        else:  # a throwaway database on the server, as the test suite does
            name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
            self._test_db = True
            url = urlsplit(os.environ["DATABASE_URL"])
            self.env["DATABASE_URL"] = urlunsplit(url._replace(path=f"/{name}"))

    def start_worker(self, name="worker", *, concurrency=4, pool="prefork", queues=None):
        command = [sys.executable, "-m", "celery", "-A", "studio", "worker", "-P", pool,
                   "-c", str(concurrency), "-n", f"{name}@%h", "--loglevel", "INFO",
                   "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if queues:
            command += ["-Q", queues]
        process = self.start(name, command)
        process.wait_for_log(" ready.")
        return process

    def start_beat(self) -> Process:
        return self.start("beat", [sys.executable, "-m", "celery", "-A", "studio", "beat",
                                   "--schedule", str(self.dir / "beat-schedule"),
                                   "--loglevel", "INFO"], ready="beat: Starting")

    def start_web(self, workers: int = 2) -> Process:
        port = urlsplit(self.web_url).port
        process = self.start("web", [sys.executable, "-m", "gunicorn", "studio.wsgi",
                                     "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                                     "--threads", "4"])

        def answers():
            import httpx

            try:
                return httpx.get(f"{self.web_url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(answers, 30, "gunicorn")
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        if self._test_db:
            from django.db import connection

            connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)

    # -- the sandbox's counters ------------------------------------------------------

    def sandbox_admin(self, method: str, path: str, json=None):
        import httpx

        response = httpx.request(method, f"{self.sandbox_url}/_admin/{path}", json=json,
                                 headers={"Authorization": "Bearer sandbox"}, timeout=30)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict:
        return self.sandbox_admin("GET", "stats")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def make_member(username: str = "bench", password: str = "bench bench bench"):
    from tests.fixtures.factories import make_user

    return make_user(username, password=password)
