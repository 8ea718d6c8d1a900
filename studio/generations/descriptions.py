"""VideoGen's descriptions of kept images: stored on the result once they exist.

VideoGen analyses every non-temporary file a moment after making it. The
description reaches Studio by one of three doors, all idempotent:

1. the `file.analysis_completed` webhook (webhooks app -> `result_describe`);
2. a check a few seconds after the ingest (`describe_generation`), for a
   deployment without webhooks or a delivery that was lost;
3. the backfill (`backfill`), run by beat: results that still have none,
   a batch per run, each asked again only after DESCRIBE_RECHECK.

Doors 2 and 3 spend the files budget (GET /v1/files/{id}, 50,000 an hour):
the client's limiter paces them, and a refusal stops the run until the next.
Temporary outputs are never analysed, so they are never asked about.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from studio.videogen import client_from_settings
from studio.videogen.errors import NotFoundError, RateLimitedError, VideoGenError

from .models import Result

log = logging.getLogger(__name__)

# How long a result that had no description yet waits before it is asked about again.
DESCRIBE_RECHECK = timedelta(minutes=10)
# Checks after an ingest before leaving the rest to the backfill (delays grow 1x, 3x, 9x).
DESCRIBE_ATTEMPTS = 3
MAX_DESCRIPTION = 4000


def result_describe(*, file_id: str, description: str | None) -> int:
    """Store VideoGen's description of `file_id` on its result; how many rows changed.

    A late or repeated delivery writes the same text again, which changes nothing.
    """
    text = (description or "").strip()[:MAX_DESCRIPTION]
    if not file_id or not text:
        return 0
    return (
        Result.all_objects.filter(remote_file_id=file_id)
        .exclude(description=text)
        .update(description=text, described_at=timezone.now())
    )


def _undescribed():
    return Result.all_objects.filter(
        description="", generation__is_output_temporary=False
    ).exclude(remote_file_id="")


def describe_results(results, *, now: datetime | None = None) -> tuple[int, bool]:
    """Ask VideoGen for each result's description; (stored, stopped by the budget)."""
    client = client_from_settings()
    now = now or timezone.now()
    stored = 0
    for result in results:
        try:
            file = client.get_file(result.remote_file_id)
        except RateLimitedError:
            return stored, True
        except NotFoundError:
            file = None  # archived or gone on VideoGen's side: nothing will come
        except VideoGenError as exc:
            log.info("result %s: no description yet (%s)", result.pk, exc)
            return stored, True
        if file is not None and file.description:
            stored += result_describe(file_id=result.remote_file_id, description=file.description)
        else:
            Result.all_objects.filter(pk=result.pk).update(description_checked_at=now)
    return stored, False


def describe_generation(generation_id: int, attempt: int) -> float | None:
    """After an ingest: the results still without a description; seconds until the
    next look (None: all described, or left to the backfill)."""
    missing = list(_undescribed().filter(generation_id=generation_id).exclude(thumbnail=""))
    if not missing:
        return None
    _, stopped = describe_results(missing)
    if attempt + 1 >= DESCRIBE_ATTEMPTS:
        return None
    if stopped or _undescribed().filter(generation_id=generation_id).exists():
        return settings.STUDIO_DESCRIBE_DELAY * 3 ** (attempt + 1)
    return None


def backfill(*, now: datetime | None = None, batch: int | None = None) -> dict[str, int]:
    """One run: up to `batch` stored results without a description, never asked or
    asked longest ago, oldest first. Safe to run twice; the budget stops it early."""
    now = now or timezone.now()
    batch = batch or settings.STUDIO_DESCRIBE_BATCH
    due = (
        _undescribed()
        .exclude(thumbnail="")
        .filter(created_at__lt=now - timedelta(seconds=settings.STUDIO_DESCRIBE_DELAY))
        .exclude(description_checked_at__gte=now - DESCRIBE_RECHECK)
        .order_by(F("description_checked_at").asc(nulls_first=True), "created_at", "pk")[:batch]
    )
    rows = list(due)
    stored, stopped = describe_results(rows, now=now)
    return {"asked": len(rows), "stored": stored, "stopped": int(stopped)}
