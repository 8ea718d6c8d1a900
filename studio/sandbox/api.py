"""The endpoints: request validation, calls into the state, and the JSON VideoGen answers with.

Wire names are camelCase, as the official SDK expects. Timestamps of records
(`createdAt`) are ISO 8601; expiry of signed URLs (`expiresAt`) is in unix
seconds, because the SDK compares it with ``int(time.time())``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from . import images
from .config import SandboxConfig
from .errors import ApiError, forbidden, invalid_id, invalid_parameters
from .signing import UrlSigner
from .state import (
    EXECUTION_PREFIX,
    FILE_PREFIX,
    Execution,
    GenerateImageJob,
    SandboxState,
    StoredFile,
)
from .web import MB, Request, Response, Router, json_response

router = Router()

MAX_PROMPT_CHARS = 4000
MAX_REFERENCE_IMAGES = 4
MAX_RATIO_TERM = 100
MAX_RESULTS = 100
MAX_UPLOAD_BYTES = 50 * MB
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
WATERMARK_MODES = ("AUTO", "VIDEO_GEN", "NONE")
FILE_TYPES = ("IMAGE", "VIDEO", "AUDIO", "PDF", "SLIDESHOW", "LOTTIE")


class Sandbox:
    """Everything an endpoint needs: settings, records and the URL signer."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.state = SandboxState(
            pending_seconds=config.pending_seconds, running_seconds=config.running_seconds
        )
        self.signer = UrlSigner(config.url_ttl_seconds)


# -- tools -------------------------------------------------------------------


@dataclass(frozen=True)
class GenerateImageParams:
    prompt: str
    image_file_ids: tuple[str, ...] = ()
    aspect_ratio: tuple[int, int] = (16, 9)
    watermark_mode: str = "AUTO"
    num_results: int = 1
    is_output_temporary: bool = False


@router.route("POST", "/v1/tools/generate-image")
def generate_image(app: Sandbox, request: Request) -> Response:
    params = parse_generate_image(request.json())
    if params.watermark_mode == "NONE" and not app.config.production_addon:
        raise forbidden(
            "production_addon_required",
            "watermarkMode NONE needs the Production add-on, which this account does not have; "
            "use AUTO or VIDEO_GEN.",
        )
    size = images.output_size(*params.aspect_ratio)
    layers = [
        _reference_layer(app, f"imageFileIds[{position}]", file_id, size)
        for position, file_id in enumerate(params.image_file_ids)
    ]
    watermark = params.watermark_mode == "VIDEO_GEN" or (
        params.watermark_mode == "AUTO" and not app.config.production_addon
    )
    job = GenerateImageJob(
        prompt=params.prompt,
        size=size,
        num_results=params.num_results,
        watermark=watermark,
        is_output_temporary=params.is_output_temporary,
        reference=images.blend_references(layers) if layers else None,
    )
    execution = app.state.create_execution("GENERATE_IMAGE", job)
    return json_response(202, {"toolExecutionId": execution.execution_id})


def _reference_layer(app: Sandbox, field: str, file_id: str, size: tuple[int, int]) -> Image.Image:
    """A reference image decoded and fitted to `size`; a 400 naming `field` if it is unusable."""
    try:
        stored = app.state.get_file(file_id)
    except ApiError:
        raise invalid_parameters(f"{field}: file {file_id} does not exist.") from None
    if not stored.uploaded:
        raise invalid_parameters(
            f"{field}: file {file_id} has not been uploaded yet; PUT its bytes first."
        )
    if stored.archived:
        raise invalid_parameters(f"{field}: file {file_id} is archived.")
    content, _ = app.state.file_content(file_id)
    try:
        return images.decode_reference(content, size)
    except images.UndecodableImage:
        raise invalid_parameters(f"{field}: file {file_id} is not a decodable image.") from None


