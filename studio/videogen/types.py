"""Typed, read-only views of VideoGen's JSON answers.

Each `from_wire` takes the camelCase dict the API sends and ignores keys it
does not know, so a new field on VideoGen's side never breaks Studio.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})

SOURCE_READY = "ready"
SOURCE_FAILED = "failed"


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _timestamp(value: Any) -> float | None:
    """Unix seconds from a number or an ISO 8601 string (the API's choice is not documented)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


# A signed URL this close to its expiresAt is treated as expired: the download
# must start (and the storage check the signature) before it runs out.
EXPIRY_MARGIN_SECONDS = 60.0


@dataclass(frozen=True)
class FileSource:
    status: str
    url: str | None
    expires_at: float | None  # unix seconds
    width: int | None = None
    height: int | None = None

    @classmethod
    def from_wire(cls, data: Any) -> FileSource | None:
        if not isinstance(data, Mapping):
            return None
        return cls(
            status=str(data.get("status") or ""),
            url=_str_or_none(data.get("url")),
            expires_at=_timestamp(data.get("expiresAt")),
            width=_int_or_none(data.get("width")),
            height=_int_or_none(data.get("height")),
        )

    @property
    def is_ready(self) -> bool:
        return self.status == SOURCE_READY

    def usable_url(self, now: float) -> str | None:
        """The signed URL if it is ready and will not expire within the margin.

        A URL without expiresAt is taken as it comes: the download will tell.
        """
        if not (self.is_ready and self.url):
            return None
        if self.expires_at is not None and self.expires_at <= now + EXPIRY_MARGIN_SECONDS:
            return None
        return self.url

    @property
    def has_failed(self) -> bool:
        return self.status == SOURCE_FAILED


@dataclass(frozen=True)
class FileObject:
    id: str
    type: str | None  # null while VideoGen is still processing the file
    display_name: str | None
    download: FileSource | None
    preview: FileSource | None
    thumbnail: FileSource | None
    hls: FileSource | None = None
    scope: str | None = None  # GLOBAL, TEMPORARY, ...
    description: str | None = None  # VideoGen's analysis; never for temporary files
    tool_type: str | None = None
    tool_execution_id: str | None = None
    is_public_preview_enabled: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> FileObject:
        return cls(
            id=str(data.get("fileId") or data.get("id") or ""),
            type=_str_or_none(data.get("type")),
            display_name=_str_or_none(data.get("displayName")),
            download=FileSource.from_wire(data.get("downloadSource")),
            preview=FileSource.from_wire(data.get("previewSource")),
            thumbnail=FileSource.from_wire(data.get("thumbnailSource")),
            hls=FileSource.from_wire(data.get("hlsSource")),
            scope=_str_or_none(data.get("scope")),
            description=_str_or_none(data.get("description")),
            tool_type=_str_or_none(data.get("toolType")),
            tool_execution_id=_str_or_none(data.get("toolExecutionId")),
            is_public_preview_enabled=data.get("isPublicPreviewEnabled") is True,
            raw=dict(data),
        )

    def usable_download_url(self, now: float) -> str | None:
        """A signed URL to fetch the bytes now (download first, then preview), or None:
        then hydrate. Fresh execution results and webhook payloads carry one."""
        for source in (self.download, self.preview):
            if source is not None and (url := source.usable_url(now)):
                return url
        return None

    @property
    def sources(self) -> tuple[FileSource, ...]:
        candidates = (self.download, self.preview, self.thumbnail, self.hls)
        return tuple(source for source in candidates if source is not None)

    @property
    def is_ready(self) -> bool:
        """Any ready source makes the file usable (a secondary one may fail). A file
        answered without signed URLs (GET /v1/files/{id}) may carry no sources: then
        its `type`, null while processing, says it is ready."""
        if any(source.is_ready for source in self.sources):
            return True
        return self.type is not None and not any(
            source.status and not source.is_ready for source in self.sources
        )

    @property
    def has_failed(self) -> bool:
        """Processing failed: some source failed and none is ready."""
        return not self.is_ready and any(source.has_failed for source in self.sources)

    @property
    def download_url(self) -> str | None:
        """The signed URL to fetch the bytes from: download first, then preview."""
        for source in (self.download, self.preview):
            if source is not None and source.is_ready and source.url:
                return source.url
        return None


@dataclass(frozen=True)
class ApiErrorInfo:
    message: str
    code: str | None

    @classmethod
    def from_wire(cls, data: Any) -> ApiErrorInfo | None:
        if isinstance(data, str) and data:
            return cls(message=data, code=None)
        if not isinstance(data, Mapping):
            return None
        return cls(
            message=str(data.get("message") or "The execution failed."),
            code=_str_or_none(data.get("code")),
        )


@dataclass(frozen=True)
class ExecutionResult:
    file_id: str
    type: str | None
    file: FileObject | None

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> ExecutionResult:
        file_data = data.get("file")
        file = FileObject.from_wire(file_data) if isinstance(file_data, Mapping) else None
        file_id = data.get("fileId") or (file.id if file else "")
        return cls(file_id=str(file_id), type=_str_or_none(data.get("type")), file=file)


@dataclass(frozen=True)
class Execution:
    id: str
    tool_type: str | None
    status: str
    progress: int | None
    attempt_index: int | None
    results: tuple[ExecutionResult, ...]
    error: ApiErrorInfo | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Execution:
        results = data.get("results") or ()
        return cls(
            id=str(data.get("toolExecutionId") or data.get("id") or ""),
            tool_type=_str_or_none(data.get("toolType")),
            status=str(data.get("status") or ""),
            progress=_int_or_none(data.get("progressPercentage")),
            attempt_index=_int_or_none(data.get("attemptIndex")),
            results=tuple(
                ExecutionResult.from_wire(item) for item in results if isinstance(item, Mapping)
            ),
            error=ApiErrorInfo.from_wire(data.get("error")),
            raw=dict(data),
        )

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def is_succeeded(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True)
class SearchHit:
    similarity: float
    file: FileObject

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> SearchHit:
        similarity = data.get("similarity")
        file_data = data.get("file")
        return cls(
            similarity=float(similarity) if isinstance(similarity, (int, float)) else 0.0,
            file=FileObject.from_wire(file_data if isinstance(file_data, Mapping) else {}),
        )


# The execution list is in the SDK only, not in the reference: its shape is not
# published. The sandbox answers `items`/`nextCursor`; the other spellings are
# accepted here, and only here.
_PAGE_ITEM_KEYS = ("items", "data", "executions", "toolExecutions")
_PAGE_CURSOR_KEYS = ("nextCursor", "cursor", "next_cursor")


@dataclass(frozen=True)
class ExecutionPage:
    items: tuple[Execution, ...]
    next_cursor: str | None

    @classmethod
    def from_wire(cls, data: Any) -> ExecutionPage:
        if isinstance(data, list):
            return cls(items=_executions(data), next_cursor=None)
        if not isinstance(data, Mapping):
            return cls(items=(), next_cursor=None)
        items = next((data[key] for key in _PAGE_ITEM_KEYS if isinstance(data.get(key), list)), [])
        cursor = next((data[key] for key in _PAGE_CURSOR_KEYS if _str_or_none(data.get(key))), None)
        if data.get("hasMore") is False:
            cursor = None
        return cls(items=_executions(items), next_cursor=cursor)


def _executions(items: list[Any]) -> tuple[Execution, ...]:
    return tuple(Execution.from_wire(item) for item in items if isinstance(item, Mapping))


@dataclass(frozen=True)
class Upload:
    file_id: str
    upload_url: str

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Upload:
        return cls(
            file_id=str(data.get("fileId") or ""), upload_url=str(data.get("uploadUrl") or "")
        )
