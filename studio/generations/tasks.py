"""Celery tasks: ids in, one pipeline step each, idempotent.

A step returns how long to wait before trying again; the task re-schedules
itself with that countdown instead of sleeping.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from studio.videogen.errors import VideoGenError

from . import descriptions, dispatch, pipeline, reconcile, services

log = logging.getLogger(__name__)

INGEST_MAX_RETRIES = 8


# At most one scheduled wake-up of the dispatcher at a time (the cache's add).
DISPATCH_WAKE_KEY = "generations:dispatch-wake"


@shared_task(name="generations.dispatch")
def dispatch_work(wake: bool = False) -> None:
    """Hand out the tool calls the budget has now; wake up when the next frees."""
    dispatch.nudge_taken()  # before reading the queue: what is nudged after, another run reads
    if wake:
        cache.delete(DISPATCH_WAKE_KEY)
    wait = dispatch.run()
    if wait is None:
        return
    if cache.add(DISPATCH_WAKE_KEY, 1, timeout=max(1, int(wait) + 2)):
        dispatch_work.apply_async(kwargs={"wake": True}, countdown=wait)


@shared_task(name="generations.submit_generation")
def submit_generation(generation_id: int, reserved: bool = False) -> None:
    # reserved: the dispatcher took the call; work that must wait goes back to it.
    delay = pipeline.submit(generation_id, reserved=reserved)
    if delay is None:
        return
    if reserved:
        dispatch_work.apply_async(countdown=delay)
    else:
        submit_generation.apply_async((generation_id,), countdown=delay)


@shared_task(name="generations.poll_execution")
def poll_execution(generation_id: int) -> None:
    delay = pipeline.check(generation_id)
    if delay is not None:
        poll_execution.apply_async((generation_id,), countdown=delay)


@shared_task(bind=True, name="generations.ingest_results", max_retries=INGEST_MAX_RETRIES)
def ingest_results(self, generation_id: int, sources: list | None = None) -> None:
    # `sources`: the results with their signed URLs, as VideoGen sent them (a hint;
    # without it the step reads the execution once).
    try:
        pipeline.ingest(generation_id, sources)
    except VideoGenError as exc:
        if exc.transient and self.request.retries < self.max_retries:
            countdown = max(getattr(exc, "retry_after", None) or 0, 2 ** self.request.retries)
            raise self.retry(exc=exc, countdown=countdown) from exc
        log.warning("generation %s: ingest failed: %s", generation_id, exc)
        pipeline.ingest_gave_up(generation_id, exc)


@shared_task(bind=True, name="generations.cancel_execution", max_retries=5)
def cancel_execution(self, generation_id: int) -> None:
    try:
        pipeline.cancel_remote(generation_id)
    except VideoGenError as exc:
        if exc.transient:
            raise self.retry(exc=exc, countdown=2 ** self.request.retries) from exc
        log.warning("generation %s: remote cancel refused: %s", generation_id, exc)


@shared_task(name="generations.reconcile_generations")
def reconcile_generations() -> None:
    # Two beats (or a slow run) must not overlap: a short lock in the cache.
    if not cache.add("reconcile-generations-lock", "1", timeout=settings.STUDIO_RECONCILE_INTERVAL):
        return
    try:
        reconcile.run(now=timezone.now())
    finally:
        cache.delete("reconcile-generations-lock")


@shared_task(name="generations.purge_trash")
def purge_trash() -> None:
    """Daily: what has been in the Trash past STUDIO_TRASH_DAYS goes for good, files too.
    A short lock so two beats never run it at once."""
    if not cache.add("generations:purge-trash", 1, timeout=3600):
        return
    try:
        services.trash_purge()
    finally:
        cache.delete("generations:purge-trash")


@shared_task(name="generations.describe_generation")
def describe_generation(generation_id: int, attempt: int = 0) -> None:
    """A look for VideoGen's descriptions a moment after an ingest (if no webhook came)."""
    delay = descriptions.describe_generation(generation_id, attempt)
    if delay is not None:
        describe_generation.apply_async((generation_id, attempt + 1), countdown=delay)


@shared_task(name="generations.backfill_descriptions")
def backfill_descriptions() -> None:
    """Periodic: descriptions for results that have none yet, a paced batch per run."""
    if not cache.add("generations:backfill-descriptions", 1, timeout=600):
        return
    try:
        counts = descriptions.backfill()
        if counts["asked"]:
            log.info("descriptions backfill: %s", counts)
    finally:
        cache.delete("generations:backfill-descriptions")