def parse_generate_image(body: Any) -> GenerateImageParams:
    fields = _object_fields(
        body,
        required={"prompt"},
        optional={
            "imageFileIds",
            "aspectRatio",
            "watermarkMode",
            "numResults",
            "isOutputTemporary",
        },
    )
    prompt = fields["prompt"]
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid_parameters("prompt must be a non-empty string.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise invalid_parameters(
            f"prompt must be at most {MAX_PROMPT_CHARS} characters long, not {len(prompt)}."
        )
    params = GenerateImageParams(prompt=prompt)

    # An explicit null means "the default", as when the key is left out.
    if (file_ids := fields.get("imageFileIds")) is not None:
        if not isinstance(file_ids, list):
            raise invalid_parameters("imageFileIds must be a list of file ids.")
        if len(file_ids) > MAX_REFERENCE_IMAGES:
            raise invalid_parameters(
                f"imageFileIds may hold at most {MAX_REFERENCE_IMAGES} file ids, "
                f"not {len(file_ids)}."
            )
        for position, file_id in enumerate(file_ids):
            if not isinstance(file_id, str) or not file_id.startswith(FILE_PREFIX):
                raise invalid_parameters(
                    f"imageFileIds[{position}] must be a file id starting with {FILE_PREFIX}."
                )
        params = replace(params, image_file_ids=tuple(file_ids))

    if (ratio := fields.get("aspectRatio")) is not None:
        params = replace(params, aspect_ratio=_parse_aspect_ratio(ratio))

    if (mode := fields.get("watermarkMode")) is not None:
        if mode not in WATERMARK_MODES:
            raise invalid_parameters(
                f"watermarkMode must be one of {', '.join(WATERMARK_MODES)}, not {mode!r}."
            )
        params = replace(params, watermark_mode=mode)

    if (count := fields.get("numResults")) is not None:
        if not _is_int(count) or not 1 <= count <= MAX_RESULTS:
            raise invalid_parameters(
                f"numResults must be an integer from 1 to {MAX_RESULTS}, not {count!r}."
            )
        params = replace(params, num_results=count)

    if (temporary := fields.get("isOutputTemporary")) is not None:
        if not isinstance(temporary, bool):
            raise invalid_parameters(f"isOutputTemporary must be true or false, not {temporary!r}.")
        params = replace(params, is_output_temporary=temporary)
    return params


def _parse_aspect_ratio(ratio: Any) -> tuple[int, int]:
    shape = 'aspectRatio must be an object {"width": W, "height": H} of integers from 1 to 100'
    if not isinstance(ratio, dict) or set(ratio) != {"width", "height"}:
        raise invalid_parameters(f"{shape}, not {ratio!r}.")
    for name in ("width", "height"):
        value = ratio[name]
        if not _is_int(value) or not 1 <= value <= MAX_RATIO_TERM:
            raise invalid_parameters(f"{shape}; aspectRatio.{name} is {value!r}.")
    return ratio["width"], ratio["height"]


@router.route("GET", "/v1/tools/executions")
def list_tool_executions(app: Sandbox, request: Request) -> Response:
    _parse_bool_query(request, "selfOnly")  # every execution is the caller's: there is one API key
    limit = _parse_limit(request)
    before = _decode_cursor(request.query("cursor"), "exec")
    executions, next_seq = app.state.list_executions(limit, before)
    items = [execution_object(app, execution) for execution in executions]
    return json_response(200, {"items": items, "nextCursor": _encode_cursor("exec", next_seq)})


@router.route("GET", "/v1/tools/executions/{execution_id}")
def get_tool_execution(app: Sandbox, request: Request) -> Response:
    execution = app.state.get_execution(_execution_id(request))
    return json_response(200, execution_object(app, execution))


@router.route("POST", "/v1/tools/executions/{execution_id}/cancel")
def cancel_tool_execution(app: Sandbox, request: Request) -> Response:
    execution = app.state.cancel_execution(_execution_id(request))
    return json_response(200, execution_object(app, execution))


