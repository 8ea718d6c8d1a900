"""Webhooks end to end: a sandbox of the test's own signs and sends real deliveries
to the live server; a real Celery worker applies them. Polling is pushed far
out of reach, so only a webhook can land the generation, except where the
delivery is dropped on purpose and the slow fallback poll has to."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import Count

from studio.generations.models import Generation, Result, Status
from studio.generations.services import generation_create
from studio.videogen import client_from_settings
from studio.webhooks.models import WebhookDelivery, WebhookEndpoint
from studio.webhooks.selectors import forget_webhooks_enabled
from tests.conftest import wait_for
from tests.fixtures.factories import make_user

SUCCEEDED = "tool_execution.succeeded"


@pytest.fixture
def hooked(settings, sandbox_factory, live_server, celery_worker):
    """A fresh sandbox with Studio's endpoint registered through the management command."""
    box = sandbox_factory("--pending-seconds", "0.2", "--running-seconds", "0.5")
    settings.VIDEOGEN_BASE_URL = box.base_url
    settings.VIDEOGEN_API_KEY = box.api_key
    settings.STUDIO_WEBHOOK_FALLBACK_POLL_DELAY = 600.0  # polling cannot be what finishes
    call_command("register_webhook", url=f"{live_server.url}/webhooks/videogen/")
    yield box
    forget_webhooks_enabled()  # the next test's worker must not think webhooks are on
    box.stop()


def _landed(pk: int) -> bool:
    generation = Generation.objects.get(pk=pk)
    return generation.status == Status.SUCCEEDED and generation.ingested_at is not None


def _generate(count: int) -> list[Generation]:
    user = make_user()
    team = user.teams.get()
    return [
        generation_create(team=team, user=user, prompt=f"harbour at night {n}", num_results=2)
        for n in range(count)
    ]


def test_the_command_registers_the_endpoint_on_videogen(hooked, live_server):
    endpoint = WebhookEndpoint.objects.get()
    on_videogen = client_from_settings().list_webhook_endpoints()
    assert [e["endpointId"] for e in on_videogen] == [endpoint.remote_endpoint_id]
    assert endpoint.url == f"{live_server.url}/webhooks/videogen/"
    assert endpoint.signing_secret.startswith("whsec_")
    assert set(endpoint.events) >= {SUCCEEDED, "tool_execution.failed"}


def test_a_generation_lands_through_its_webhook_not_a_poll(hooked, settings):
    settings.STUDIO_DESCRIBE_DELAY = 600.0  # only the webhook can bring the descriptions
    (generation,) = _generate(1)

    wait_for(lambda: _landed(generation.pk), timeout=20, message="webhook did not land it")

    generation.refresh_from_db()
    delivery = WebhookDelivery.objects.get(execution_id=generation.remote_execution_id)
    assert delivery.event == SUCCEEDED and delivery.handled_at is not None
    assert generation.results.count() == 2
    # Each kept image's description comes by file.analysis_completed too: no GET of the file.
    wait_for(lambda: not generation.results.filter(description="").exists(), timeout=20)
    stats = hooked.stats()
    assert stats["webhooks"]["succeeded"] == 3  # the execution's, and one per image
    assert stats["requests"].get("GET /v1/files/{file_id}", 0) == 0
    # The payload's results are hydrated: no GET of the execution, no hydrate.
    assert stats["requests"].get("GET /v1/tools/executions/{execution_id}", 0) == 0
    assert not [r for r in stats["requests"] if r.endswith("/hydrate")]


def test_duplicated_deliveries_are_applied_once(hooked):
    hooked.faults(webhook_duplicate_share=1.0)
    generations = _generate(3)

    for generation in generations:
        wait_for(lambda g=generation: _landed(g.pk), timeout=20)
    # Per generation: its execution's event and two analyses, each delivered twice.
    wait_for(lambda: hooked.stats()["webhooks"]["succeeded"] == 18, timeout=10)

    stats = hooked.stats()["webhooks"]
    assert stats["duplicated"] == 9 and stats["failed"] == 0
    # Eighteen deliveries answered 2xx, nine recorded: one per webhook-id.
    assert WebhookDelivery.objects.count() == 9
    assert Generation.objects.filter(check_count=0).count() == 3
    assert Result.objects.count() == 6
    assert not Result.objects.values("generation", "position").annotate(n=Count("pk")).filter(
        n__gt=1
    )


def test_dropped_deliveries_end_through_the_fallback_poll(hooked, settings):
    settings.STUDIO_WEBHOOK_FALLBACK_POLL_DELAY = 1.0
    hooked.faults(webhook_drop_share=1.0)
    generations = _generate(2)

    for generation in generations:
        wait_for(lambda g=generation: _landed(g.pk), timeout=20, message="fallback poll missing")

    stats = hooked.stats()
    wait_for(lambda: hooked.stats()["webhooks"]["dropped"] == 6, timeout=10)  # + 4 analyses
    stats = hooked.stats()
    assert stats["webhooks"]["attempted"] == 0
    assert not WebhookDelivery.objects.exists()
    # Each generation: at least one fallback poll, whose answer the ingest uses as it is.
    assert stats["requests"]["GET /v1/tools/executions/{execution_id}"] >= 2
    assert not [r for r in stats["requests"] if r.endswith("/hydrate")]
    assert Result.objects.count() == 4
