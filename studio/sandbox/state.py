"""The sandbox's in-memory records: files and tool executions.

Everything lives behind one lock; methods hand out shallow copies, so callers
never see a record change under them. An execution's status is derived from
the time since it was created (pending, then running, then succeeded or
failed, as its plan says): `_refresh` brings a record up to date whenever it
is read, and the sandbox's clock reads each execution when it is due to end,
so the moment it ends is noticed even if nobody polls. `_refresh` is the one
place that notices, and tells `on_execution_finished` exactly once.

Image work (decoding references, drawing results) is slow compared to dict
lookups and happens outside the lock, on first download of a result.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import partial
from typing import TypeVar

from PIL import Image

from . import image_tools, images
from .errors import ApiError, not_found
from .faults import ExecutionPlan

EXECUTION_PREFIX = "vg_exec_"
FILE_PREFIX = "vg_file_"
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})


@dataclass
class StoredFile:
    """An uploaded file, or a result of an execution."""

    file_id: str
    seq: int
    display_name: str
    type: str | None  # None until an upload's bytes tell
    created_at: float  # unix time
    is_temporary: bool
    # The seq of its last change: lists show the most recently updated first.
    touched: int = 0
    size: tuple[int, int] | None = None  # width, height of a decodable image
    # What it shows, in words, for its description: a prompt, or the name of an upload.
    subject: str = ""
    render_spec: images.RenderSpec | None = None  # how a generated image was drawn
    description: str | None = None  # set by analysis (never for temporary files)
    public_token: str | None = None  # set while public preview is enabled
    tool_type: str | None = None
    tool_execution_id: str | None = None
    upload_error: dict[str, str] | None = None  # {message, code} of a failed upload
    content: bytes | None = None  # None until uploaded, or until a generated image is first drawn
    content_type: str = "application/octet-stream"
    render: Callable[[], bytes] | None = None  # how to draw a result, on first download
    is_image: bool | None = None  # whether it has previews (Pillow decodes it); None before upload
    thumbnail: bytes | None = None
    render_thumbnail: Callable[[], bytes] | None = None  # for results Pillow cannot decode (SVG)
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


@dataclass(frozen=True)
class ImageToolJob:
    """An upscale, background removal or vectorization of one source image."""

    source_file_id: str
    source_name: str
    source_size: tuple[int, int] | None
    source_subject: str
    num_results: int
    watermark: bool
    is_output_temporary: bool


@dataclass
class Execution:
    """A tool execution; `status` and `progress` are as of the last `_refresh`."""

    execution_id: str
    seq: int
    tool_type: str
    created_at: float  # unix time
    started: float  # monotonic time of creation, and the deadlines of the phases
    pending_until: float
    running_until: float  # when a successful run ends
    ends_at: float  # when this one ends: running_until, or earlier if it is planned to fail
    job: GenerateImageJob | ImageToolJob
    planned_error: dict[str, str] | None = None  # {message, code} it will fail with
    attempt_index: int = 0  # 1 when a first attempt failed (the stale-failure fault)
    status: str = "pending"
    progress: int = 0
    cancelled: bool = False
    result_file_ids: tuple[str, ...] = ()
    error: dict[str, str] | None = None  # set once it has failed
    finished_at: float | None = None  # unix time it reached a terminal status
    announced: bool = False  # whether on_execution_finished has been told

    def phase(self, now: float) -> tuple[str, int]:
        """Status and progress percentage at monotonic time `now`."""
        if self.cancelled:
            return "cancelled", self.progress
        if now < self.pending_until:
            return "pending", 0
        if now < self.ends_at:
            return "running", self._progress(now)
        if self.planned_error is not None:
            return "failed", self._progress(self.ends_at)  # where it stopped
        return "succeeded", 100

    def _progress(self, now: float) -> int:
        span = self.running_until - self.pending_until
        return int(99 * (now - self.pending_until) / span) if span > 0 else 0


# Told (with the lock held: so it must only book work, not do it) when an execution
# ends, and when an upload completes; each with the record's id.
Hook = Callable[[str], None]


def _ignore(record_id: str) -> None:
    pass


class SandboxState:
    def __init__(
        self,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        on_execution_finished: Hook = _ignore,
        on_upload_completed: Hook = _ignore,
    ) -> None:
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._on_execution_finished = on_execution_finished
        self._on_upload_completed = on_upload_completed
        self._lock = threading.Lock()
        self._seq = 0
        # Insertion-ordered, so reversed() lists newest first.
        self._files: dict[str, StoredFile] = {}
        self._executions: dict[str, Execution] = {}

    def clear(self) -> None:
        """Forget every file and execution (seqs go on counting, so old cursors stay stale)."""
        with self._lock:
            self._files = {}
            self._executions = {}

    # -- executions ---------------------------------------------------------

    def create_execution(
        self, tool_type: str, job: GenerateImageJob | ImageToolJob, plan: ExecutionPlan
    ) -> Execution:
        now = self._monotonic()
        pending_until = now + plan.pending_seconds
        running_until = pending_until + plan.running_seconds
        ends_at = running_until
        if plan.error is not None:
            ends_at = pending_until + plan.fail_at * plan.running_seconds
        with self._lock:
            execution = Execution(
                execution_id=_new_id(EXECUTION_PREFIX),
                seq=self._next_seq(),
                tool_type=tool_type,
                created_at=self._wall_clock(),
                started=now,
                pending_until=pending_until,
                running_until=running_until,
                ends_at=ends_at,
                job=job,
                planned_error=plan.error,
                attempt_index=1 if plan.stale_failure and plan.error is None else 0,
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
                execution.finished_at = self._wall_clock()
                self._refresh(execution)  # progress stays where it stopped
            return replace(execution)

    def list_executions(
        self, limit: int, before_seq: int | None
    ) -> tuple[list[Execution], int | None]:
        with self._lock:
            page, next_seq = _page(reversed(self._executions.values()), limit, before_seq)
            return [replace(self._refresh(execution)) for execution in page], next_seq

    def execution_files(self, execution: Execution) -> list[StoredFile]:
        with self._lock:
            # A copy of the execution may outlive a reset that forgot its files.
            files = (self._files.get(file_id) for file_id in execution.result_file_ids)
            return [replace(stored) for stored in files if stored is not None]

    # -- files --------------------------------------------------------------

    def create_upload(
        self, display_name: str, file_type: str | None, is_temporary: bool
    ) -> StoredFile:
        with self._lock:
            seq = self._next_seq()
            stored = StoredFile(
                file_id=_new_id(FILE_PREFIX),
                seq=seq,
                touched=seq,
                display_name=display_name,
                type=file_type,
                created_at=self._wall_clock(),
                is_temporary=is_temporary,
                subject=_stem(display_name),
            )
            self._files[stored.file_id] = stored
            return replace(stored)

    def complete_upload(self, file_id: str, data: bytes, content_type: str | None) -> StoredFile:
        mime = images.probe(data)  # outside the lock: decoding can take a while
        size = image_tools.image_size(data) if mime is not None else None
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
            stored.size = size
            stored.content_type = mime or content_type or "application/octet-stream"
            if stored.type is None and stored.is_image:
                stored.type = "IMAGE"  # inferred, as the reference says, once processed
            elif stored.type == "IMAGE" and not stored.is_image:
                stored.upload_error = {
                    "message": f"File {file_id} was uploaded as an IMAGE, but its bytes are "
                    "not an image that can be decoded.",
                    "code": "invalid_image",
                }
            stored.touched = self._next_seq()
            self._on_upload_completed(file_id)
            return replace(stored)

    def get_file(self, file_id: str) -> StoredFile:
        with self._lock:
            return replace(self._file(file_id))

    def archive_file(self, file_id: str) -> StoredFile:
        with self._lock:
            stored = self._file(file_id)
            stored.archived = True
            return replace(stored)

    def set_description(self, file_id: str, description: str | None) -> StoredFile:
        with self._lock:
            stored = self._file(file_id)
            stored.description = description
            stored.touched = self._next_seq()
            return replace(stored)

    def set_public_preview(self, file_id: str, token: str | None) -> StoredFile:
        """Enable public preview with a new token, or disable it (None)."""
        with self._lock:
            stored = self._file(file_id)
            if token is None or stored.public_token is None:  # enabling twice keeps the URL
                stored.public_token = token
                stored.touched = self._next_seq()
            return replace(stored)

    def searchable_files(self) -> list[StoredFile]:
        """Kept, live files with a description, newest first."""
        with self._lock:
            return [
                replace(stored)
                for stored in reversed(self._files.values())
                if stored.description and not stored.is_temporary and not stored.archived
            ]

    def list_files(self, limit: int, before_seq: int | None) -> tuple[list[StoredFile], int | None]:
        with self._lock:
            # Results of executions nobody polled yet still belong in the listing.
            for execution in self._executions.values():
                self._refresh(execution)
            live = sorted(
                (stored for stored in self._files.values() if not stored.archived),
                key=lambda stored: stored.touched,
                reverse=True,
            )
            page, next_seq = _page(live, limit, before_seq, key=lambda stored: stored.touched)
            return [replace(stored) for stored in page], next_seq

    def file_content(self, file_id: str) -> tuple[bytes, str]:
        """The bytes of a file and their MIME type, drawing a generated image on first use."""
        with self._lock:
            stored = self._file(file_id)
            content, render, content_type = stored.content, stored.render, stored.content_type
        if content is None:
            if render is None:
                raise not_found(f"File {file_id} has not been uploaded yet.")
            # Drawing is deterministic, so two threads racing here store equal bytes.
            content = render()
            with self._lock:
                stored.content = content
        return content, content_type

    def file_thumbnail(self, file_id: str) -> bytes:
        with self._lock:
            stored = self._file(file_id)
            cached, is_image, render = stored.thumbnail, stored.is_image, stored.render_thumbnail
        if cached is not None:
            return cached
        if not is_image:
            raise not_found(f"File {file_id} has no thumbnail: it is not a decodable image.")
        if render is not None:
            thumbnail = render()
        else:
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

        This is the one place where an execution changes status, and so where
        its end is announced (once) for webhooks.
        """
        execution.status, execution.progress = execution.phase(self._monotonic())
        if execution.status not in TERMINAL_STATUSES or execution.announced:
            return execution
        if execution.finished_at is None:
            # The moment it ended, not when someone first looked.
            execution.finished_at = execution.created_at + (execution.ends_at - execution.started)
        if execution.status == "succeeded":
            execution.result_file_ids = self._add_result_files(execution)
        elif execution.status == "failed":
            execution.error = execution.planned_error
        execution.announced = True
        self._on_execution_finished(execution.execution_id)
        return execution

    def _add_result_files(self, execution: Execution) -> tuple[str, ...]:
        job = execution.job
        finished_at = execution.finished_at or execution.created_at
        if isinstance(job, ImageToolJob):
            return tuple(
                self._add_tool_result(execution, job, index, finished_at)
                for index in range(job.num_results)
            )
        file_ids = []
        for index in range(job.num_results):
            spec = images.RenderSpec(
                prompt=job.prompt,
                index=index,
                size=job.size,
                watermark=job.watermark,
                reference=job.reference,
            )
            seq = self._next_seq()
            stored = StoredFile(
                file_id=_new_id(FILE_PREFIX),
                seq=seq,
                touched=seq,
                display_name=f"Generated image {index + 1}.png",
                type="IMAGE",
                created_at=finished_at,
                is_temporary=job.is_output_temporary,
                size=job.size,
                subject=job.prompt,
                render_spec=spec,
                tool_type=execution.tool_type,
                tool_execution_id=execution.execution_id,
                content_type="image/png",
                render=partial(images.render_png, spec),
                is_image=True,
            )
            self._files[stored.file_id] = stored
            file_ids.append(stored.file_id)
        return tuple(file_ids)

    def _add_tool_result(
        self, execution: Execution, job: ImageToolJob, index: int, finished_at: float
    ) -> str:
        tool_type = execution.tool_type
        suffix, extension, content_type, draw = TOOL_OUTPUTS[tool_type]
        if index:
            suffix = f"{suffix} {index + 1}"
        size = job.source_size
        if size is not None and tool_type == "UPSCALE_IMAGE":
            size = (size[0] * 2, size[1] * 2)
        seq = self._next_seq()
        stored = StoredFile(
            file_id=_new_id(FILE_PREFIX),
            seq=seq,
            touched=seq,
            display_name=f"{_stem(job.source_name)} ({suffix}).{extension}",
            type="IMAGE",
            created_at=finished_at,
            is_temporary=job.is_output_temporary,
            size=size,
            subject=job.source_subject,
            tool_type=tool_type,
            tool_execution_id=execution.execution_id,
            content_type=content_type,
            render=partial(self._draw_tool_result, draw, job),
            is_image=True,
        )
        if tool_type == "VECTORIZE_IMAGE":
            stored.render_thumbnail = partial(self._draw_tool_result, _vector_thumbnail, job)
        self._files[stored.file_id] = stored
        return stored.file_id

    def _draw_tool_result(self, draw: Callable[..., bytes], job: ImageToolJob) -> bytes:
        # Called outside the lock, on first download; the source's bytes never change once set.
        source, _ = self.file_content(job.source_file_id)
        return draw(source, watermark=job.watermark)