def execution_object(app: Sandbox, execution: Execution) -> dict[str, Any]:
    results = [
        # Without signed URLs, as from GET /v1/files/{id}: clients hydrate to download.
        {"fileId": stored.file_id, "type": stored.type, "file": file_object(app, stored)}
        for stored in app.state.execution_files(execution)
    ]
    return {
        "toolExecutionId": execution.execution_id,
        "toolType": execution.tool_type,
        "status": execution.status,
        "progressPercentage": execution.progress,
        "attemptIndex": 0,
        "results": results,
        "error": None,
        "createdAt": _iso(execution.created_at),
    }


# -- files -------------------------------------------------------------------


@router.route("POST", "/v1/files/upload")
def create_file_upload(app: Sandbox, request: Request) -> Response:
    fields = _object_fields(
        request.json(), required={"displayName"}, optional={"type", "isTemporary"}
    )
    display_name = fields["displayName"]
    if not isinstance(display_name, str) or not display_name.strip():
        raise invalid_parameters("displayName must be a non-empty string.")
    file_type = fields.get("type")
    if file_type is None:
        file_type = "IMAGE"  # The real API sniffs the type; this sandbox only deals in images.
    elif file_type not in FILE_TYPES:
        raise invalid_parameters(f"type must be one of {', '.join(FILE_TYPES)}, not {file_type!r}.")
    is_temporary = fields.get("isTemporary")
    if is_temporary is None:
        is_temporary = False
    elif not isinstance(is_temporary, bool):
        raise invalid_parameters(f"isTemporary must be true or false, not {is_temporary!r}.")

    stored = app.state.create_upload(display_name, file_type, is_temporary)
    upload_url, expires = app.signer.sign(request.base_url, "upload", stored.file_id, time.time())
    return json_response(
        201, {"fileId": stored.file_id, "uploadUrl": upload_url, "expiresAt": expires}
    )


@router.route("GET", "/v1/files")
def list_files(app: Sandbox, request: Request) -> Response:
    # Export and project files do not exist here; the flags are only checked.
    _parse_bool_query(request, "includeExportFiles")
    _parse_bool_query(request, "includeProjectFiles")
    limit = _parse_limit(request)
    before = _decode_cursor(request.query("cursor"), "file")
    files, next_seq = app.state.list_files(limit, before)
    items = [file_object(app, stored) for stored in files]
    return json_response(200, {"items": items, "nextCursor": _encode_cursor("file", next_seq)})


@router.route("GET", "/v1/files/{file_id}")
def get_file(app: Sandbox, request: Request) -> Response:
    return json_response(200, file_object(app, app.state.get_file(_file_id(request))))


@router.route("POST", "/v1/files/{file_id}/hydrate")
def hydrate_file(app: Sandbox, request: Request) -> Response:
    stored = app.state.get_file(_file_id(request))
    return json_response(200, file_object(app, stored, sign_for=request.base_url))


@router.route("POST", "/v1/files/{file_id}/archive")
def archive_file(app: Sandbox, request: Request) -> Response:
    return json_response(200, file_object(app, app.state.archive_file(_file_id(request))))


def file_object(app: Sandbox, stored: StoredFile, sign_for: str | None = None) -> dict[str, Any]:
    """The file as the API shows it; with signed URLs on `sign_for` (a base URL) when hydrating."""
    now = time.time()

    def source(ready: bool | None, action: str) -> dict[str, Any]:
        if ready is None:
            return {"status": "pending", "url": None, "expiresAt": None}
        if not ready:
            return {"status": "failed", "url": None, "expiresAt": None}
        if sign_for is None:
            return {"status": "ready", "url": None, "expiresAt": None}
        url, expires = app.signer.sign(sign_for, action, stored.file_id, now)
        return {"status": "ready", "url": url, "expiresAt": expires}

    uploaded = True if stored.uploaded else None
    # Previews exist only for decodable images; anything else is stored and downloadable as is.
    previewable = stored.is_image if stored.uploaded else None
    return {
        "fileId": stored.file_id,
        "type": stored.type,
        "scope": "USER",
        "displayName": stored.display_name,
        "createdAt": _iso(stored.created_at),
        "downloadSource": source(uploaded, "download"),
        "previewSource": source(previewable, "download"),
        "thumbnailSource": source(previewable, "thumbnail"),
        "hlsSource": None,
    }


