"""/metrics: only with the token or from an allowed address; what it says."""

from __future__ import annotations

import ipaddress
import time

import pytest
from django.urls import reverse

from studio.generations.models import Generation, Status
from studio.webhooks.models import WebhookDelivery
from tests.fixtures.factories import make_user
from tests.gallery.factories import make_results

TOKEN = "s3cret-scrape-token"


@pytest.fixture
def metrics_on(settings):
    settings.STUDIO_METRICS_TOKEN = TOKEN
    settings.STUDIO_METRICS_ALLOWED_NETWORKS = []


@pytest.mark.django_db
def test_refused_without_the_token_even_when_signed_in(client, metrics_on):
    assert client.get(reverse("metrics")).status_code == 403
    wrong = client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 403
    client.force_login(make_user("staff"))
    assert client.get(reverse("metrics")).status_code == 403


@pytest.mark.django_db
def test_nobody_gets_in_when_nothing_is_configured(client, settings):
    settings.STUDIO_METRICS_TOKEN = ""
    settings.STUDIO_METRICS_ALLOWED_NETWORKS = []
    assert client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer ").status_code == 403


@pytest.mark.django_db
def test_an_allowed_address_needs_no_token(client, settings):
    settings.STUDIO_METRICS_TOKEN = ""
    settings.STUDIO_METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.0.0.0/8")]
    assert client.get(reverse("metrics"), REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get(reverse("metrics"), REMOTE_ADDR="192.0.2.1").status_code == 403


@pytest.mark.django_db
def test_the_figures(client, metrics_on):
    user = make_user("maker")
    team = user.teams.get()
    results = make_results(team, user, 2)
    Generation.objects.create(team=team, created_by=user, prompt="waiting", aspect_ratio="1:1",
                              status=Status.QUEUED)
    WebhookDelivery.objects.create(webhook_id="msg_1", event="tool_execution.succeeded",
                                   payload={"occurredAt": time.time() - 2.0})
    client.get(reverse("healthz"))  # a request to time
    response = client.get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    lines = {line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1] for line in text.splitlines()
             if line and not line.startswith("#")}
    assert float(lines['studio_generations{state="queued"}']) == 1
    assert float(lines['studio_generations{state="succeeded"}']) == 1
    assert float(lines["studio_ingest_bytes"]) == sum(r.bytes for r in results) > 0
    assert float(lines["studio_oldest_queued_generation_age_seconds"]) >= 0
    assert float(lines["studio_live_open_streams"]) == 0
    for queue in ("studio", "submit", "poll", "ingest"):
        assert f'studio_celery_queue_depth{{queue="{queue}"}}' in lines
    assert 'studio_budget_remaining_calls{group="tools"}' in lines
    assert float(lines['studio_budget_remaining_calls{group="tools"}']) > 0
    assert 2.0 <= float(lines['studio_webhook_lag_seconds{quantile="1"}']) < 30
    assert float(lines['studio_request_duration_seconds_count{method="GET",view="healthz"}']) >= 1
