"""The reconciler: the database is the source of truth and queue messages are
hints. Anything whose next step is overdue gets that step enqueued again, so a
lost message, a killed worker or a broker restart delays work but never loses it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from studio.videogen import client_from_settings
from studio.videogen.errors import VideoGenError

from .models import Generation, Status

log = logging.getLogger(__name__)

# How far back to look for an execution that a crashed submit may have started.
ADOPTION_PAGES = 3
ADOPTION_CLOCK_SLACK = timedelta(seconds=30)
# Rows re-enqueued per step and run: a large backlog is worked through over a few runs.
RECONCILE_BATCH = 1000


def run(*, now: datetime) -> dict[str, int]:
    from .tasks import ingest_results, poll_execution, submit_generation

    overdue = now - timedelta(seconds=settings.STUDIO_RECONCILE_GRACE)
    counts = {"submit": 0, "poll": 0, "ingest": 0, "resolved": 0}
    for pk in _claim_overdue(
        Generation.objects.filter(status=Status.QUEUED, updated_at__lt=overdue),
        updated_at=now,
    ):
        submit_generation.delay(pk)
        counts["submit"] += 1
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
    """A submit that crashed or got no answer: adopt its execution, or say unknown.

    Posting again could start a second paid execution, so this only looks:
    among recent generate-image executions that no generation claims, exactly
    one candidate is adopted; anything else is marked UNKNOWN for a person.
    """
    from .tasks import poll_execution

    since = (generation.submitted_at or generation.created_at) - ADOPTION_CLOCK_SLACK
    try:
        candidates = _unclaimed_executions_since(since)
    except VideoGenError as exc:
        log.warning("generation %s: cannot list executions yet: %s", generation.pk, exc)
        return
    if len(candidates) == 1:
        try:
            adopted = generation.move(
                Status.PENDING, remote_execution_id=candidates[0], next_check_at=timezone.now()
            )
        except IntegrityError:  # claimed by another generation in the meantime
            adopted = False
        if adopted:
            log.info("generation %s: adopted execution %s", generation.pk, candidates[0])
            poll_execution.delay(generation.pk)
            return
    log.warning(
        "generation %s: submit outcome unknown (%d candidate executions)",
        generation.pk,
        len(candidates),
    )
    generation.move(
        Status.UNKNOWN,
        error_code="outcome_unknown",
        error_message=(
            "Studio lost track of this request while sending it, and cannot tell whether "
            "VideoGen started it. Submit again if you do not see the images."
        ),
    )


def _unclaimed_executions_since(since: datetime) -> list[str]:
    client = client_from_settings()
    found: list[str] = []
    cursor = None
    for _ in range(ADOPTION_PAGES):
        page = client.list_executions(limit=100, cursor=cursor, self_only=True)
        in_window = [e for e in page.items if (_created_at(e) or since) >= since]
        found.extend(
            e.id for e in in_window if (e.tool_type or "GENERATE_IMAGE") == "GENERATE_IMAGE"
        )
        cursor = page.next_cursor
        if not cursor or len(in_window) < len(page.items):
            break  # newest first: the next page is older than `since`
    claimed = set(
        Generation.objects.filter(remote_execution_id__in=found).values_list(
            "remote_execution_id", flat=True
        )
    )
    return [execution_id for execution_id in found if execution_id not in claimed]


def _created_at(execution) -> datetime | None:
    value = execution.raw.get("createdAt")
    return parse_datetime(value) if isinstance(value, str) else None
