"""The endpoints of tools, executions and files, and the `Sandbox` they all work on.

Request validation, calls into the state, and the JSON VideoGen answers with.
Wire names are camelCase, as the official SDK expects. Timestamps of records
(`createdAt`) are ISO 8601; expiry of signed URLs (`expiresAt`) is in unix
seconds, because the SDK compares it with ``int(time.time())``. Webhook
endpoints are in webhooks_api.py, the sandbox's own admin endpoints in admin.py.
"""

from __future__ import annotations

import hashlib
import os
import time
import zlib
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from PIL import Image

from . import image_tools, images
from .clock import Scheduler
from .config import SandboxConfig
from .errors import ApiError, forbidden, invalid_id, invalid_parameters
from .faults import ExecutionPlan, FaultControl
from .params import (
    decode_cursor,
    encode_cursor,
    is_int,
    iso,
    object_fields,
    parse_bool_query,
    parse_limit,
)
from .ratelimit import RateLimiter, Verdict
from .signing import UrlSigner
from .state import (
    EXECUTION_PREFIX,
    FILE_PREFIX,
    Execution,
    GenerateImageJob,
    ImageToolJob,
    SandboxState,
    StoredFile,
)
from .stats import Stats
from .web import MB, Request, Response, Router, json_response
from .webhooks import WebhookHub

router = Router()

MAX_PROMPT_CHARS = 4000
MAX_REFERENCE_IMAGES = 4
MAX_RATIO_TERM = 100
MAX_RESULTS = 100
MAX_UPLOAD_BYTES = 50 * MB
WATERMARK_MODES = ("AUTO", "VIDEO_GEN", "NONE")
FILE_TYPES = ("IMAGE", "VIDEO", "AUDIO", "PDF", "SLIDESHOW", "LOTTIE")
# The sibling image tools: path under /v1/tools/ -> toolType.
IMAGE_TOOLS = {
    "upscale-image": "UPSCALE_IMAGE",
    "remove-image-background": "REMOVE_IMAGE_BACKGROUND",
    "vectorize-image": "VECTORIZE_IMAGE",
}


