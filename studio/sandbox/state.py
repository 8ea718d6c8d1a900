"""The sandbox's in-memory records: files and tool executions.

Everything lives behind one lock; methods hand out shallow copies, so callers
never see a record change under them. An execution's status is derived from
the time since it was created (pending, then running, then succeeded), so no
background thread is needed: `_refresh` brings a record up to date whenever
it is read.

Image work (decoding references, drawing results) is slow compared to dict
lookups and happens outside the lock.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TypeVar

from PIL import Image

from . import images
from .errors import ApiError, not_found

EXECUTION_PREFIX = "vg_exec_"
FILE_PREFIX = "vg_file_"
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})


@dataclass
class StoredFile:
    """An uploaded file, or a result of an execution."""

    file_id: str
    seq: int
    display_name: str
    type: str
    created_at: float  # unix time
    is_temporary: bool
    content: bytes | None = None  # None until uploaded, or until a generated image is first drawn
    content_type: str = "application/octet-stream"
    render: images.RenderSpec | None = None  # how to draw a generated image
    is_image: bool | None = None  # whether Pillow can decode it; None before upload
    thumbnail: bytes | None = None
    archived: bool = False

    @property
    def uploaded(self) -> bool:
        return self.content is not None or self.render is not None


@dataclass(frozen=True)
class GenerateImageJob:
    """A validated generate-image request, with its references already decoded."""

    prompt: str
    size: tuple[int, int]
    num_results: int
    watermark: bool
    is_output_temporary: bool
    reference: Image.Image | None


@dataclass
class Execution:
    """A tool execution; `status` and `progress` are as of the last `_refresh`."""

    execution_id: str
    seq: int
    tool_type: str
    created_at: float  # unix time
    started: float  # monotonic time of creation, and the deadlines of the two phases
    pending_until: float
    running_until: float
    job: GenerateImageJob
    status: str = "pending"
    progress: int = 0
    cancelled: bool = False
    result_file_ids: tuple[str, ...] = ()

    def phase(self, now: float) -> tuple[str, int]:
        """Status and progress percentage at monotonic time `now`."""
        if self.cancelled:
            return "cancelled", self.progress
        if now < self.pending_until:
            return "pending", 0
        if now < self.running_until:
            elapsed = now - self.pending_until
            return "running", int(99 * elapsed / (self.running_until - self.pending_until))
        return "succeeded", 100


class SandboxState:
    def __init__(
        self,
        *,
        pending_seconds: float,
        running_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.pending_seconds = pending_seconds
        self.running_seconds = running_seconds
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._seq = 0
        # Insertion-ordered, so reversed() lists newest first.
        self._files: dict[str, StoredFile] = {}
        self._executions: dict[str, Execution] = {}

    # -- executions ---------------------------------------------------------

    def create_execution(self, tool_type: str, job: GenerateImageJob) -> Execution:
        now = self._monotonic()
        with self._lock:
            execution = Execution(
                execution_id=_new_id(EXECUTION_PREFIX),
                seq=self._next_seq(),
                tool_type=tool_type,
                created_at=self._wall_clock(),
                started=now,
                pending_until=now + self.pending_seconds,
                running_until=now + self.pending_seconds + self.running_seconds,
                job=job,
            )
            self._executions[execution.execution_id] = execution
            return replace(execution)

    def get_execution(self, execution_id: str) -> Execution:
        with self._lock:
            return replace(self._refresh(self._execution(execution_id)))

    def cancel_execution(self, execution_id: str) -> Execution:
        with self._lock:
            execution = self._refresh(self._execution(execution_id))
            if execution.status not in TERMINAL_STATUSES:
                execution.cancelled = True
                execution.status = "cancelled"  # progress stays where it stopped
            return replace(execution)

    def list_executions(
        self, limit: int, before_seq: int | None
    ) -> tuple[list[Execution], int | None]:
        with self._lock:
            page, next_seq = _page(reversed(self._executions.values()), limit, before_seq)
            return [replace(self._refresh(execution)) for execution in page], next_seq

    def execution_files(self, execution: Execution) -> list[StoredFile]:
        with self._lock:
            return [replace(self._files[file_id]) for file_id in execution.result_file_ids]

    # -- files --------------------------------------------------------------

    def create_upload(self, display_name: str, file_type: str, is_temporary: bool) -> StoredFile:
        with self._lock:
            stored = StoredFile(
                file_id=_new_id(FILE_PREFIX),
                seq=self._next_seq(),
                display_name=display_name,
                type=file_type,
                created_at=self._wall_clock(),
                is_temporary=is_temporary,
            )
            self._files[stored.file_id] = stored
            return replace(stored)

    def complete_upload(self, file_id: str, data: bytes, content_type: str | None) -> StoredFile:
        mime = images.probe(data)  # outside the lock: decoding can take a while
        with self._lock:
            stored = self._file(file_id)
            if stored.content is not None:
                # A retried PUT of the same bytes is harmless; other bytes would
                # swap the file under whoever already uses it.
                if stored.content != data:
                    raise ApiError(
                        409, "already_uploaded", f"File {file_id} has already been uploaded."
                    )
                return replace(stored)
            stored.content = data
            stored.is_image = mime is not None
            stored.content_type = mime or content_type or "application/octet-stream"
            return replace(stored)

    def get_file(self, file_id: str) -> StoredFile:
        with self._lock:
            return replace(self._file(file_id))

    def archive_file(self, file_id: str) -> StoredFile:
        with self._lock:
            stored = self._file(file_id)
            stored.archived = True
            return replace(stored)

    def list_files(self, limit: int, before_seq: int | None) -> tuple[list[StoredFile], int | None]:
        with self._lock:
            # Results of executions nobody polled yet still belong in the listing.
            for execution in self._executions.values():
                self._refresh(execution)
            live = (stored for stored in reversed(self._files.values()) if not stored.archived)
            page, next_seq = _page(live, limit, before_seq)
            return [replace(stored) for stored in page], next_seq

    def file_content(self, file_id: str) -> tuple[bytes, str]:
        """The bytes of a file and their MIME type, drawing a generated image on first use."""
        with self._lock:
            stored = self._file(file_id)
            content, spec, content_type = stored.content, stored.render, stored.content_type
        if content is None:
            if spec is None:
                raise not_found(f"File {file_id} has not been uploaded yet.")
            # Drawing is deterministic, so two threads racing here store equal bytes.
            content = images.render_png(spec)
            with self._lock:
                stored.content = content
        return content, content_type

    def file_thumbnail(self, file_id: str) -> bytes:
        with self._lock:
            stored = self._file(file_id)
            cached, is_image = stored.thumbnail, stored.is_image
        if cached is not None:
            return cached
        if not is_image:
            raise not_found(f"File {file_id} has no thumbnail: it is not a decodable image.")
        thumbnail = images.thumbnail_png(self.file_content(file_id)[0])
        with self._lock:
            stored.thumbnail = thumbnail
        return thumbnail

    # -- internals (call with the lock held) --------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _execution(self, execution_id: str) -> Execution:
        try:
            return self._executions[execution_id]
        except KeyError:
            raise not_found(f"Tool execution {execution_id} does not exist.") from None

    def _file(self, file_id: str) -> StoredFile:
        try:
            return self._files[file_id]
        except KeyError:
            raise not_found(f"File {file_id} does not exist.") from None

    def _refresh(self, execution: Execution) -> Execution:
        """Bring status and progress up to date; create the result files once it succeeds.

        This is the one place where an execution changes status, so webhook
        delivery belongs here (plus a timer, for executions nobody polls).
        """
        execution.status, execution.progress = execution.phase(self._monotonic())
        if execution.status == "succeeded" and not execution.result_file_ids:
            execution.result_file_ids = self._add_result_files(execution)
        return execution

    def _add_result_files(self, execution: Execution) -> tuple[str, ...]:
        job = execution.job
        # Stamped with the moment the execution succeeded, not when someone first looked.
        finished_at = execution.created_at + (execution.running_until - execution.started)
        file_ids = []
        for index in range(job.num_results):
            stored = StoredFile(
                file_id=_new_id(FILE_PREFIX),
                seq=self._next_seq(),
                display_name=f"Generated image {index + 1}.png",
                type="IMAGE",
                created_at=finished_at,
                is_temporary=job.is_output_temporary,
                content_type="image/png",
                render=images.RenderSpec(
                    prompt=job.prompt,
                    index=index,
                    size=job.size,
                    watermark=job.watermark,
                    reference=job.reference,
                ),
                is_image=True,
            )
            self._files[stored.file_id] = stored
            file_ids.append(stored.file_id)
        return tuple(file_ids)


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


_Record = TypeVar("_Record", Execution, StoredFile)


def _page(
    newest_first: Iterable[_Record], limit: int, before_seq: int | None
) -> tuple[list[_Record], int | None]:
    """Up to `limit` records older than `before_seq`, and the seq to continue from.

    The seq is None on the last page.
    """
    page: list[_Record] = []
    for record in newest_first:
        if before_seq is not None and record.seq >= before_seq:
            continue
        if len(page) == limit:
            return page, page[-1].seq
        page.append(record)
    return page, None