def _vector_thumbnail(data: bytes, *, watermark: bool) -> bytes:
    return image_tools.vector_thumbnail_png(data)


# Tool type -> (display name suffix, extension, content type, drawing function).
TOOL_OUTPUTS: dict[str, tuple[str, str, str, Callable[..., bytes]]] = {
    "UPSCALE_IMAGE": ("upscaled", "png", "image/png", image_tools.upscale_png),
    "REMOVE_IMAGE_BACKGROUND": (
        "background removed",
        "png",
        "image/png",
        image_tools.remove_background_png,
    ),
    "VECTORIZE_IMAGE": ("vectorized", "svg", "image/svg+xml", image_tools.vectorize_svg),
}


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else name


def _new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


_Record = TypeVar("_Record", Execution, StoredFile)


def _page(
    newest_first: Iterable[_Record],
    limit: int,
    before_seq: int | None,
    key: Callable[[_Record], int] = lambda record: record.seq,
) -> tuple[list[_Record], int | None]:
    """Up to `limit` records below `before_seq` (by `key`), and the seq to continue from.

    The seq is None on the last page.
    """
    page: list[_Record] = []
    for record in newest_first:
        if before_seq is not None and key(record) >= before_seq:
            continue
        if len(page) == limit:
            return page, key(page[-1])
        page.append(record)
    return page, None
