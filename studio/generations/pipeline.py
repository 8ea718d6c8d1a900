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
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from studio.videogen import budget_from_settings, client_from_settings
from studio.videogen.errors import (
    ApiConnectionError,
    ForbiddenError,
    RateLimitedError,
    VideoGenError,
    may_be_file_gone,
)
from studio.videogen.types import EXPIRY_MARGIN_SECONDS

from . import budget, dispatch
from .images import EXTENSIONS, InvalidImage, inspect_result, make_thumbnail
from .messages import execution_failure_message, submit_refusal_message, user_message
from .models import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    Generation,
    Reference,
    Result,
    Status,
    Tool,
    VideoGenAccount,
)
from .signals import generation_finished

log = logging.getLogger(__name__)

EXECUTIONS = "executions"
# How long to wait before trying again after a refusal that is not final.
RETRY_SOON = 2.0
# A poll message runs at or after the time its chain booked in next_check_at;
# this much earlier (clock differences between hosts) still counts as on time.
CHECK_SLACK = timedelta(seconds=0.5)
# References are uploaded as temporary files (not analysed, never in the account's
# search). VideoGen keeps those at least 24 hours; one older than this is uploaded
# again rather than risk a refused submit.
REFERENCE_LIFETIME = timedelta(hours=23)
# Polling hugs an execution's expected end (from its progress percentage, the
# only clock VideoGen offers): this long after it, and never sooner than
# POLL_SOONEST after the last look, so a wrong guess costs a GET, not a storm.
EXPECTED_END_MARGIN = 0.05
POLL_SOONEST = 0.25
# How often a long ingest says it is still at work (well inside STUDIO_RECONCILE_GRACE).
INGEST_HEARTBEAT_SECONDS = 10.0

# Whether VideoGen pushes execution events to us: the webhooks app knows, and
# registers its check at start-up (services.execution_push_register), since
# generations sits below webhooks and does not import it.
_push_checks: list[Callable[[], bool]] = []


def executions_pushed() -> bool:
    return any(check() for check in _push_checks)


def poll_delay(check_count: int, remaining: float | None = None) -> float:
    """The next poll's delay: the backoff (or sooner, just after the expected
    end), but never faster than the execution-GET budget left this hour allows
    for every execution in flight together."""
    delay = next_check_delay(check_count, remaining)
    client_budget = budget_from_settings()
    state = client_budget.state(EXECUTIONS) if client_budget is not None else None
    if state is None:
        return delay
    in_flight = Generation.objects.filter(status__in=(Status.PENDING, Status.RUNNING)).count()
    now = time.time()
    window_left = (state.resets_at - now) if state.resets_at else state.seconds
    if state.left <= 0:
        return max(delay, window_left + 0.5)
    # All of them polled at this cadence fit in what is left of this window.
    return max(delay, max(1, in_flight) * window_left / state.left)


def next_check_delay(check_count: int, remaining: float | None = None) -> float:
    """Back off from STUDIO_POLL_FIRST_DELAY to STUDIO_POLL_MAX_DELAY; with
    webhooks delivering the news, polling is only a slow fallback. `remaining`:
    the expected time to the execution's end; the next poll comes just after it
    when that is sooner than the backoff."""
    delay = settings.STUDIO_POLL_FIRST_DELAY * settings.STUDIO_POLL_BACKOFF**check_count
    delay = min(delay, settings.STUDIO_POLL_MAX_DELAY)
    if executions_pushed():
        return max(delay, settings.STUDIO_WEBHOOK_FALLBACK_POLL_DELAY)
    if remaining is not None:
        delay = min(delay, max(POLL_SOONEST, remaining + EXPECTED_END_MARGIN))
    return delay


def expected_remaining(
    before: tuple[float, int] | None, now: tuple[float, int]
) -> float | None:
    """Seconds to an execution's end, from two looks at its progress while running
    ((unix time, percent) each; `before` is when it last moved), assuming a
    steady pace; None without one (a single look: back off as usual)."""
    if before is None:
        return None
    (then, was), (at, progress) = before, now
    if at <= then or progress < was or progress >= 100:
        return None
    if progress == was:
        # Not moved since `then` (a look within one percent, or a stall): as long
        # again, so a stall backs off instead of being asked every POLL_SOONEST.
        return at - then
    return (100 - progress) * (at - then) / (progress - was)


