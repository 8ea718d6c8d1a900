"""500 generations against a sandbox that misbehaves in every way it can at once:
5xx and 429 answers, slow and truncated downloads, failed executions, webhook
deliveries dropped or sent twice. Worker and beat run as subprocesses; the
webhooks reach the live server.

Each generation ends succeeded (every result stored once) or failed with a
reason a person can read; none is stuck; and VideoGen saw exactly one
execution per submitted generation: nothing was posted twice.

5xx answers to the tool POST itself are left out here: Studio cannot tell
whether such a POST started a paid execution, so it never re-posts and the
generation may end "outcome unknown" (tests/faults/test_worker_kills.py
covers that state). A 429 on the POST is a clean refusal and is included.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.core.management import call_command

from studio.generations.models import Generation, Result, Status
from studio.generations.services import generation_create
from studio.webhooks.models import WebhookDelivery
from studio.webhooks.selectors import forget_webhooks_enabled
from tests.conftest import wait_for
from tests.fixtures.factories import make_user

from .conftest import outcome, report

pytestmark = pytest.mark.faults

GENERATIONS = 500
# The sandbox's groups follow the reference's rate-limit table: cancel, hydrate and uploads
# have their own (they were part of executions and files), so they are named too.
FAULTS = {
    "server_error_share": {
        "executions": 0.1,
        "cancel": 0.1,
        "files": 0.1,
        "hydrate": 0.1,
        "uploads": 0.1,
        "storage": 0.05,
    },
    "server_error_statuses": [500, 502, 503, 504],
    "rate_limited_share": {
        "tools": 0.1,
        "executions": 0.05,
        "cancel": 0.05,
        "files": 0.05,
        "hydrate": 0.05,
        "uploads": 0.05,
    },
    "rate_limited_retry_after": 1,
    "latency_ms": {"storage": 100},
    "latency_jitter_ms": {
        "tools": 50,
        "executions": 50,
        "cancel": 50,
        "files": 50,
        "hydrate": 50,
        "uploads": 50,
        "storage": 300,
    },
    "download_bytes_per_second": 400_000,
    "truncated_download_share": 0.1,
    "execution_failure_share": 0.1,
    "webhook_drop_share": 0.1,
    "webhook_duplicate_share": 0.2,
}


def _in_flight(pks) -> int:
    return Generation.objects.filter(pk__in=pks).in_flight().count()


def test_500_generations_against_a_misbehaving_api(
    settings, make_stack, sandbox_factory, live_server, broker
):
    box = sandbox_factory("--pending-seconds", "0.3", "--running-seconds", "1.0", "--seed", "7")
    settings.VIDEOGEN_BASE_URL = box.base_url
    settings.VIDEOGEN_API_KEY = box.api_key
    call_command("register_webhook", url=f"{live_server.url}/webhooks/videogen/")
    box.faults(**FAULTS)
    stack = make_stack(
        box,
        STUDIO_WEBHOOK_FALLBACK_POLL_DELAY="3",
        STUDIO_RATE_LIMITS="tools=20/1,executions=60/1,files=60/1,webhooks=5/1",
        STUDIO_RECONCILE_GRACE="10",
        STUDIO_LOG_LEVEL="WARNING",
    )
    stack.start_beat()
    stack.start_worker(concurrency=4)
    user = make_user()
    team = user.teams.get()
    started = time.monotonic()

    generations = [
        generation_create(team=team, user=user, prompt=f"storm {n}", aspect_ratio="1:1")
        for n in range(GENERATIONS)
    ]
    pks = [g.pk for g in generations]
    wait_for(lambda: _in_flight(pks) == 0, timeout=900, interval=1.0,
             message=f"stuck: {_in_flight(pks)}\n{stack.logs()}")
    elapsed = time.monotonic() - started
    forget_webhooks_enabled()

    counts = outcome(generations, box)
    rows = Generation.objects.filter(pk__in=pks)
    reasons = Counter(rows.filter(status=Status.FAILED).values_list("error_code", flat=True))
    stats = box.stats()
    report(
        f"misbehaving api [{broker}]",
        {**counts, "failure_reasons": dict(reasons), "injected": stats["injected"],
         "webhooks": stats["webhooks"], "deliveries_recorded": WebhookDelivery.objects.count(),
         "seconds": round(elapsed)},
    )

    assert counts["lost"] == 0
    assert counts["unknown"] == 0
    assert counts["succeeded"] + counts["failed"] == GENERATIONS
    # Every fault really happened.
    for kind in ("server_error", "rate_limited", "truncated_download", "latency"):
        assert stats["injected"].get(kind, 0) > 0, kind
    assert stats["webhooks"]["dropped"] > 0 and stats["webhooks"]["duplicated"] > 0
    # Failed ones say why; the model's failures among them.
    for generation in rows.filter(status=Status.FAILED):
        assert generation.error_code and generation.error_message, generation.pk
    assert reasons["generation_failed"] > 0
    # Succeeded ones have their one result, stored once.
    assert counts["duplicate_results"] == 0
    for generation in rows.filter(status=Status.SUCCEEDED).prefetch_related("results"):
        assert [r.sha256 != "" for r in generation.results.all()] == [True], generation.pk
    assert Result.objects.filter(generation__in=pks).count() == counts["succeeded"]
    # No double POST: one execution per generation that reached VideoGen.
    submitted = rows.exclude(remote_execution_id=None).count()
    assert counts["executions"] == counts["claimed_executions"] == submitted
    # Each webhook-id recorded once, however often it was sent.
    assert WebhookDelivery.objects.count() <= stats["webhooks"]["succeeded"]
