"""manage.py videogen_check: which of Studio's assumptions about VideoGen still hold."""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
import time

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from studio.videogen import VideoGenClient
from studio.videogen.check import FAILS, HOLDS, run_checks


class Command(BaseCommand):
    help = (
        "Ask VideoGen whether each assumption in the README's 'Assumptions about VideoGen' "
        "still holds. With an API key this makes one paid tool call (one temporary 1:1 "
        "image); without one it asks the sandbox, starting it if it is not running."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--sandbox-url",
            help="Without an API key: the sandbox to ask (default VIDEOGEN_BASE_URL; "
            "started on a free port if nothing answers there)",
        )
        parser.add_argument("--timeout", type=float, default=180.0,
                            help="Seconds to wait for the one image (default 180)")

    def handle(self, *args, sandbox_url=None, timeout=180.0, **options):
        if settings.VIDEOGEN_USES_SANDBOX:
            url = (sandbox_url or settings.VIDEOGEN_BASE_URL).rstrip("/")
            with _sandbox_at(url, settings.VIDEOGEN_API_KEY) as base_url:
                self.stdout.write(f"No VIDEOGEN_API_KEY: asking the sandbox at {base_url}.")
                failed = self._check(base_url, settings.VIDEOGEN_API_KEY, timeout)
        else:
            self.stdout.write(
                f"Asking {settings.VIDEOGEN_BASE_URL} (one paid call: a temporary 1:1 image)."
            )
            failed = self._check(settings.VIDEOGEN_BASE_URL, settings.VIDEOGEN_API_KEY, timeout)
        if failed:
            raise CommandError(f"{failed} assumption(s) do not hold: see above.")

    def _check(self, base_url: str, api_key: str, timeout: float) -> int:
        # The refusals are the point here: not worth a warning each in the log.
        client_log = logging.getLogger("studio.videogen")
        level = client_log.level
        client_log.setLevel(logging.ERROR)
        try:
            with VideoGenClient(base_url=base_url, api_key=api_key, client_id="studio-check") as c:
                findings, paid = run_checks(c, timeout=timeout)
        finally:
            client_log.setLevel(level)
        width = max(len(f.name) for f in findings)
        for finding in findings:
            style = {HOLDS: self.style.SUCCESS, FAILS: self.style.ERROR}.get(
                finding.verdict, self.style.WARNING
            )
            self.stdout.write(
                f"{style(finding.verdict.ljust(13))} {finding.name.ljust(width)}  "
                f"{finding.assumption}"
            )
            if finding.detail:
                self.stdout.write(f"{'':13} {'':{width}}  -> {finding.detail}")
        held = sum(f.verdict == HOLDS for f in findings)
        failed = sum(f.verdict == FAILS for f in findings)
        self.stdout.write(
            f"{held} hold, {failed} do not, {len(findings) - held - failed} unknown; "
            f"{paid} paid tool call(s) accepted."
        )
        return failed


@contextlib.contextmanager
def _sandbox_at(url: str, api_key: str):
    """The sandbox at `url` if it answers; else one started for this check, and stopped."""
    if _answers(url, api_key):
        yield url
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "studio.sandbox", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )
    started = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _answers(started, api_key):
            if process.poll() is not None or time.monotonic() > deadline:
                raise CommandError(
                    f"Nothing answers at {url}, and the sandbox could not be started; "
                    "start it (python -m studio.sandbox) or pass --sandbox-url."
                )
            time.sleep(0.2)
        yield started
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _answers(url: str, api_key: str) -> bool:
    try:
        httpx.get(f"{url}/v1/files", params={"limit": 1}, timeout=2,
                  headers={"Authorization": f"Bearer {api_key}"})
    except httpx.HTTPError:
        return False
    return True
