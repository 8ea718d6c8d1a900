"""The worker's steps for one generation: submit, check, ingest.

Each step loads the row, does at most one round of API calls, and moves the
state with a conditional UPDATE. Steps return how long to wait before the
next try (or None when there is nothing more to do here); the Celery tasks in
tasks.py only translate that into a re-scheduled message, so no worker ever
sleeps waiting for VideoGen.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from studio.videogen import client_from_settings
from studio.videogen.errors import (
    ApiConnectionError,
    RateLimitedError,
    VideoGenError,
)

from .images import EXTENSIONS, InvalidImage, inspect_result, make_thumbnail
from .messages import execution_failure_message, user_message
from .models import Generation, Reference, Result, Status, Tool
from .signals import generation_finished

log = logging.getLogger(__name__)

# How long to wait before trying again after a refusal that is not final.
RETRY_SOON = 2.0
# A poll message runs at or after the time its chain booked in next_check_at;
# this much earlier (clock differences between hosts) still counts as on time.
CHECK_SLACK = timedelta(seconds=0.5)

# Whether VideoGen pushes execution events to us: the webhooks app knows, and
# registers its check at start-up (services.execution_push_register), since
# generations sits below webhooks and does not import it.
_push_checks: list[Callable[[], bool]] = []


def executions_pushed() -> bool:
    return any(check() for check in _push_checks)


def next_check_delay(check_count: int) -> float:
    """Back off from STUDIO_POLL_FIRST_DELAY to STUDIO_POLL_MAX_DELAY; with
    webhooks delivering the news, polling is only a slow fallback."""
    delay = settings.STUDIO_POLL_FIRST_DELAY * settings.STUDIO_POLL_BACKOFF**check_count
    delay = min(delay, settings.STUDIO_POLL_MAX_DELAY)
    if executions_pushed():
        delay = max(delay, settings.STUDIO_WEBHOOK_FALLBACK_POLL_DELAY)
    return delay


def _load(generation_id: int) -> Generation | None:
    return (
        Generation.objects.select_related("team", "source_result")
        .filter(pk=generation_id)
        .first()
    )


# --- submit ---------------------------------------------------------------


def submit(generation_id: int) -> float | None:
    """Upload missing references, POST generate-image, record the execution.

    At most once: the row moves to SUBMITTING right before the POST, and only
    a POST that certainly never reached VideoGen puts it back to QUEUED. An
    ambiguous outcome (read timeout, 5xx) leaves it in SUBMITTING for the
    reconciler, which looks for the execution instead of posting again.

    References are uploaded while the row is still QUEUED: a crash or a slow
    upload there is plainly "not submitted" (the reconciler submits it again)
    rather than an ambiguous SUBMITTING, which it could only call unknown.
    """
    generation = _load(generation_id)
    if generation is None or generation.status != Status.QUEUED:
        return None
    client = client_from_settings()
    try:
        file_ids = [_ensure_uploaded(client, ref) for ref in generation.references.order_by("pk")]
    except VideoGenError as exc:
        return _refused_before_post(generation, exc)
    if None in file_ids:  # an upload is still being processed by VideoGen
        return RETRY_SOON
    # Read before the POST: between the POST and the save nothing may fail
    # (this may ask the cache, which can be down).
    delay = next_check_delay(0)
    if not generation.move(Status.SUBMITTING, submitted_at=timezone.now()):
        return None  # another worker has it, or it was cancelled

    try:
        execution_id = _start_execution(client, generation, file_ids)
    except ApiConnectionError as exc:
        if not exc.request_sent:
            return _refused_before_post(generation, exc)
        log.warning("generation %s: submit outcome unknown: %s", generation.pk, exc)
        return None
    except RateLimitedError as exc:  # a 429 is a refusal: nothing was started
        return _refused_before_post(generation, exc)
    except VideoGenError as exc:
        if exc.transient:  # 5xx: the execution may or may not exist
            log.warning("generation %s: submit outcome unknown: %s", generation.pk, exc)
            return None
        generation.move(Status.FAILED, error_code=exc.code or "", error_message=user_message(exc))
        return None

    with transaction.atomic():
        moved = generation.move(
            Status.PENDING,
            remote_execution_id=execution_id,
            next_check_at=timezone.now() + timedelta(seconds=delay),
        )
        if not moved:
            # Cancelled while we were posting: keep the id and cancel remotely.
            Generation.objects.filter(pk=generation.pk).update(remote_execution_id=execution_id)
            from .tasks import cancel_execution

            transaction.on_commit(lambda: cancel_execution.delay(generation.pk))
            return None
    log.info("generation %s: submitted as %s", generation.pk, execution_id)
    from .tasks import poll_execution

    transaction.on_commit(
        lambda: poll_execution.apply_async((generation.pk,), countdown=delay)
    )
    return None


def _start_execution(client, generation: Generation, file_ids: list[str]) -> str:
    """The one paid POST of a generation."""
    if generation.tool == Tool.GENERATE_IMAGE:
        return client.generate_image(
            prompt=generation.prompt,
            image_file_ids=file_ids,
            aspect_ratio=generation.aspect_ratio,
            watermark_mode=generation.watermark_mode,
            num_results=generation.num_results,
            is_output_temporary=generation.is_output_temporary,
        )
    # The sibling tools share one signature, and Tool's values are the
    # client's method names (upscale_image, remove_image_background, ...).
    return getattr(client, generation.tool)(
        image_file_id=generation.source_result.remote_file_id,
        watermark_mode=generation.watermark_mode,
        is_output_temporary=generation.is_output_temporary,
    )


def _refused_before_post(generation: Generation, exc: VideoGenError) -> float | None:
    """Nothing was started on VideoGen: go back to the queue, or fail for good."""
    if exc.transient:
        if generation.status == Status.SUBMITTING:
            generation.move(Status.QUEUED)
        retry_after = getattr(exc, "retry_after", None)
        return max(retry_after or 0, RETRY_SOON)
    generation.move(Status.FAILED, error_code=exc.code or "", error_message=user_message(exc))
    return None


def _ensure_uploaded(client, reference: Reference) -> str | None:
    """The reference's VideoGen file id, uploading it first if needed.

    Returns None while VideoGen is still processing the upload.
    """
    if reference.uploaded_at:
        return reference.remote_file_id
    if not reference.remote_file_id:
        upload = client.create_upload(
            display_name=f"studio-reference-{reference.sha256[:12]}", is_temporary=False
        )
        with reference.image.open("rb") as data:
            client.put_upload(upload.upload_url, data, content_type=reference.content_type)
        Reference.objects.filter(pk=reference.pk).update(remote_file_id=upload.file_id)
        reference.remote_file_id = upload.file_id
    file = client.hydrate_file(reference.remote_file_id)
    if file.is_ready:
        reference.uploaded_at = timezone.now()
        Reference.objects.filter(pk=reference.pk).update(uploaded_at=reference.uploaded_at)
        return reference.remote_file_id
    if file.has_failed:  # start over with a fresh upload next time
        Reference.objects.filter(pk=reference.pk).update(remote_file_id="")
        raise VideoGenError(
            "VideoGen could not process the reference image upload.", code="upload_failed"
        )
    return None


# --- check ----------------------------------------------------------------


def check(generation_id: int) -> float | None:
    """One GET of the execution; move the state; say when to look again."""
    generation = _load(generation_id)
    if generation is None or generation.status not in (Status.PENDING, Status.RUNNING):
        return None
    if generation.next_check_at and generation.next_check_at > timezone.now() + CHECK_SLACK:
        # Another poll chain checked it since this message was sent (a reconciler
        # re-enqueue beside a late original): let that chain go on alone.
        return None
    client = client_from_settings()
    try:
        execution = client.get_execution(generation.remote_execution_id)
    except VideoGenError as exc:
        if exc.transient:
            return _schedule_next_check(generation, getattr(exc, "retry_after", None))
        generation.move(Status.FAILED, error_code=exc.code or "", error_message=user_message(exc))
        return None

    if apply_execution(generation, execution):
        return None
    return _schedule_next_check(generation)


def apply_execution(generation: Generation, execution) -> bool:
    """Move the generation to match VideoGen's word on its execution (from a GET
    or a webhook). Returns True once the execution has ended."""
    if execution.status == "succeeded":
        with transaction.atomic():
            if generation.move(Status.SUCCEEDED, progress=100):
                from .tasks import ingest_results

                transaction.on_commit(lambda: ingest_results.delay(generation.pk))
        return True
    if execution.status == "failed":
        error = execution.error
        generation.move(
            Status.FAILED,
            error_code=(error.code if error else None) or "",
            error_message=execution_failure_message(
                error.code if error else None, error.message if error else None
            ),
        )
        return True
    if execution.status == "cancelled":
        generation.move(Status.CANCELLED)
        return True
    if execution.status == "running" and (
        generation.status != Status.RUNNING or execution.progress != generation.progress
    ):
        generation.move(Status.RUNNING, progress=execution.progress or 0)
    return False


def _schedule_next_check(generation: Generation, at_least: float | None = None) -> float:
    delay = max(next_check_delay(generation.check_count), at_least or 0)
    # Bookkeeping only: not a change the gallery needs to see.
    Generation.objects.filter(pk=generation.pk).update(
        check_count=generation.check_count + 1,
        next_check_at=timezone.now() + timedelta(seconds=delay),
    )
    return delay


# --- ingest ---------------------------------------------------------------


def ingest(generation_id: int) -> None:
    """Store every result file and its thumbnail. Running it twice changes nothing.

    Raises the client's errors; the task retries the transient ones.
    """
    generation = _load(generation_id)
    if generation is None or generation.status != Status.SUCCEEDED or generation.ingested_at:
        return
    client = client_from_settings()
    execution = client.get_execution(generation.remote_execution_id)
    for position, item in enumerate(execution.results):
        result = _result_row(generation, position, item.file_id)
        if not result.is_stored:
            _store_original(client, result)
        if not result.thumbnail:
            _store_thumbnail(result)
    generation.touch(ingested_at=timezone.now())
    generation_finished.send(sender=Generation, generation=generation)
    log.info("generation %s: stored %d results", generation.pk, len(execution.results))


def ingest_gave_up(generation_id: int, exc: VideoGenError) -> None:
    generation = _load(generation_id)
    if generation is not None:
        generation.move(Status.FAILED, error_code=exc.code or "", error_message=user_message(exc))


def _result_row(generation: Generation, position: int, file_id: str) -> Result:
    try:
        with transaction.atomic():
            result, _ = Result.objects.get_or_create(
                generation=generation,
                position=position,
                defaults={"team_id": generation.team_id, "remote_file_id": file_id},
            )
    except IntegrityError:  # a second ingest created it first
        result = Result.objects.get(generation=generation, position=position)
    return result


def _store_original(client, result: Result) -> None:
    file = client.hydrate_file(result.remote_file_id)
    with tempfile.TemporaryFile() as tmp:
        # Streamed to disk chunk by chunk: a result is never held whole in memory.
        for chunk in client.stream_download(
            file.download_url, max_bytes=settings.STUDIO_MAX_RESULT_BYTES
        ):
            tmp.write(chunk)
        try:
            info = inspect_result(
                tmp,
                max_bytes=settings.STUDIO_MAX_RESULT_BYTES,
                max_pixels=settings.STUDIO_MAX_RESULT_PIXELS,
            )
        except InvalidImage as exc:
            raise VideoGenError(f"The result file {exc}", code="invalid_result") from None
        extension = EXTENSIONS[info.content_type]
        name = _result_path(result, "results", info.sha256, extension)
        if not default_storage.exists(name):
            name = default_storage.save(name, File(tmp))
    Result.objects.filter(pk=result.pk).update(
        image=name,
        content_type=info.content_type,
        width=info.width,
        height=info.height,
        bytes=info.bytes,
        sha256=info.sha256,
    )
    result.refresh_from_db()


def _store_thumbnail(result: Result) -> None:
    if result.is_vector:  # an SVG is drawn sharp at any size: it is its own thumbnail
        Result.objects.filter(pk=result.pk).update(thumbnail=result.image.name)
        result.thumbnail.name = result.image.name
        return
    with result.image.open("rb") as original:
        data = make_thumbnail(original)
    name = _result_path(result, "thumbnails", result.sha256, "webp")
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(data))
    Result.objects.filter(pk=result.pk).update(thumbnail=name)
    result.thumbnail.name = name


def _result_path(result: Result, kind: str, sha256: str, extension: str) -> str:
    # Named by content, so a repeated ingest finds the file it already wrote.
    return (
        f"{kind}/team-{result.team_id}/gen-{result.generation_id}/"
        f"{result.position:03d}-{sha256[:16]}.{extension}"
    )


# --- cancel ---------------------------------------------------------------


def cancel_remote(generation_id: int) -> None:
    generation = _load(generation_id)
    if generation is None or not generation.remote_execution_id:
        return
    client_from_settings().cancel_execution(generation.remote_execution_id)
