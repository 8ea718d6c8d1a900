"""`make run`'s worker main process dies (kill -9): honcho would stop the
whole studio when one of its processes exits, so the Procfile starts worker
and beat under bin/respawn. A new worker process is started within 5 s, the
runner says what happened and keeps the rest up, and the new worker takes
work again.

This runs honcho with the repository's own Procfile (worker and beat; the
test's sandbox stands in for the Procfile's, whose fixed port other runs use).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from studio.generations.models import Generation, Status
from studio.generations.services import generation_create
from tests.conftest import wait_for
from tests.fixtures.factories import make_user

from .conftest import REPO_ROOT, report

pytestmark = pytest.mark.faults

RESTARTED_WITHIN = 5.0  # a new worker process
# ...and ready to take work: Python, Django and Celery load in 1-2 s on an
# idle machine, several seconds on a loaded CI runner.
READY_WITHIN = 15.0


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def _worker_main(honcho_pid: int) -> int | None:
    """honcho -> ... -> sh bin/respawn worker -> the celery worker's main process."""
    pending = [(honcho_pid, child) for child in _children(honcho_pid)]
    while pending:
        parent, pid = pending.pop()
        command = _cmdline(pid)
        if "celery -A studio worker" in command and "respawn" not in command:
            if "bin/respawn worker" in _cmdline(parent):
                return pid
        pending += [(pid, child) for child in _children(pid)]
    return None


def test_the_worker_is_back_within_5_s_after_its_main_process_dies(
    make_stack, sandbox_factory, broker, tmp_path
):
    box = sandbox_factory("--pending-seconds", "0.3", "--running-seconds", "0.5")
    stack = make_stack(box)
    log_path = tmp_path / "honcho.log"
    with log_path.open("wb") as log:
        honcho = subprocess.Popen(
            [str(REPO_ROOT / ".venv/bin/honcho"), "--procfile", "Procfile", "start",
             "worker", "beat"],
            cwd=REPO_ROOT, env=stack.env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        def text() -> str:
            return log_path.read_text(errors="replace")

        wait_for(lambda: text().count(" ready.") == 1, timeout=60, message=text)
        first = _worker_main(honcho.pid)
        assert first

        os.kill(first, signal.SIGKILL)
        killed_at = time.monotonic()
        wait_for(lambda: _worker_main(honcho.pid) not in (None, first), timeout=30,
                 interval=0.05, message=text)
        restarted_after = time.monotonic() - killed_at
        wait_for(lambda: text().count(" ready.") == 2, timeout=30, message=text)
        ready_after = time.monotonic() - killed_at

        user = make_user()
        generation = generation_create(team=user.teams.get(), user=user, prompt="after the kill")
        wait_for(
            lambda: Generation.objects.get(pk=generation.pk).ingested_at is not None,
            timeout=60, message=text,
        )
        report(f"worker main killed under honcho [{broker}]",
               {"restarted_after_seconds": round(restarted_after, 1),
                "ready_after_seconds": round(ready_after, 1),
                "runner_alive": honcho.poll() is None})

        assert honcho.poll() is None, "honcho kept the rest up"
        assert "respawn: worker ended (killed by SIGKILL); starting it again" in text()
        assert restarted_after < RESTARTED_WITHIN, restarted_after
        assert ready_after < READY_WITHIN, ready_after
        assert Generation.objects.get(pk=generation.pk).status == Status.SUCCEEDED
    finally:
        honcho.send_signal(signal.SIGTERM)  # as Ctrl-C: honcho stops worker and beat
        try:
            honcho.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait()
