"""The webhook receiver: Standard Webhooks signatures, freshness, de-duplication."""

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from standardwebhooks import Webhook

from studio.generations.models import Generation, Status
from studio.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.fixtures.factories import make_user

SECRET = "whsec_" + base64.b64encode(b"studio-test-secret-0123456789").decode()
URL = reverse("webhook_receive")


@pytest.fixture
def endpoint(db):
    return WebhookEndpoint.objects.create(
        remote_endpoint_id="vg_whe_1",
        url="https://studio.example/webhooks/videogen/",
        events=["tool_execution.succeeded"],
        signing_secret=SECRET,
    )


def _signed(payload: dict, *, msg_id="msg_1", secret=SECRET, at: float | None = None):
    body = json.dumps(payload)
    when = datetime.fromtimestamp(at or time.time(), tz=UTC)
    signature = Webhook(secret).sign(msg_id, when, body)
    headers = {
        "HTTP_WEBHOOK_ID": msg_id,
        "HTTP_WEBHOOK_TIMESTAMP": str(int(when.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": signature,
    }
    return body, headers


def _event(execution_id="vg_exec_1", event="tool_execution.failed"):
    return {
        "event": event,
        "occurredAt": "2026-11-25T00:00:00Z",
        "toolExecutionId": execution_id,
        "toolType": "GENERATE_IMAGE",
        "error": {
            "message": "The model could not render this prompt.",
            "code": "generation_failed",
        },
    }


def test_valid_delivery_is_recorded_once_and_applied(
    client, endpoint, django_capture_on_commit_callbacks
):
    user = make_user()
    generation = Generation.objects.create(
        team=user.teams.get(),
        created_by=user,
        prompt="p",
        status=Status.RUNNING,
        remote_execution_id="vg_exec_1",
    )
    body, headers = _signed(_event())

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(URL, body, content_type="application/json", **headers)
    assert response.status_code == 204
    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "tool_execution.failed" and delivery.execution_id == "vg_exec_1"
    assert len(callbacks) == 1  # the work is enqueued, not done in the request

    from studio.webhooks.services import delivery_handle

    delivery_handle(delivery.pk)
    generation.refresh_from_db()
    assert generation.status == Status.FAILED
    assert generation.error_message == (
        "VideoGen could not make these images. The model could not render this prompt."
    )


def test_replayed_delivery_is_acknowledged_but_not_recorded_twice(client, endpoint):
    body, headers = _signed(_event())

    first = client.post(URL, body, content_type="application/json", **headers)
    second = client.post(URL, body, content_type="application/json", **headers)

    assert (first.status_code, second.status_code) == (204, 200)
    assert WebhookDelivery.objects.count() == 1


def test_forged_signature_is_refused(client, endpoint):
    other = "whsec_" + base64.b64encode(b"not-our-secret-at-all-000000").decode()
    body, headers = _signed(_event(), secret=other)

    response = client.post(URL, body, content_type="application/json", **headers)

    assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_tampered_body_is_refused(client, endpoint):
    body, headers = _signed(_event())
    tampered = body.replace("vg_exec_1", "vg_exec_2")

    assert client.post(URL, tampered, content_type="application/json", **headers).status_code == 400


@pytest.mark.parametrize("age", [-400, 400])
def test_stale_or_future_timestamp_is_refused(client, endpoint, age):
    body, headers = _signed(_event(), at=time.time() - age)

    assert client.post(URL, body, content_type="application/json", **headers).status_code == 400
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    "drop", ["HTTP_WEBHOOK_ID", "HTTP_WEBHOOK_TIMESTAMP", "HTTP_WEBHOOK_SIGNATURE"]
)
def test_missing_header_is_refused(client, endpoint, drop):
    body, headers = _signed(_event())
    headers.pop(drop)

    assert client.post(URL, body, content_type="application/json", **headers).status_code == 400


def test_malformed_signature_header_is_refused_not_a_crash(client, endpoint):
    body, headers = _signed(_event())
    headers["HTTP_WEBHOOK_SIGNATURE"] = "garbage-without-comma"

    assert client.post(URL, body, content_type="application/json", **headers).status_code == 400


def test_no_endpoint_registered_means_nothing_is_trusted(client, db):
    body, headers = _signed(_event())

    assert client.post(URL, body, content_type="application/json", **headers).status_code == 400


def test_oversized_body_is_refused(client, endpoint):
    body = json.dumps({"pad": "x" * (1024 * 1024 + 10)})
    response = client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_WEBHOOK_ID="m",
        HTTP_WEBHOOK_TIMESTAMP="1",
        HTTP_WEBHOOK_SIGNATURE="v1,x",
    )

    assert response.status_code == 413


def test_get_is_not_allowed(client, db):
    assert client.get(URL).status_code == 405


def test_analysis_completed_stores_the_description_once(client, endpoint):
    """file.analysis_completed: the result behind the file gets VideoGen's description;
    a repeat changes nothing, and a file of no result is ignored."""
    from studio.generations.models import Result
    from studio.webhooks.services import delivery_handle
    from tests.gallery.factories import make_result

    user = make_user()
    result = make_result(user.teams.get(), user, prompt="a lighthouse at dusk")
    text = "A lighthouse at dusk. Mostly navy, teal and orange, with 3 ellipses."
    for msg_id, file_id in (("msg_a", result.remote_file_id), ("msg_b", result.remote_file_id),
                            ("msg_c", "vg_file_nobody")):
        payload = {"event": "file.analysis_completed", "occurredAt": 1764000000,
                   "fileId": file_id, "file": {"fileId": file_id, "description": text}}
        body, headers = _signed(payload, msg_id=msg_id)
        assert client.post(URL, body, content_type="application/json", **headers).status_code == 204
        delivery_handle(WebhookDelivery.objects.get(webhook_id=msg_id).pk)
    result = Result.objects.get(pk=result.pk)
    assert (result.description, result.alt_text) == (text, text)
    described_at = result.described_at
    assert described_at is not None
    assert WebhookDelivery.objects.filter(handled_at__isnull=False).count() == 3