class Sandbox:
    """Everything an endpoint needs: settings, records, the clock, webhooks, limits and faults."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.faults = FaultControl(config.initial_faults(), config.seed)
        self.stats = Stats()
        self.limiter = RateLimiter()
        self.clock = Scheduler()
        self.signer = UrlSigner(config.url_ttl_seconds)
        self.state = SandboxState(
            on_execution_finished=self._execution_finished,
            on_upload_completed=self._upload_completed,
        )
        self.webhooks = WebhookHub(
            scheduler=self.clock,
            stats=self.stats,
            faults=self.faults,
            timeout_seconds=config.webhook_timeout_seconds,
            retry_base_seconds=config.webhook_retry_base_seconds,
            max_attempts=config.webhook_max_attempts,
        )
        # Where signed URLs in webhook payloads point (there is no request to take it from);
        # the server sets it once it knows its port.
        self.public_url = config.public_url or f"http://{config.host}:{config.port}"

    def start_execution(
        self, tool_type: str, job: GenerateImageJob | ImageToolJob, plan: ExecutionPlan
    ) -> Execution:
        execution = self.state.create_execution(tool_type, job, plan)
        self.stats.count("executions", tool_type)
        # Read it when it is due to end, so that the end is noticed even if nobody polls.
        self.clock.call_at(execution.ends_at, partial(self._look_at, execution.execution_id))
        return execution

    def check_rate_limit(self, api_key: str, group: str) -> Verdict:
        faults = self.faults.current
        return self.limiter.check(
            api_key, group, faults.rate_limits[group], faults.rate_limit_window_seconds
        )

    def reset(self) -> None:
        """Forget all records, endpoints, counters and windows; faults back to their start."""
        self.webhooks.clear()
        self.state.clear()
        self.limiter.clear()
        self.stats.clear()
        self.faults.reset()

    def close(self) -> None:
        self.clock.close()
        self.webhooks.close()

    # The state calls these with its lock held: they only book work on the clock.

    def _execution_finished(self, execution_id: str) -> None:
        self.clock.call_at(0, partial(self._announce_execution, execution_id))

    def _upload_completed(self, file_id: str) -> None:
        self.clock.call_at(0, partial(self._announce_upload, file_id))

    def _look_at(self, execution_id: str) -> None:
        try:
            self.state.get_execution(execution_id)
        except ApiError:
            pass  # forgotten in a reset

    def _announce_execution(self, execution_id: str) -> None:
        try:
            execution = self.state.get_execution(execution_id)
            files = self.state.execution_files(execution)
        except ApiError:
            return
        event = f"tool_execution.{execution.status}"
        payload: dict[str, Any] = {
            "event": event,
            "occurredAt": iso(execution.finished_at or time.time()),
            "toolExecutionId": execution.execution_id,
            "toolType": execution.tool_type,
        }
        if execution.status == "succeeded":
            payload["results"] = [
                {
                    "fileId": stored.file_id,
                    "type": stored.type,
                    "file": file_object(self, stored, sign_for=self.public_url),
                }
                for stored in files
            ]
        elif execution.status == "failed":
            payload["error"] = execution.error
        self.webhooks.publish(event, payload)

    def _announce_upload(self, file_id: str) -> None:
        try:
            stored = self.state.get_file(file_id)
        except ApiError:
            return
        event = "file.upload.completed"
        # VideoGen documents only the tool_execution payload; this one follows its pattern.
        payload = {
            "event": event,
            "occurredAt": iso(time.time()),
            "fileId": stored.file_id,
            "file": file_object(self, stored, sign_for=self.public_url),
        }
        self.webhooks.publish(event, payload)


# -- tools -------------------------------------------------------------------


@dataclass(frozen=True)
class GenerateImageParams:
    prompt: str
    image_file_ids: tuple[str, ...] = ()
    aspect_ratio: tuple[int, int] = (16, 9)
    watermark_mode: str = "AUTO"
    num_results: int = 1
    is_output_temporary: bool = False


@router.route("POST", "/v1/tools/generate-image", group="tools")
def generate_image(app: Sandbox, request: Request) -> Response:
    params = parse_generate_image(request.json())
    watermark = _watermark(app, params.watermark_mode)
    size = images.output_size(*params.aspect_ratio)
    layers = [
        _reference_layer(app, f"imageFileIds[{position}]", file_id, size)
        for position, file_id in enumerate(params.image_file_ids)
    ]
    job = GenerateImageJob(
        prompt=params.prompt,
        size=size,
        num_results=params.num_results,
        watermark=watermark,
        is_output_temporary=params.is_output_temporary,
        reference=images.blend_references(layers) if layers else None,
    )
    execution = app.start_execution("GENERATE_IMAGE", job, app.faults.plan_execution())
    return json_response(202, {"toolExecutionId": execution.execution_id})


def _watermark(app: Sandbox, mode: str) -> bool:
    """Whether results carry the watermark; a 403 for NONE without the Production add-on."""
    addon = app.faults.current.production_addon  # switchable at run time
    if mode == "NONE" and not addon:
        raise forbidden(
            "production_addon_required",
            "watermarkMode NONE needs the Production add-on, which this account does not have; "
            "use AUTO or VIDEO_GEN.",
        )
    return mode == "VIDEO_GEN" or (mode == "AUTO" and not addon)


def _usable_file(app: Sandbox, field: str, file_id: str) -> StoredFile:
    """The file named by `field`, uploaded and not archived; else a 400 naming `field`."""
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
    return stored


def _reference_layer(app: Sandbox, field: str, file_id: str, size: tuple[int, int]) -> Image.Image:
    """A reference image decoded and fitted to `size`; a 400 naming `field` if it is unusable."""
    _usable_file(app, field, file_id)
    content, _ = app.state.file_content(file_id)
    try:
        return images.decode_reference(content, size)
    except images.UndecodableImage:
        raise invalid_parameters(f"{field}: file {file_id} is not a decodable image.") from None


def parse_generate_image(body: Any) -> GenerateImageParams:
    fields = object_fields(
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

    params = replace(params, watermark_mode=_watermark_mode(fields))

    if (count := fields.get("numResults")) is not None:
        if not is_int(count) or not 1 <= count <= MAX_RESULTS:
            raise invalid_parameters(
                f"numResults must be an integer from 1 to {MAX_RESULTS}, not {count!r}."
            )
        params = replace(params, num_results=count)

    return replace(params, is_output_temporary=_is_output_temporary(fields))


def _watermark_mode(fields: dict[str, Any]) -> str:
    mode = fields.get("watermarkMode")
    if mode is None:
        return "AUTO"
    if mode not in WATERMARK_MODES:
        raise invalid_parameters(
            f"watermarkMode must be one of {', '.join(WATERMARK_MODES)}, not {mode!r}."
        )
    return mode


def _is_output_temporary(fields: dict[str, Any]) -> bool:
    temporary = fields.get("isOutputTemporary")
    if temporary is None:
        return False
    if not isinstance(temporary, bool):
        raise invalid_parameters(f"isOutputTemporary must be true or false, not {temporary!r}.")
    return temporary


def _parse_aspect_ratio(ratio: Any) -> tuple[int, int]:
    shape = 'aspectRatio must be an object {"width": W, "height": H} of integers from 1 to 100'
    if not isinstance(ratio, dict) or set(ratio) != {"width", "height"}:
        raise invalid_parameters(f"{shape}, not {ratio!r}.")
    for name in ("width", "height"):
        value = ratio[name]
        if not is_int(value) or not 1 <= value <= MAX_RATIO_TERM:
            raise invalid_parameters(f"{shape}; aspectRatio.{name} is {value!r}.")
    return ratio["width"], ratio["height"]


@dataclass(frozen=True)
class ImageToolParams:
    image_file_id: str
    watermark_mode: str = "AUTO"
    is_output_temporary: bool = False


def parse_image_tool(body: Any) -> ImageToolParams:
    # The SDK passes bodies through unnamed; `imageFileId` follows the video tools' `videoFileId`.
    fields = object_fields(
        body, required={"imageFileId"}, optional={"watermarkMode", "isOutputTemporary"}
    )
    file_id = fields["imageFileId"]
    if not isinstance(file_id, str) or not file_id.startswith(FILE_PREFIX):
        raise invalid_parameters(f"imageFileId must be a file id starting with {FILE_PREFIX}.")
    return ImageToolParams(file_id, _watermark_mode(fields), _is_output_temporary(fields))


def start_image_tool(app: Sandbox, request: Request, tool_type: str) -> Response:
    """Upscale, remove the background of, or vectorize one image; one result file.

    The source's record is checked now (a 400, as for generate-image's
    references); its bytes only when the work runs, as a remote worker would:
    an undecodable or oversized source makes the execution fail.
    """
    params = parse_image_tool(request.json())
    watermark = _watermark(app, params.watermark_mode)
    stored = _usable_file(app, "imageFileId", params.image_file_id)
    if stored.type != "IMAGE":
        raise invalid_parameters(
            f"imageFileId: file {stored.file_id} is of type {stored.type}, not IMAGE."
        )
    plan = app.faults.plan_execution()
    if (problem := _source_problem(app, tool_type, stored)) is not None:
        plan = replace(plan, error=problem, fail_at=0.0)  # fails as soon as it starts running
    job = ImageToolJob(
        source_file_id=stored.file_id,
        source_name=stored.display_name,
        watermark=watermark,
        is_output_temporary=params.is_output_temporary,
    )
    execution = app.start_execution(tool_type, job, plan)
    return json_response(202, {"toolExecutionId": execution.execution_id})


def _source_problem(app: Sandbox, tool_type: str, stored: StoredFile) -> dict[str, str] | None:
    """The error an execution on this source will fail with, or None if the source is fine."""
    if not stored.is_image:
        return {
            "message": f"The source file {stored.file_id} is not an image that can be decoded.",
            "code": "invalid_source_image",
        }
    if tool_type == "UPSCALE_IMAGE":
        size = image_tools.image_size(app.state.file_content(stored.file_id)[0])
        if size is not None and max(size) > image_tools.MAX_UPSCALE_SIDE:
            return {
                "message": f"The source image is {size[0]}x{size[1]}; upscaling takes images "
                f"of at most {image_tools.MAX_UPSCALE_SIDE} px a side.",
                "code": "image_too_large",
            }
    return None


for _path, _tool_type in IMAGE_TOOLS.items():
    router.route("POST", f"/v1/tools/{_path}", group="tools")(
        partial(start_image_tool, tool_type=_tool_type)
    )


@router.route("GET", "/v1/tools/executions", group="executions")
def list_tool_executions(app: Sandbox, request: Request) -> Response:
    # Every execution is the caller's: there is one API key. No toolType filter: the SDK has none.
    parse_bool_query(request, "selfOnly")
    limit = parse_limit(request)
    before = decode_cursor(request.query("cursor"), "exec")
    executions, next_seq = app.state.list_executions(limit, before)
    items = [execution_object(app, execution) for execution in executions]
    return json_response(200, {"items": items, "nextCursor": encode_cursor("exec", next_seq)})


@router.route("GET", "/v1/tools/executions/{execution_id}", group="executions")
def get_tool_execution(app: Sandbox, request: Request) -> Response:
    execution = app.state.get_execution(_execution_id(request))
    return json_response(200, execution_object(app, execution))


@router.route("POST", "/v1/tools/executions/{execution_id}/cancel", group="executions")
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
        "error": execution.error,
        "createdAt": iso(execution.created_at),
    }


# -- files -------------------------------------------------------------------


@router.route("POST", "/v1/files/upload", group="files")
def create_file_upload(app: Sandbox, request: Request) -> Response:
    fields = object_fields(
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


@router.route("GET", "/v1/files", group="files")
def list_files(app: Sandbox, request: Request) -> Response:
    # Export and project files do not exist here; the flags are only checked.
    parse_bool_query(request, "includeExportFiles")
    parse_bool_query(request, "includeProjectFiles")
    limit = parse_limit(request)
    before = decode_cursor(request.query("cursor"), "file")
    files, next_seq = app.state.list_files(limit, before)
    items = [file_object(app, stored) for stored in files]
    return json_response(200, {"items": items, "nextCursor": encode_cursor("file", next_seq)})


@router.route("GET", "/v1/files/{file_id}", group="files")
def get_file(app: Sandbox, request: Request) -> Response:
    return json_response(200, file_object(app, app.state.get_file(_file_id(request))))


@router.route("POST", "/v1/files/{file_id}/hydrate", group="files")
def hydrate_file(app: Sandbox, request: Request) -> Response:
    stored = app.state.get_file(_file_id(request))
    return json_response(200, file_object(app, stored, sign_for=request.base_url))


@router.route("POST", "/v1/files/{file_id}/archive", group="files")
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
        "createdAt": iso(stored.created_at),
        "downloadSource": source(uploaded, "download"),
        "previewSource": source(previewable, "download"),
        "thumbnailSource": source(previewable, "thumbnail"),
        "hlsSource": None,
    }


# -- storage: what signed URLs point at ---------------------------------------


@router.route(
    "PUT",
    "/_storage/upload/{file_id}",
    authenticated=False,
    max_body_bytes=MAX_UPLOAD_BYTES,
    group="storage",
)
def storage_upload(app: Sandbox, request: Request) -> Response:
    file_id = _verified_storage_file_id(app, request, "upload")
    app.state.complete_upload(file_id, request.body, request.headers.get("Content-Type"))
    # Like S3: an empty 200 whose ETag is the MD5 of the bytes.
    return Response(200, headers={"ETag": f'"{hashlib.md5(request.body).hexdigest()}"'})


@router.route("GET", "/_storage/download/{file_id}", authenticated=False, group="storage")
def storage_download(app: Sandbox, request: Request) -> Response:
    file_id = _verified_storage_file_id(app, request, "download")
    content, content_type = app.state.file_content(file_id)
    padding = app.config.result_padding_bytes
    if padding and content_type == "image/png" and app.state.get_file(file_id).render:
        content = pad_png(content, padding)
    return _shaped_download(app, content, content_type)


def pad_png(png: bytes, padding: int) -> bytes:
    """The same image, `padding` bytes bigger: a private, ancillary, safe-to-copy
    chunk (``stPd``) before IEND, which decoders skip. Made on each download, so
    big results cost the sandbox no memory between requests."""
    body = bytes(padding)
    chunk = (
        len(body).to_bytes(4, "big")
        + b"stPd"
        + body
        + zlib.crc32(b"stPd" + body).to_bytes(4, "big")
    )
    return png[:-12] + chunk + png[-12:]  # IEND is the last 12 bytes


@router.route("GET", "/_storage/thumbnail/{file_id}", authenticated=False, group="storage")
def storage_thumbnail(app: Sandbox, request: Request) -> Response:
    thumbnail = app.state.file_thumbnail(_verified_storage_file_id(app, request, "thumbnail"))
    return _shaped_download(app, thumbnail, "image/png")


def _shaped_download(app: Sandbox, content: bytes, content_type: str) -> Response:
    """The bytes, throttled or cut off part-way if a download fault says so."""
    bytes_per_second, truncate_after = app.faults.download_shaping(len(content))
    if truncate_after is not None:
        app.stats.count("injected", "truncated_download")
    return Response(
        200,
        content,
        content_type,
        bytes_per_second=bytes_per_second,
        truncate_after=truncate_after,
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
