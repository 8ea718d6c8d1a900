"""Webhook deliveries that must not get through, beyond tests/webhooks/test_receive.py
(forged, tampered, stale, replayed, missing headers, oversized)."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from studio.generations.models import Generation, Status
from studio.webhooks.models import WebhookDelivery, WebhookEndpoint
from studio.webhooks.services import delivery_handle
from tests.fixtures.factories import make_user
from tests.webhooks.test_receive import SECRET, URL, _event, _signed


@pytest.fixture
def endpoint(db):
    return WebhookEndpoint.objects.create(
        remote_endpoint_id="vg_whe_1",
        url="https://studio.example/webhooks/videogen/",
        events=["tool_execution.succeeded"],
        signing_secret=SECRET,
    )


def post(client, body, headers):
    return client.post(URL, body, content_type="application/json", **headers)


def test_a_replay_signed_again_with_a_fresh_timestamp_is_still_the_same_delivery(
    client, endpoint
):
    body, first_headers = _signed(_event(), msg_id="msg_replayed", at=time.time() - 100)
    _, again_headers = _signed(_event(), msg_id="msg_replayed")

    assert post(client, body, first_headers).status_code == 204
    assert post(client, body, again_headers).status_code == 200
    assert WebhookDelivery.objects.filter(webhook_id="msg_replayed").count() == 1


def test_a_deactivated_endpoints_secret_is_no_longer_trusted(client, endpoint):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    body, headers = _signed(_event())

    assert post(client, body, headers).status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_a_rotated_secret_works_while_both_endpoints_are_active(client, endpoint):
    new_secret = "whsec_" + base64.b64encode(b"the-next-secret-of-studio!!").decode()
    WebhookEndpoint.objects.create(
        remote_endpoint_id="vg_whe_2", url=endpoint.url, signing_secret=new_secret
    )
    body, headers = _signed(_event(), msg_id="msg_new", secret=new_secret)

    assert post(client, body, headers).status_code == 204


@pytest.mark.parametrize("payload", [[1, 2, 3], "a string", 42, None])
def test_a_signed_body_that_is_not_an_object_is_refused(client, endpoint, payload):
    body = json.dumps(payload)
    when = datetime.now(tz=UTC)
    headers = {
        "HTTP_WEBHOOK_ID": "msg_shape",
        "HTTP_WEBHOOK_TIMESTAMP": str(int(when.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": Webhook(SECRET).sign("msg_shape", when, body),
    }

    assert post(client, body, headers).status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_a_signed_body_that_is_not_json_is_refused(client, endpoint):
    body = "<xml>not json</xml>"
    when = datetime.now(tz=UTC)
    headers = {
        "HTTP_WEBHOOK_ID": "msg_xml",
        "HTTP_WEBHOOK_TIMESTAMP": str(int(when.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": Webhook(SECRET).sign("msg_xml", when, body),
    }

    assert post(client, body, headers).status_code == 400


def test_a_malformed_content_length_is_a_400_not_a_crash(client, endpoint):
    body, headers = _signed(_event())

    response = post(client, body, {**headers, "CONTENT_LENGTH": "12abc"})

    assert response.status_code == 400
    assert not WebhookDelivery.objects.exists()


def test_a_valid_event_for_another_execution_changes_no_generation(client, endpoint):
    user = make_user()
    mine = Generation.objects.create(
        team=user.teams.get(), created_by=user, prompt="p",
        status=Status.RUNNING, remote_execution_id="vg_exec_mine",
    )
    body, headers = _signed(_event(execution_id="vg_exec_someone_else"), msg_id="msg_other")

    assert post(client, body, headers).status_code == 204
    delivery_handle(WebhookDelivery.objects.get().pk)

    mine.refresh_from_db()
    assert mine.status == Status.RUNNING
    assert WebhookDelivery.objects.get().handled_at is not None


def test_an_event_studio_did_not_subscribe_to_changes_nothing(client, endpoint):
    user = make_user()
    mine = Generation.objects.create(
        team=user.teams.get(), created_by=user, prompt="p",
        status=Status.RUNNING, remote_execution_id="vg_exec_1",
    )
    body, headers = _signed(_event(event="tool_execution.exploded"), msg_id="msg_odd")

    assert post(client, body, headers).status_code == 204
    delivery_handle(WebhookDelivery.objects.get().pk)

    mine.refresh_from_db()
    assert mine.status == Status.RUNNING
