"""The endpoints of tools, executions and files, and the `Sandbox` they all work on.

Request validation, calls into the state, and the JSON VideoGen answers with.
Wire names are camelCase, as the official SDK expects; timestamps are unix
seconds (numbers), as the reference shows them. Webhook endpoints are in
webhooks_api.py, the sandbox's own admin endpoints in admin.py, analysis and
search in analysis.py.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from PIL import Image

from . import analysis, image_tools, images
from .clock import Clock, ManualClock, Scheduler
from .config import SandboxConfig
from .errors import ApiError, forbidden, invalid_id, invalid_parameters, not_found
from .faults import ExecutionPlan, FaultControl
from .params import (
    decode_cursor,
    is_int,
    object_fields,
    page_object,
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
UPLOAD_TYPES = ("IMAGE", "VIDEO", "AUDIO")  # the reference's choices for an upload
# The sibling image tools: path under /v1/tools/ -> toolType.
IMAGE_TOOLS = {
    "upscale-image": "UPSCALE_IMAGE",
    "remove-image-background": "REMOVE_IMAGE_BACKGROUND",
    "vectorize-image": "VECTORIZE_IMAGE",
}
# The field naming each tool's source image. Vectorize's is on its reference page; the
# pages of upscale and remove-background were not readable, so theirs are guesses
# (vectorize's name), one constant per tool so that each can change alone.
VECTORIZE_IMAGE_SOURCE_FIELD = "imageStorageFileId"
UPSCALE_IMAGE_SOURCE_FIELD = "imageStorageFileId"  # guess
REMOVE_IMAGE_BACKGROUND_SOURCE_FIELD = "imageStorageFileId"  # guess
SOURCE_FIELDS = {
    "VECTORIZE_IMAGE": VECTORIZE_IMAGE_SOURCE_FIELD,
    "UPSCALE_IMAGE": UPSCALE_IMAGE_SOURCE_FIELD,
    "REMOVE_IMAGE_BACKGROUND": REMOVE_IMAGE_BACKGROUND_SOURCE_FIELD,
}
# The reference does not show the key of the SDK-only execution list: a guess.
EXECUTION_LIST_KEY = "items"
# The error of a first attempt that failed before a later one succeeded (stale-failure fault).
STALE_ATTEMPT_ERROR = {
    "message": "The first attempt failed on a busy worker; it was retried.",
    "code": "attempt_failed",
}


class Sandbox:
    """Everything an endpoint needs: settings, records, the clock, webhooks, limits and faults."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.clock: Clock = ManualClock() if config.manual_clock else Clock()
        self.faults = FaultControl(config.initial_faults(), config.seed)
        self.stats = Stats()
        self.limiter = RateLimiter(self.clock.time)
        self.scheduler = Scheduler(self.clock)
        self.signer = UrlSigner(config.url_ttl_seconds)
        self.state = SandboxState(
            monotonic=self.clock.monotonic,
            wall_clock=self.clock.time,
            on_execution_finished=self._execution_finished,
            on_upload_completed=self._upload_completed,
        )
        self.webhooks = WebhookHub(
            scheduler=self.scheduler,
            stats=self.stats,
            faults=self.faults,
            timeout_seconds=config.webhook_timeout_seconds,
            retry_base_seconds=config.webhook_retry_base_seconds,
            max_attempts=config.webhook_max_attempts,
        )
        # Drawing and describing an image takes a while: off the clock's thread.
        self._analysts = ThreadPoolExecutor(2, thread_name_prefix="videogen-analysis")
        # Where signed URLs in webhook payloads point (there is no request to take it from);
        # the server sets it once it knows its port.
        self.public_url = config.public_url or f"http://{config.host}:{config.port}"

    def start_execution(
        self, tool_type: str, job: GenerateImageJob | ImageToolJob, plan: ExecutionPlan
    ) -> Execution:
        execution = self.state.create_execution(tool_type, job, plan)
        self.stats.count("executions", tool_type)
        # Read it when it is due to end, so that the end is noticed even if nobody polls.
        self.scheduler.call_at(execution.ends_at, partial(self._look_at, execution.execution_id))
        return execution

    def check_rate_limit(self, api_key: str, group: str) -> Verdict:
        limit, seconds = self.faults.current.rate_limits[group]
        return self.limiter.check(api_key, group, limit, seconds)

    def reset(self) -> None:
        """Forget all records, endpoints, counters and windows; faults back to their start."""
        self.webhooks.clear()
        self.state.clear()
        self.limiter.clear()
        self.stats.clear()
        self.faults.reset()
        self.scheduler.restart()  # a manual clock starts again at the wall time

    def close(self) -> None:
        self.scheduler.close()
        self.webhooks.close()
        self._analysts.shutdown(wait=False, cancel_futures=True)

    # The state calls these with its lock held: they only book work on the clock.

    def _execution_finished(self, execution_id: str) -> None:
        self.scheduler.call_at(0, partial(self._announce_execution, execution_id))

    def _upload_completed(self, file_id: str) -> None:
        self.scheduler.call_at(0, partial(self._announce_upload, file_id))

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
            "occurredAt": execution.finished_at or self.clock.time(),
            "toolExecutionId": execution.execution_id,
            "toolType": execution.tool_type,
        }
        if execution.status == "succeeded":
            payload["results"] = [
                result_object(self, stored, sign_for=self.public_url) for stored in files
            ]
        elif execution.status == "failed":
            payload["error"] = execution.error
        stale = None
        if execution.status == "succeeded" and execution.attempt_index > 0:
            # The failure of the first attempt, overtaken by the success of the second.
            stale = {
                "event": "tool_execution.failed",
                "occurredAt": payload["occurredAt"],
                "toolExecutionId": execution.execution_id,
                "toolType": execution.tool_type,
                "error": STALE_ATTEMPT_ERROR,
            }
        self.webhooks.publish(event, payload, then=stale)
        for stored in files:
            self._book_analysis(stored)

    def _announce_upload(self, file_id: str) -> None:
        try:
            stored = self.state.get_file(file_id)
        except ApiError:
            return
        file = file_object(self, stored, sign_for=self.public_url)
        base = {"occurredAt": self.clock.time(), "fileId": stored.file_id, "file": file}
        if stored.upload_error is not None:
            self.webhooks.publish(
                "file.upload.failed",
                {"event": "file.upload.failed", **base, "error": stored.upload_error},
            )
            return
        self.webhooks.publish("file.upload.completed", {"event": "file.upload.completed", **base})
        # Storage makes an image's renditions at once; audio and video also get a stream.
        self.webhooks.publish("file.download_ready", {"event": "file.download_ready", **base})
        if stored.type in ("VIDEO", "AUDIO"):
            self.webhooks.publish("file.playback_ready", {"event": "file.playback_ready", **base})
        self._book_analysis(stored)

    def _book_analysis(self, stored: StoredFile) -> None:
        """Describe a kept file a moment from now; temporary files are never analysed."""
        if stored.is_temporary:
            return
        self.scheduler.call_later(
            self.faults.current.analysis_seconds,
            partial(self.scheduler.submit, self._analysts, self._analyse, stored.file_id),
        )

    def _analyse(self, file_id: str) -> None:
        try:
            stored = self.state.get_file(file_id)
            # The thumbnail: a small PNG of what was drawn, even for an SVG.
            content = self.state.file_thumbnail(file_id) if stored.is_image else None
        except ApiError:
            return  # forgotten in a reset
        description = analysis.describe(stored, content) if content is not None else None
        error = None
        if description is None:
            error = {
                "message": f"File {file_id} could not be analysed: it is not a decodable image.",
                "code": "analysis_failed",
            }
        try:
            stored = self.state.set_description(file_id, description)
        except ApiError:
            return
        event = "file.analysis_completed" if error is None else "file.analysis_failed"
        payload: dict[str, Any] = {
            "event": event,
            "occurredAt": self.clock.time(),
            "fileId": file_id,
            "file": file_object(self, stored, sign_for=self.public_url),
        }
        if error is not None:
            payload["error"] = error
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
            _check_file_id(f"imageFileIds[{position}]", file_id)
        params = replace(params, image_file_ids=tuple(file_ids))

    if (ratio := fields.get("aspectRatio")) is not None:
        params = replace(params, aspect_ratio=_parse_aspect_ratio(ratio))

    params = replace(params, watermark_mode=_watermark_mode(fields))

    params = replace(params, num_results=_num_results(fields))
    return replace(params, is_output_temporary=_is_output_temporary(fields))


