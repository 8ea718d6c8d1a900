"""The reconciler: the database is the source of truth and queue messages are
hints. Anything whose next step is overdue gets that step enqueued again, so a
lost message, a killed worker or a broker restart delays work but never loses it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings

from .models import Generation, Status

log = logging.getLogger(__name__)

# Rows re-enqueued per step and run: a large backlog is worked through over a few runs.
RECONCILE_BATCH = 1000


def run(*, now: datetime) -> dict[str, int]:
    from .tasks import dispatch_work, ingest_results, poll_execution

    overdue = now - timedelta(seconds=settings.STUDIO_RECONCILE_GRACE)
    counts = {"submit": 0, "poll": 0, "ingest": 0, "resolved": 0}
    waiting = _claim_overdue(
        Generation.objects.filter(status=Status.QUEUED, updated_at__lt=overdue),
        updated_at=now,
    )
    if waiting:
        # Queued work waits for the dispatcher (its turn and a call of the budget).
        # One dispatched long ago whose submit message was lost goes back to its
        # place; its call is not given back (the message may still come).
        Generation.objects.filter(
            pk__in=waiting, status=Status.QUEUED, dispatched_at__lt=overdue
        ).update(dispatched_at=None)
        dispatch_work.delay()
        counts["submit"] = len(waiting)
    for pk in _claim_overdue(
        Generation.objects.filter(
            status__in=(Status.PENDING, Status.RUNNING), next_check_at__lt=overdue
        ),
        next_check_at=now,
    ):
        poll_execution.delay(pk)
        counts["poll"] += 1
    for pk in _claim_overdue(
        Generation.objects.filter(
            status=Status.SUCCEEDED, ingested_at__isnull=True, updated_at__lt=overdue
        ),
        updated_at=now,
    ):
        ingest_results.delay(pk)
        counts["ingest"] += 1
    stuck = Generation.objects.filter(status=Status.SUBMITTING, updated_at__lt=overdue)
    for generation in stuck:
        resolve_submitting(generation)
        counts["resolved"] += 1
    if any(counts.values()):
        log.info("reconciler re-enqueued %s", counts)
    return counts


def _claim_overdue(queryset, **stamp) -> list[int]:
    """The overdue rows' ids, stamped as just re-enqueued: one re-enqueue per grace
    period, not one per run, so a backlog is not multiplied by the reconciler
    (a poll message re-enqueued beside a late original makes two poll chains)."""
    pks = list(queryset.values_list("pk", flat=True)[:RECONCILE_BATCH])
    if not pks:
        return []
    # Bookkeeping, not a change the gallery shows; rows that moved meanwhile are skipped.
    queryset.filter(pk__in=pks).update(**stamp)
    return pks


def resolve_submitting(generation: Generation) -> None:
    """A submit that crashed or got no answer: its outcome is unknown.

    Posting again could start a second paid execution, so Studio asks a person
    ("Submit again"). It does not adopt an execution from VideoGen's execution
    list: that list is in the SDK only, and the reference promises no field of
    a listed execution (no creation time, no prompt) that would tell this
    generation's execution from any other unclaimed one, such as another
    team's or a script's on the same key. A field the reference does not
    promise (`createdAt`) is never the ground for attaching images to a card.
    """
    log.warning("generation %s: submit outcome unknown", generation.pk)
    generation.move(
        Status.UNKNOWN,
        error_code="outcome_unknown",
        error_message=(
            "Studio lost track of this request while sending it, and cannot tell whether "
            "VideoGen started it. Submit again if you do not see the images."
        ),
    )