def _load(generation_id: int) -> Generation | None:
    return (
        Generation.objects.select_related("team", "source_result")
        .filter(pk=generation_id)
        .first()
    )


# --- submit ---------------------------------------------------------------


def submit(generation_id: int, *, reserved: bool = False) -> float | None:
    """Upload missing references, POST the tool, record the execution.

    At most once: the row moves to SUBMITTING right before the POST, and only
    a POST that certainly never reached VideoGen puts it back to QUEUED. An
    ambiguous outcome (read timeout, 5xx) leaves it in SUBMITTING for the
    reconciler, which looks for the execution instead of posting again.

    References are uploaded while the row is still QUEUED: a crash or a slow
    upload there is plainly "not submitted" (the reconciler submits it again)
    rather than an ambiguous SUBMITTING, which it could only call unknown.

    reserved: the dispatcher took this POST's tool call from the budget. Then a
    generation that goes back to waiting returns to its place in the dispatcher's
    queue (and the call to the budget, if VideoGen never saw the request); the
    returned delay is when to run the dispatcher again.
    """
    generation = _load(generation_id)
    if generation is None or generation.status != Status.QUEUED:
        if reserved:  # cancelled before its turn came: the call is someone else's
            dispatch.give_back_call()
        return None
    with budget.calls_for(generation):
        return _submit(generation, reserved)


