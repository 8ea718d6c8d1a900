"""Does VideoGen still answer what Studio assumes? (`manage.py videogen_check`)

Each assumption in assumptions.py is asked of the API with as little as it
takes: refused calls cost nothing, and exactly one tool call is accepted (one
temporary 1:1 image), whose result also shows the reference facts Studio
relies on most (hydrated results, X-RateLimit-* headers). No Django here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from . import assumptions
from .client import SOURCE_FIELDS, VideoGenClient
from .errors import VideoGenError

HOLDS = "holds"
FAILS = "does not hold"
UNKNOWN = "unknown"

PROMPT = "Studio assumption check: a small grey square on white"
# Well-formed, but no such file: what VideoGen answers for a file that is gone.
MISSING_FILE_ID = "vg_file_" + "0" * 24
# Malformed on purpose: a tool that knows the field answers invalid_id; one that
# does not know it answers invalid_parameters.
MALFORMED_FILE_ID = "studio-check-not-an-id"


@dataclass(frozen=True)
class Finding:
    name: str
    assumption: str
    verdict: str
    detail: str = ""


class Checker:
    def __init__(
        self,
        client: VideoGenClient,
        *,
        timeout: float = 180.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.timeout = timeout
        self.sleep = sleep
        self.findings: list[Finding] = []
        self.paid_calls = 0
        self._answers = 0
        self._answers_with_headers = 0

    def run(self) -> list[Finding]:
        execution_id = self._watermark_and_aspect_ratio()
        if execution_id:
            self._result(execution_id)
        for tool, name in (
            ("upscale-image", "UPSCALE_SOURCE_FIELD"),
            ("remove-image-background", "REMOVE_BACKGROUND_SOURCE_FIELD"),
        ):
            self._sibling_fields(tool, name)
        self._file_gone()
        self._note(
            "X-RateLimit-*",
            "every answer carries X-RateLimit-Limit, -Remaining and -Reset (reference)",
            HOLDS if self._answers and self._answers == self._answers_with_headers else FAILS,
            f"{self._answers_with_headers} of {self._answers} answers carried them",
        )
        return self.findings

    # -- the checks ------------------------------------------------------------

    def _watermark_and_aspect_ratio(self) -> str | None:
        """NONE first: without the add-on it is refused (free) and its status is the
        finding; with it, that call is the one paid call. Else one AUTO call."""
        status_name = "WATERMARK_REFUSED_STATUS"
        status_text = _assumed(status_name)
        try:
            execution_id = self._paid("NONE")
        except VideoGenError as exc:
            execution_id = None
            refused = exc
        else:
            self._note(status_name, status_text, UNKNOWN,
                       "this key has the Production add-on: NONE was accepted")
            return execution_id
        try:
            execution_id = self._paid("AUTO")
        except VideoGenError as exc:
            self._note(status_name, status_text, UNKNOWN, "generate-image refused AUTO too")
            self._note("ASPECT_RATIO_FIELDS", _assumed("ASPECT_RATIO_FIELDS"), FAILS,
                       f"generate-image refused {{width: 1, height: 1}}: {_said(exc)}")
            return None
        expected = assumptions.WATERMARK_REFUSED_STATUS
        self._note(
            status_name,
            status_text,
            HOLDS if refused.status == expected else FAILS,
            f"NONE was refused with {_said(refused)}",
        )
        return execution_id

    def _paid(self, watermark_mode: str) -> str:
        execution_id = self._call(
            lambda: self.client.generate_image(
                prompt=PROMPT,
                aspect_ratio="1:1",
                watermark_mode=watermark_mode,
                num_results=1,
                is_output_temporary=True,
            )
        )
        self.paid_calls += 1
        return execution_id

    def _result(self, execution_id: str) -> None:
        name, text = "ASPECT_RATIO_FIELDS", _assumed("ASPECT_RATIO_FIELDS")
        deadline = time.monotonic() + self.timeout
        execution = self._call(lambda: self.client.get_execution(execution_id))
        while not execution.is_terminal and time.monotonic() < deadline:
            self.sleep(2.0)
            execution = self._call(lambda: self.client.get_execution(execution_id))
        if not execution.is_succeeded:
            self._note(name, text, UNKNOWN, f"the 1:1 image ended {execution.status or 'late'}")
            return
        files = [r.file for r in execution.results if r.file is not None]
        source = files[0].download if files else None
        if source is None or not (source.width and source.height):
            self._note(name, text, UNKNOWN, "accepted; the result has no width and height")
        else:
            square = source.width == source.height
            self._note(name, text, HOLDS if square else FAILS,
                       f"accepted; the result is {source.width}x{source.height}")
        hydrated = bool(files) and all(f.usable_download_url(time.time()) for f in files)
        self._note(
            "hydrated results",
            "a succeeded execution's results carry signed URLs (reference)",
            HOLDS if hydrated else FAILS,
            "no hydrate needed" if hydrated else "Studio would hydrate each result",
        )

    def _sibling_fields(self, tool: str, name: str) -> None:
        field = SOURCE_FIELDS[tool]
        body = {field: MALFORMED_FILE_ID, "watermarkMode": "AUTO", "numResults": 1,
                "isOutputTemporary": True}
        try:
            execution_id = self._call(lambda: self.client._start_tool(tool, body))
        except VideoGenError as exc:
            if exc.code == "invalid_id":
                self._note(name, _assumed(name), HOLDS, f"{field} was read as an id: {_said(exc)}")
            elif exc.code == "invalid_parameters" or exc.status == 400:
                self._note(name, _assumed(name), FAILS, _said(exc))
            else:
                self._note(name, _assumed(name), UNKNOWN, _said(exc))
            return
        self._cancel(execution_id)
        self._note(name, _assumed(name), UNKNOWN, "a malformed id was accepted (cancelled)")

    def _file_gone(self) -> None:
        name = "FILE_GONE_STATUSES"
        body = {"imageStorageFileId": MISSING_FILE_ID, "watermarkMode": "AUTO", "numResults": 1,
                "isOutputTemporary": True}
        try:
            execution_id = self._call(lambda: self.client._start_tool("vectorize-image", body))
        except VideoGenError as exc:
            if exc.code == "invalid_id":
                verdict = UNKNOWN  # the probe id itself was taken as malformed
            else:
                verdict = HOLDS if exc.status in assumptions.FILE_GONE_STATUSES else FAILS
            self._note(name, _assumed(name), verdict, f"a missing file: {_said(exc)}")
            return
        self._cancel(execution_id)
        self._note(name, _assumed(name), FAILS, "a missing file was accepted (cancelled)")

    # -- helpers -----------------------------------------------------------------

    def _call(self, call):
        try:
            return call()
        finally:
            self._answers += 1
            info = self.client.last_rate_limit
            if info is not None and None not in (info.limit, info.remaining, info.reset_at):
                self._answers_with_headers += 1
            # Read once per answer: the next answer must bring its own.
            self.client._last_rate_limit = None

    def _cancel(self, execution_id: str) -> None:
        try:
            self._call(lambda: self.client.cancel_execution(execution_id))
        except VideoGenError:
            pass

    def _note(self, name: str, assumption: str, verdict: str, detail: str = "") -> None:
        self.findings.append(Finding(name, assumption, verdict, detail))


def _assumed(name: str) -> str:
    return dict(assumptions.ASSUMPTIONS)[name]


def _said(error: VideoGenError) -> str:
    code = f" {error.code}" if error.code else ""
    return f"{error.status}{code}: {error.message}"


def run_checks(client: VideoGenClient, **options) -> tuple[list[Finding], int]:
    """The findings, and how many paid tool calls were accepted (at most one)."""
    checker = Checker(client, **options)
    findings = checker.run()
    return findings, checker.paid_calls