# -- storage: what signed URLs point at ---------------------------------------


@router.route(
    "PUT", "/_storage/upload/{file_id}", authenticated=False, max_body_bytes=MAX_UPLOAD_BYTES
)
def storage_upload(app: Sandbox, request: Request) -> Response:
    file_id = _verified_storage_file_id(app, request, "upload")
    app.state.complete_upload(file_id, request.body, request.headers.get("Content-Type"))
    # Like S3: an empty 200 whose ETag is the MD5 of the bytes.
    return Response(200, headers={"ETag": f'"{hashlib.md5(request.body).hexdigest()}"'})


@router.route("GET", "/_storage/download/{file_id}", authenticated=False)
def storage_download(app: Sandbox, request: Request) -> Response:
    content, content_type = app.state.file_content(
        _verified_storage_file_id(app, request, "download")
    )
    return Response(200, content, content_type)


@router.route("GET", "/_storage/thumbnail/{file_id}", authenticated=False)
def storage_thumbnail(app: Sandbox, request: Request) -> Response:
    return Response(
        200,
        app.state.file_thumbnail(_verified_storage_file_id(app, request, "thumbnail")),
        "image/png",
    )


@router.route("GET", "/_health", authenticated=False)
def health(app: Sandbox, request: Request) -> Response:
    """Readiness probe for test fixtures and containers; not part of the VideoGen API.

    The pid lets a launcher check that it reached its own process, not another
    one that happened to take the port.
    """
    return json_response(200, {"status": "ok", "pid": os.getpid()})


def _verified_storage_file_id(app: Sandbox, request: Request, action: str) -> str:
    file_id = request.path_params["file_id"]
    app.signer.verify(
        action, file_id, request.query("token"), request.query("expires"), time.time()
    )
    return file_id


# -- helpers -----------------------------------------------------------------


def _object_fields(body: Any, *, required: set[str], optional: set[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid_parameters("The request body must be a JSON object.")
    if unknown := sorted(set(body) - required - optional):
        raise invalid_parameters(f"Unknown field(s): {', '.join(unknown)}.")
    if missing := sorted(name for name in required if name not in body):
        raise invalid_parameters(f"Missing required field(s): {', '.join(missing)}.")
    return body


def _is_int(value: Any) -> bool:
    # JSON true/false arrive as bool, which is a subclass of int.
    return isinstance(value, int) and not isinstance(value, bool)


def _execution_id(request: Request) -> str:
    execution_id = request.path_params["execution_id"]
    if not execution_id.startswith(EXECUTION_PREFIX):
        raise invalid_id(
            f"{execution_id!r} is not a tool execution id: those start with {EXECUTION_PREFIX}."
        )
    return execution_id


def _file_id(request: Request) -> str:
    file_id = request.path_params["file_id"]
    if not file_id.startswith(FILE_PREFIX):
        raise invalid_id(f"{file_id!r} is not a file id: those start with {FILE_PREFIX}.")
    return file_id


def _parse_limit(request: Request) -> int:
    raw = request.query("limit")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isdecimal() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise invalid_parameters(
            f"limit must be an integer from 1 to {MAX_PAGE_SIZE}, not {raw!r}."
        )
    return int(raw)


def _parse_bool_query(request: Request, name: str) -> bool | None:
    raw = request.query(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise invalid_parameters(f"{name} must be true or false, not {raw!r}.")
    return raw == "true"


# Cursors are opaque to clients; inside they name the kind of list and the seq to continue below.
def _encode_cursor(kind: str, seq: int | None) -> str | None:
    if seq is None:
        return None
    return base64.urlsafe_b64encode(f"{kind}:{seq}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None, kind: str) -> int | None:
    if cursor is None:
        return None
    try:
        decoded_kind, seq = (
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split(":")
        )
        if decoded_kind == kind:
            return int(seq)
    except ValueError:
        pass
    raise invalid_parameters(f"cursor {cursor!r} is not a cursor this list returned.")


def _iso(timestamp: float) -> str:
    return (
        datetime.fromtimestamp(timestamp, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