def _submit(generation: Generation, reserved: bool) -> float | None:
    client = client_from_settings()
    try:
        file_ids = [_ensure_uploaded(client, ref) for ref in generation.references.order_by("pk")]
    except VideoGenError as exc:
        return _refused_before_post(generation, exc, reserved=reserved, refund=True)
    if None in file_ids:  # an upload is still being processed by VideoGen
        if reserved:
            dispatch.give_back(generation, refund=True)
        return RETRY_SOON
    # Read before the POST: between the POST and the save nothing may fail
    # (this may ask the cache, which can be down).
    delay = poll_delay(0)
    if not generation.move(
        Status.SUBMITTING,
        submitted_at=timezone.now(),
        dispatched_at=generation.dispatched_at or timezone.now(),
    ):
        if reserved:
            dispatch.give_back_call()
        return None  # another worker has it, or it was cancelled

    try:
        execution_id = _start_execution(client, generation, file_ids, reserved)
    except ApiConnectionError as exc:
        if not exc.request_sent:
            return _refused_before_post(generation, exc, reserved=reserved, refund=True)
        log.warning("generation %s: submit outcome unknown: %s", generation.pk, exc)
        return None
    except RateLimitedError as exc:  # a 429 is a refusal: nothing was started
        # VideoGen refused it (its window is spent, by another client on the key):
        # the budget now waits for the reset; the generation waits in its place.
        return _refused_before_post(generation, exc, reserved=reserved, refund=False)
    except VideoGenError as exc:
        if exc.transient:  # 5xx: the execution may or may not exist
            log.warning("generation %s: submit outcome unknown: %s", generation.pk, exc)
            return None
        if isinstance(exc, ForbiddenError) and generation.watermark_mode == "NONE":
            # The account lacks the Production add-on: the form stops offering NONE.
            VideoGenAccount.learn_production_addon(False, note=f"403 on {generation}")
        if may_be_file_gone(exc) and _forget_stale_references(generation):
            # A 4xx is a refusal, so posting again after a fresh upload is not a
            # second paid call: back to the queue, and the next submit re-uploads.
            log.info("generation %s: a reference was gone; uploading it again", generation.pk)
            generation.move(Status.QUEUED)
            if reserved:
                dispatch.give_back(generation, refund=False)
            return RETRY_SOON
        generation.move(
            Status.FAILED,
            error_code=exc.code or "",
            error_message=submit_refusal_message(exc, watermark_mode=generation.watermark_mode),
        )
        return None

    with transaction.atomic():
        moved = generation.move(
            Status.PENDING,
            remote_execution_id=execution_id,
            next_check_at=timezone.now() + timedelta(seconds=delay),
            retry_note="",
            retry_at=None,
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


def _start_execution(
    client, generation: Generation, file_ids: list[str], reserved: bool = False
) -> str:
    """The one paid POST of a generation."""
    if generation.tool == Tool.GENERATE_IMAGE:
        return client.generate_image(
            budget_reserved=reserved,
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
        budget_reserved=reserved,
        image_file_id=generation.source_result.remote_file_id,
        watermark_mode=generation.watermark_mode,
        num_results=generation.num_results,
        is_output_temporary=generation.is_output_temporary,
    )


def _refused_before_post(
    generation: Generation, exc: VideoGenError, *, reserved: bool = False, refund: bool = True
) -> float | None:
    """Nothing was started on VideoGen: go back to the queue, or fail for good.
    refund: VideoGen never counted the tool call (it was not sent)."""
    if exc.transient:
        if generation.status == Status.SUBMITTING:
            generation.move(Status.QUEUED)
        retry_after = getattr(exc, "retry_after", None)
        delay = max(retry_after or 0, RETRY_SOON)
        if reserved:
            dispatch.give_back(generation, refund=refund)
        _note_retry(generation, exc, delay)
        return delay
    if reserved and refund:
        dispatch.give_back_call()
    if isinstance(exc, ForbiddenError) and generation.watermark_mode == "NONE":
        # The account lacks the Production add-on: the form stops offering NONE.
        VideoGenAccount.learn_production_addon(False, note=f"403 on generation {generation.pk}")
    generation.move(Status.FAILED, error_code=exc.code or "", error_message=user_message(exc))
    return None


def _forget_stale_references(generation: Generation) -> bool:
    """VideoGen says a file the POST named is gone: forget the upload of every
    reference not uploaded just now, so the next submit uploads Studio's own copy.
    False when there is none (the refusal is about something else: do not loop)."""
    fresh = timezone.now() - timedelta(minutes=5)
    stale = Reference.objects.filter(
        pk__in=generation.references.values("pk"), uploaded_at__lt=fresh
    )
    return stale.update(remote_file_id="", uploaded_at=None) > 0


def _ensure_uploaded(client, reference: Reference) -> str | None:
    """The reference's VideoGen file id, uploading it first if needed.

    Uploaded as a temporary file, again once it may have been archived.
    Returns None while VideoGen is still processing the upload.
    """
    if reference.uploaded_at and reference.uploaded_at > timezone.now() - REFERENCE_LIFETIME:
        return reference.remote_file_id
    if reference.uploaded_at:  # may be archived by now: upload Studio's copy again
        Reference.objects.filter(pk=reference.pk).update(remote_file_id="", uploaded_at=None)
        reference.remote_file_id, reference.uploaded_at = "", None
    if not reference.remote_file_id:
        upload = client.create_upload(
            display_name=f"studio-reference-{reference.sha256[:12]}", is_temporary=True
        )
        with reference.image.open("rb") as data:
            client.put_upload(upload.upload_url, data, content_type=reference.content_type)
        Reference.objects.filter(pk=reference.pk).update(remote_file_id=upload.file_id)
        reference.remote_file_id = upload.file_id
    # GET, not hydrate: readiness needs no signed URL, and hydrates are the scarcer budget.
    file = client.get_file(reference.remote_file_id)
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


def _note_retry(generation: Generation, exc: VideoGenError, delay: float | None) -> None:
    """Tell the card why it waits: "Retrying — VideoGen answered 502, next try in 8 s"."""
    if isinstance(exc, RateLimitedError):
        note = "VideoGen asked Studio to slow down (429)"
    elif exc.status:
        note = f"VideoGen answered {exc.status}"
    else:
        note = "VideoGen could not be reached"
    retry_at = timezone.now() + timedelta(seconds=delay or RETRY_SOON)
    generation.touch(retry_note=note, retry_at=retry_at)


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
        with budget.calls_for(generation):
            execution = client.get_execution(generation.remote_execution_id)
    except VideoGenError as exc:
        if exc.transient:
            delay = _schedule_next_check(generation, getattr(exc, "retry_after", None))
            _note_retry(generation, exc, delay)
            return delay
        generation.move(Status.FAILED, error_code=exc.code or "", error_message=user_message(exc))
        return None
    # The last progress seen while running, and when (a move stamps updated_at;
    # bookkeeping updates do not): with this look, the pace of the execution.
    before = (
        (generation.updated_at.timestamp(), generation.progress)
        if generation.status == Status.RUNNING and generation.progress > 0
        else None
    )
    looked_at = time.time()
    if generation.retry_note:
        generation.touch(retry_note="", retry_at=None)

    if apply_execution(generation, execution):
        return None
    remaining = (
        expected_remaining(before, (looked_at, execution.progress or 0))
        if execution.status == "running"
        else None
    )
    return _schedule_next_check(generation, remaining=remaining)


def apply_pushed(generation: Generation, execution) -> bool:
    """Apply a webhook's word on an execution, as apply_execution does; a failure
    is first confirmed with one GET. Deliveries come out of order and are
    retried, so an attempt's `failed` may arrive before the `succeeded` of the
    attempt that followed it: failing the card then would hide images that were
    made and paid for. Failures are rare, so the GET costs little."""
    if execution.status == "failed" and generation.status not in TERMINAL_STATUSES:
        try:
            with budget.calls_for(generation):
                execution = client_from_settings().get_execution(generation.remote_execution_id)
        except VideoGenError as exc:
            log.info(
                "generation %s: could not confirm that execution %s failed (%s); "
                "taking the webhook's word",
                generation.pk, generation.remote_execution_id, exc,
            )
    return apply_execution(generation, execution)


def apply_execution(generation: Generation, execution) -> bool:
    """Move the generation to match VideoGen's word on its execution (from a GET
    or a webhook). Returns True once the execution has ended.

    A finished generation never moves because of it: a late or reordered
    event (a `failed` delivered after the `succeeded`) is logged and ignored.
    Every move is conditional on an active status, so a finish that lands
    between the read and the write is not undone either.
    """
    if generation.status in TERMINAL_STATUSES:
        if execution.status != generation.status:
            log.info(
                "generation %s is %s; ignored VideoGen's late word that execution %s is %s",
                generation.pk, generation.status, execution.id, execution.status,
            )
        return True
    if execution.status == "succeeded":
        # The results arrive hydrated: ingest downloads from these URLs, no more calls.
        sources = result_sources(execution)
        with transaction.atomic():
            if generation.move(Status.SUCCEEDED, only_from=ACTIVE_STATUSES, progress=100):
                from .tasks import ingest_results

                transaction.on_commit(lambda: ingest_results.delay(generation.pk, sources))
        return True
    if execution.status == "failed":
        error = execution.error
        generation.move(
            Status.FAILED,
            only_from=ACTIVE_STATUSES,
            error_code=(error.code if error else None) or "",
            error_message=execution_failure_message(
                error.code if error else None, error.message if error else None
            ),
        )
        return True
    if execution.status == "cancelled":
        generation.move(Status.CANCELLED, only_from=ACTIVE_STATUSES)
        return True
    if execution.status == "running" and (
        generation.status != Status.RUNNING or execution.progress != generation.progress
    ):
        generation.move(Status.RUNNING, only_from=ACTIVE_STATUSES, progress=execution.progress or 0)
    return False


def _schedule_next_check(
    generation: Generation, at_least: float | None = None, remaining: float | None = None
) -> float:
    delay = max(poll_delay(generation.check_count, remaining), at_least or 0)
    # Bookkeeping only: not a change the gallery needs to see.
    Generation.objects.filter(pk=generation.pk).update(
        check_count=generation.check_count + 1,
        next_check_at=timezone.now() + timedelta(seconds=delay),
    )
    return delay


# --- ingest ---------------------------------------------------------------


def result_sources(execution) -> list[dict]:
    """The results of a succeeded execution as a task argument: file id, and the
    signed download URL with its expiry when the answer carried one."""
    sources = []
    for item in execution.results:
        source = {"fileId": item.file_id, "url": None, "expiresAt": None}
        for candidate in (item.file.download, item.file.preview) if item.file else ():
            if candidate is not None and candidate.is_ready and candidate.url:
                source.update(url=candidate.url, expiresAt=candidate.expires_at)
                break
        sources.append(source)
    return sources


def ingest(generation_id: int, sources: list[dict] | None = None) -> None:
    """Store every result file and its thumbnail. Running it twice changes nothing.

    `sources` are the results as the execution or the webhook sent them, with
    their signed URLs; without them (a re-enqueue) one GET of the execution
    brings them. A file is hydrated only when its URL has expired.
    Raises the client's errors; the task retries the transient ones.
    """
    generation = _load(generation_id)
    if generation is None or generation.status != Status.SUCCEEDED or generation.ingested_at:
        return
    with budget.calls_for(generation):
        _ingest(generation, sources)


def _ingest(generation: Generation, sources: list[dict] | None) -> None:
    client = client_from_settings()
    if not sources:
        sources = result_sources(client.get_execution(generation.remote_execution_id))
    beat = time.monotonic()
    for position, source in enumerate(sources):
        result = _result_row(generation, position, source["fileId"])
        if not result.is_stored:
            _store_original(client, result, source)
        if not result.thumbnail:
            _store_thumbnail(result)
            if len(sources) > 1:
                generation.touch()  # "Saving images (2 of 4)" on every open page
        if time.monotonic() - beat > INGEST_HEARTBEAT_SECONDS:
            # A long ingest (100 results) is alive: the reconciler must not start
            # a second one. Bookkeeping only, not a change the gallery shows.
            Generation.objects.filter(pk=generation.pk).update(updated_at=timezone.now())
            beat = time.monotonic()
    generation.touch(ingested_at=timezone.now())
    if not generation.is_output_temporary:
        # VideoGen describes kept files a moment after making them: look then, in
        # case no file.analysis_completed webhook brings it (descriptions.py).
        from .tasks import describe_generation

        describe_generation.apply_async((generation.pk,), countdown=settings.STUDIO_DESCRIBE_DELAY)
    if generation.watermark_mode == "NONE" and not VideoGenAccount.current().has_production_addon:
        VideoGenAccount.learn_production_addon(True, note=f"NONE worked: {generation}")
    generation_finished.send(sender=Generation, generation=generation)
    log.info("generation %s: stored %d results", generation.pk, len(sources))


def ingest_gave_up(generation_id: int, exc: VideoGenError) -> None:
    generation = _load(generation_id)
    if generation is not None:
        generation.move(Status.FAILED, error_code=exc.code or "", error_message=user_message(exc))


def _result_row(generation: Generation, position: int, file_id: str) -> Result:
    try:
        with transaction.atomic():
            result, _ = Result.all_objects.get_or_create(
                generation=generation,
                position=position,
                defaults={"team_id": generation.team_id, "remote_file_id": file_id},
            )
    except IntegrityError:  # a second ingest created it first
        result = Result.all_objects.get(generation=generation, position=position)
    return result


def _download_url(client, result: Result, source: dict) -> str:
    """The URL the execution or webhook sent, unless it has expired; else a hydrate."""
    expires_at = source.get("expiresAt")
    if source.get("url") and not (
        isinstance(expires_at, (int, float))
        and expires_at <= time.time() + EXPIRY_MARGIN_SECONDS
    ):
        return source["url"]
    url = client.hydrate_file(result.remote_file_id).download_url
    if not url:
        raise VideoGenError(
            f"VideoGen has no download for result file {result.remote_file_id} yet.",
            code="not_ready",
        )
    return url


def _store_original(client, result: Result, source: dict) -> None:
    url = _download_url(client, result, source)
    with tempfile.TemporaryFile() as tmp:
        # Streamed to disk chunk by chunk: a result is never held whole in memory.
        for chunk in client.stream_download(url, max_bytes=settings.STUDIO_MAX_RESULT_BYTES):
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
    Result.all_objects.filter(pk=result.pk).update(
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
        Result.all_objects.filter(pk=result.pk).update(thumbnail=result.image.name)
        result.thumbnail.name = result.image.name
        return
    with result.image.open("rb") as original:
        data = make_thumbnail(original)
    name = _result_path(result, "thumbnails", result.sha256, "webp")
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(data))
    Result.all_objects.filter(pk=result.pk).update(thumbnail=name)
    result.thumbnail.name = name


def _result_path(result: Result, kind: str, sha256: str, extension: str) -> str:
    # Named by content, so a repeated ingest finds the file it already wrote.
    return (
        f"{kind}/team-{result.team_id}/gen-{result.generation_id}/"
        f"{result.position:03d}-{sha256[:16]}.{extension}"
    )


# --- cancel ---------------------------------------------------------------


def cancel_remote(generation_id: int) -> None:
    """Ask VideoGen to cancel; the execution's end comes by the next GET or webhook."""
    generation = _load(generation_id)
    if generation is None or not generation.remote_execution_id:
        return
    client_from_settings().cancel_execution(generation.remote_execution_id)