def _num_results(fields: dict[str, Any]) -> int:
    count = fields.get("numResults")
    if count is None:
        return 1
    if not is_int(count) or not 1 <= count <= MAX_RESULTS:
        raise invalid_parameters(
            f"numResults must be an integer from 1 to {MAX_RESULTS}, not {count!r}."
        )
    return count


def _check_file_id(field: str, file_id: Any) -> str:
    if not isinstance(file_id, str):
        raise invalid_parameters(f"{field} must be a file id (a string), not {file_id!r}.")
    if not file_id.startswith(FILE_PREFIX) or len(file_id) == len(FILE_PREFIX):
        raise invalid_id(f"{field}: {file_id!r} is not a file id: those start with {FILE_PREFIX}.")
    return file_id


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
    num_results: int = 1
    is_output_temporary: bool = False


def parse_image_tool(body: Any, source_field: str) -> ImageToolParams:
    fields = object_fields(
        body,
        required={source_field},
        optional={"watermarkMode", "numResults", "isOutputTemporary"},
    )
    return ImageToolParams(
        _check_file_id(source_field, fields[source_field]),
        _watermark_mode(fields),
        _num_results(fields),
        _is_output_temporary(fields),
    )


def start_image_tool(app: Sandbox, request: Request, tool_type: str) -> Response:
    """Upscale, remove the background of, or vectorize one image; one result file.

    The source's record is checked now (a 400, as for generate-image's
    references); its bytes only when the work runs, as a remote worker would:
    an undecodable or oversized source makes the execution fail.
    """
    field = SOURCE_FIELDS[tool_type]
    params = parse_image_tool(request.json(), field)
    watermark = _watermark(app, params.watermark_mode)
    stored = _usable_file(app, field, params.image_file_id)
    if stored.type != "IMAGE":
        raise invalid_parameters(
            f"{field}: file {stored.file_id} is of type {stored.type}, not IMAGE."
        )
    plan = app.faults.plan_execution()
    if (problem := _source_problem(app, tool_type, stored)) is not None:
        plan = replace(plan, error=problem, fail_at=0.0)  # fails as soon as it starts running
    job = ImageToolJob(
        source_file_id=stored.file_id,
        source_name=stored.display_name,
        source_size=stored.size,
        source_subject=stored.subject,
        num_results=params.num_results,
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
    items = [execution_object(app, execution, request.base_url) for execution in executions]
    return json_response(200, page_object(EXECUTION_LIST_KEY, items, "exec", next_seq))


@router.route("GET", "/v1/tools/executions/{execution_id}", group="executions")
def get_tool_execution(app: Sandbox, request: Request) -> Response:
    execution = app.state.get_execution(_execution_id(request))
    return json_response(200, execution_object(app, execution, request.base_url))


@router.route("POST", "/v1/tools/executions/{execution_id}/cancel", group="cancel")
def cancel_tool_execution(app: Sandbox, request: Request) -> Response:
    execution = app.state.cancel_execution(_execution_id(request))
    # "Cancellation request accepted": the status is for the next GET to tell.
    return json_response(200, {"toolExecutionId": execution.execution_id})


def execution_object(app: Sandbox, execution: Execution, base_url: str) -> dict[str, Any]:
    """The execution as the reference shows it; a succeeded one's results come hydrated."""
    document: dict[str, Any] = {
        "toolExecutionId": execution.execution_id,
        "toolType": execution.tool_type,
        "status": execution.status,
        "progressPercentage": execution.progress,
        "attemptIndex": execution.attempt_index,
        "error": execution.error,
    }
    if execution.status == "succeeded":
        document["results"] = [
            result_object(app, stored, sign_for=base_url)
            for stored in app.state.execution_files(execution)
        ]
    return document


def result_object(app: Sandbox, stored: StoredFile, sign_for: str) -> dict[str, Any]:
    return {
        "fileId": stored.file_id,
        "type": stored.type,
        "file": file_object(app, stored, sign_for=sign_for),
    }


# -- files -------------------------------------------------------------------


@router.route("POST", "/v1/files/upload", group="uploads")
def create_file_upload(app: Sandbox, request: Request) -> Response:
    fields = object_fields(
        request.json(), required={"displayName"}, optional={"type", "isTemporary"}
    )
    display_name = fields["displayName"]
    if not isinstance(display_name, str) or not display_name.strip():
        raise invalid_parameters("displayName must be a non-empty string.")
    file_type = fields.get("type")  # omitted: inferred once the bytes are in
    if file_type is not None and file_type not in UPLOAD_TYPES:
        raise invalid_parameters(
            f"type must be one of {', '.join(UPLOAD_TYPES)}, not {file_type!r}."
        )
    is_temporary = fields.get("isTemporary")
    if is_temporary is None:
        is_temporary = False
    elif not isinstance(is_temporary, bool):
        raise invalid_parameters(f"isTemporary must be true or false, not {is_temporary!r}.")

    stored = app.state.create_upload(display_name, file_type, is_temporary)
    upload_url, _ = app.signer.sign(request.base_url, "upload", stored.file_id, app.clock.time())
    return json_response(200, {"fileId": stored.file_id, "uploadUrl": upload_url})


@router.route("GET", "/v1/files", group="files")
def list_files(app: Sandbox, request: Request) -> Response:
    # Export and project files do not exist here; the flags are only checked.
    parse_bool_query(request, "includeExportFiles")
    parse_bool_query(request, "includeProjectFiles")
    limit = parse_limit(request)
    before = decode_cursor(request.query("cursor"), "file")
    files, next_seq = app.state.list_files(limit, before)
    items = [file_object(app, stored) for stored in files]
    return json_response(200, page_object("files", items, "file", next_seq))


@router.route("POST", "/v1/files/search", group="search")
def search_files(app: Sandbox, request: Request) -> Response:
    fields = object_fields(request.json(), required={"query"}, optional={"numResults", "selfOnly"})
    query = fields["query"]
    if not isinstance(query, str) or not query.strip():
        raise invalid_parameters("query must be a non-empty string.")
    count = fields.get("numResults")
    if count is None:
        count = analysis.DEFAULT_SEARCH_RESULTS
    elif not is_int(count) or not 1 <= count <= analysis.MAX_SEARCH_RESULTS:
        raise invalid_parameters(
            f"numResults must be an integer from 1 to {analysis.MAX_SEARCH_RESULTS}, not {count!r}."
        )
    self_only = fields.get("selfOnly")
    if self_only is not None and not isinstance(self_only, bool):
        raise invalid_parameters(f"selfOnly must be true or false, not {self_only!r}.")
    # One API key, one user: selfOnly changes nothing here.
    ranked = analysis.search(app.state.searchable_files(), query, count)
    results = [
        {"similarity": similarity, "file": file_object(app, stored)}
        for similarity, stored in ranked
    ]
    return json_response(200, {"results": results})


@router.route("GET", "/v1/files/{file_id}", group="files")
def get_file(app: Sandbox, request: Request) -> Response:
    return json_response(200, file_object(app, app.state.get_file(_file_id(request))))


@router.route("POST", "/v1/files/{file_id}/hydrate", group="hydrate")
def hydrate_file(app: Sandbox, request: Request) -> Response:
    stored = app.state.get_file(_file_id(request))
    return json_response(200, file_object(app, stored, sign_for=request.base_url))


@router.route("POST", "/v1/files/{file_id}/archive", group="files")
def archive_file(app: Sandbox, request: Request) -> Response:
    return json_response(200, file_object(app, app.state.archive_file(_file_id(request))))


@router.route("POST", "/v1/files/{file_id}/enable-public-preview", group="files")
def enable_public_preview(app: Sandbox, request: Request) -> Response:
    file_id = _file_id(request)
    stored = app.state.set_public_preview(file_id, secrets.token_urlsafe(18))
    return json_response(200, file_object(app, stored))


@router.route("POST", "/v1/files/{file_id}/disable-public-preview", group="files")
def disable_public_preview(app: Sandbox, request: Request) -> Response:
    stored = app.state.set_public_preview(_file_id(request), None)
    return json_response(200, file_object(app, stored))


def file_object(app: Sandbox, stored: StoredFile, sign_for: str | None = None) -> dict[str, Any]:
    """The file as the API shows it; with signed URLs on `sign_for` (a base URL) when hydrating."""
    now = app.clock.time()

    def source(ready: bool | None, action: str, size: tuple[int, int] | None) -> dict[str, Any]:
        width, height = size or (None, None)
        if not ready:
            status = "pending" if ready is None else "failed"
            return {"status": status, "url": None, "expiresAt": None, "width": None, "height": None}
        url, expires = None, None
        if sign_for is not None:
            url, expires = app.signer.sign(sign_for, action, stored.file_id, now)
        return {
            "status": "ready",
            "url": url,
            "expiresAt": expires,
            "width": width,
            "height": height,
        }

    uploaded = True if stored.uploaded else None
    # Previews exist only for decodable images; anything else is stored and downloadable as is.
    previewable = stored.is_image if stored.uploaded else None
    media = stored.type in ("VIDEO", "AUDIO") and stored.uploaded
    document: dict[str, Any] = {
        "fileId": stored.file_id,
        "scope": "TEMPORARY" if stored.is_temporary else "GLOBAL",
        "type": stored.type,
        "displayName": stored.display_name,
        "description": stored.description,
        "durationSeconds": None,
        "transcript": None,
        "thumbnailSource": source(previewable, "thumbnail", thumbnail_size(stored)),
        "previewSource": source(previewable, "download", stored.size),
        "downloadSource": source(uploaded, "download", stored.size),
        "hlsSource": source(True, "download", None) if media else None,
        "isPublicPreviewEnabled": stored.public_token is not None,
        "staticPublicPreviewSource": None,
        "publicHlsUrl": None,
        "publicPlaybackId": None,
    }
    if stored.public_token is not None:
        # Permanent while enabled: no signature, no expiry.
        url = f"{sign_for or app.public_url}/_storage/public/{stored.file_id}/{stored.public_token}"
        width, height = stored.size or (None, None)
        document["staticPublicPreviewSource"] = {
            "status": "ready" if stored.uploaded else "pending",
            "url": url if stored.uploaded else None,
            "expiresAt": None,
            "width": width,
            "height": height,
        }
    # "Only present when the file was created by a tool execution."
    if stored.tool_execution_id is not None:
        document["toolType"] = stored.tool_type
        document["toolExecutionId"] = stored.tool_execution_id
    return document


def thumbnail_size(stored: StoredFile) -> tuple[int, int] | None:
    if stored.size is None:
        return None
    width, height = stored.size
    scale = min(1.0, images.THUMBNAIL_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


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


@router.route("GET", "/_storage/public/{file_id}/{token}", authenticated=False, group="storage")
def storage_public(app: Sandbox, request: Request) -> Response:
    """A public preview: the file's bytes for whoever has the link, until it is disabled."""
    file_id, token = request.path_params["file_id"], request.path_params["token"]
    try:
        stored = app.state.get_file(file_id)
    except ApiError:
        stored = None
    if stored is None or stored.public_token is None or stored.public_token != token:
        raise not_found("There is no public preview at this address (any more).")
    content, content_type = app.state.file_content(file_id)
    return _shaped_download(app, content, content_type)


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
        action, file_id, request.query("token"), request.query("expires"), app.clock.time()
    )
    return file_id


# -- helpers -----------------------------------------------------------------


def _execution_id(request: Request) -> str:
    execution_id = request.path_params["execution_id"]
    if not execution_id.startswith(EXECUTION_PREFIX) or execution_id == EXECUTION_PREFIX:
        raise invalid_id(
            f"{execution_id!r} is not a tool execution id: those start with {EXECUTION_PREFIX}."
        )
    return execution_id


def _file_id(request: Request) -> str:
    return _check_file_id("fileId", request.path_params["file_id"])
