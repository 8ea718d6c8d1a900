"""Webhook endpoints, and deliveries the sandbox really sends to a receiver of the test's own."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest
from standardwebhooks import Webhook
from videogen import VideoGenError, verify_webhook_signature

from tests.sandbox.helpers import png_bytes, receiver, start, subscribe, upload, wait

TOOL_EVENTS = ["tool_execution.succeeded", "tool_execution.failed", "tool_execution.cancelled"]

# -- endpoints ---------------------------------------------------------------------


def test_create_list_delete(lab_api):
    created = lab_api.post(
        "/v1/webhooks/endpoints",
        json={
            "url": "https://studio.example/hooks/videogen",
            "events": ["tool_execution.succeeded", "file.upload.completed"],
            "description": "Studio",
        },
    )

    assert created.status_code == 201, created.text
    endpoint = created.json()
    assert endpoint["endpointId"].startswith("vg_whep_")
    assert endpoint["url"] == "https://studio.example/hooks/videogen"
    assert endpoint["events"] == ["tool_execution.succeeded", "file.upload.completed"]
    assert endpoint["description"] == "Studio"
    assert isinstance(endpoint["createdAt"], float)  # unix seconds, a number
    assert abs(endpoint["createdAt"] - time.time()) < 60
    secret = endpoint["signingSecret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) >= 24
    assert endpoint["signingSecretLast4"] == secret[-4:]

    other = subscribe(lab_api, "http://127.0.0.1:9/other")
    listed = lab_api.get("/v1/webhooks/endpoints").json()
    assert [item["endpointId"] for item in listed["endpoints"]] == [
        other["endpointId"],
        endpoint["endpointId"],
    ]
    assert listed["nextCursor"] is None
    assert all("signingSecret" not in item for item in listed["endpoints"])
    assert listed["endpoints"][1]["signingSecretLast4"] == secret[-4:]

    deleted = lab_api.delete(f"/v1/webhooks/endpoints/{endpoint['endpointId']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    remaining = lab_api.get("/v1/webhooks/endpoints").json()["endpoints"]
    assert [item["endpointId"] for item in remaining] == [other["endpointId"]]
    again = lab_api.delete(f"/v1/webhooks/endpoints/{endpoint['endpointId']}")
    assert again.status_code == 404


def test_list_pages(lab_api):
    made = [subscribe(lab_api, f"https://x.example/{n}")["endpointId"] for n in range(3)]

    first = lab_api.get("/v1/webhooks/endpoints", params={"limit": 2}).json()
    rest = lab_api.get(
        "/v1/webhooks/endpoints", params={"limit": 2, "cursor": first["nextCursor"]}
    ).json()

    assert [item["endpointId"] for item in first["endpoints"] + rest["endpoints"]] == made[::-1]
    assert rest["nextCursor"] is None


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"events": ["tool_execution.succeeded"]}, "url"),
        ({"url": "https://x.example"}, "events"),
        ({"url": "ftp://x.example/h", "events": TOOL_EVENTS}, "url"),
        ({"url": "x.example/hook", "events": TOOL_EVENTS}, "url"),
        ({"url": "https://", "events": TOOL_EVENTS}, "url"),
        ({"url": "https://x.example:99999/", "events": TOOL_EVENTS}, "url"),
        ({"url": 7, "events": TOOL_EVENTS}, "url"),
        ({"url": "https://x.example", "events": []}, "events"),
        ({"url": "https://x.example", "events": "tool_execution.succeeded"}, "events"),
        ({"url": "https://x.example", "events": ["tool_execution.started"]}, "started"),
        ({"url": "https://x.example", "events": TOOL_EVENTS, "description": 3}, "description"),
        ({"url": "https://x.example", "events": TOOL_EVENTS, "secret": "mine"}, "secret"),
    ],
)
def test_create_validates(lab_api, body, named):
    response = lab_api.post("/v1/webhooks/endpoints", json=body)

    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_parameters"
    assert named in response.json()["message"]


def test_delete_needs_an_endpoint_id(lab_api):
    response = lab_api.delete("/v1/webhooks/endpoints/vg_exec_123")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_id"


# -- deliveries --------------------------------------------------------------------


def test_a_delivery_is_signed_and_verifiable(lab, lab_api):
    with receiver() as hooks:
        endpoint = subscribe(lab_api, hooks.url)
        execution_id = start(lab_api, prompt="a lighthouse", numResults=2)
        # Nobody polls: the sandbox's clock notices the end and delivers.
        [delivery] = hooks.wait_for(1)

    headers, body = delivery.headers, delivery.body
    assert headers["content-type"] == "application/json"
    assert headers["webhook-id"].startswith("msg_")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 10
    assert headers["webhook-signature"].startswith("v1,")

    event = Webhook(endpoint["signingSecret"]).verify(body, headers)
    assert event["event"] == "tool_execution.succeeded"
    assert event["toolExecutionId"] == execution_id
    assert event["toolType"] == "GENERATE_IMAGE"
    assert isinstance(event["occurredAt"], float)  # unix seconds, a number
    assert abs(event["occurredAt"] - time.time()) < 60
    assert "error" not in event
    assert len(event["results"]) == 2
    for result in event["results"]:
        source = result["file"]["downloadSource"]
        assert source["status"] == "ready"
        assert source["url"].startswith(lab.base_url + "/_storage/download/")

    # The official SDK's verifier agrees, and gives snake_case keys.
    verified = verify_webhook_signature(body, headers, endpoint["signingSecret"])
    assert verified["tool_execution_id"] == execution_id
    with pytest.raises(VideoGenError, match="signature"):
        verify_webhook_signature(body + b" ", headers, endpoint["signingSecret"])


def test_the_urls_in_a_delivery_download_the_results(lab_api):
    with receiver() as hooks:
        subscribe(lab_api, hooks.url, "tool_execution.succeeded")
        start(lab_api, prompt="download me")
        [delivery] = hooks.wait_for(1)

    url = json.loads(delivery.body)["results"][0]["file"]["downloadSource"]["url"]
    assert httpx.get(url).headers["content-type"] == "image/png"


def test_failed_and_cancelled_executions_are_delivered_without_results(lab, lab_api):
    lab.faults(execution_failure_share=1.0)
    with receiver() as hooks:
        subscribe(lab_api, hooks.url)
        failed = start(lab_api, prompt="doomed")
        hooks.wait_for(1)
        lab.faults(execution_failure_share=0.0, pending_seconds=30)
        cancelled = start(lab_api, prompt="never mind")
        lab_api.post(f"/v1/tools/executions/{cancelled}/cancel")
        deliveries = hooks.wait_for(2)

    events = {body["toolExecutionId"]: body for body in (json.loads(d.body) for d in deliveries)}
    assert events[failed]["event"] == "tool_execution.failed"
    assert events[failed]["error"] == {
        "message": "The model could not render this prompt.",
        "code": "generation_failed",
    }
    assert "results" not in events[failed]
    assert events[cancelled]["event"] == "tool_execution.cancelled"
    assert "results" not in events[cancelled] and "error" not in events[cancelled]


def test_only_subscribed_events_and_live_endpoints_are_delivered(clocked, clocked_api):
    with receiver() as wanted, receiver() as unwanted, receiver() as removed:
        subscribe(clocked_api, wanted.url, "tool_execution.succeeded")
        subscribe(clocked_api, unwanted.url, "tool_execution.failed")
        gone = subscribe(clocked_api, removed.url, "tool_execution.succeeded")
        clocked_api.delete(f"/v1/webhooks/endpoints/{gone['endpointId']}")
        start(clocked_api, prompt="one event")
        clocked.advance(3600)  # an hour later, with every delivery done: nothing else came

        assert len(wanted.received) == 1
        assert unwanted.received == [] and removed.received == []
    assert clocked.stats()["webhooks"]["attempted"] == 1


def test_upload_completed_is_delivered(lab_api):
    with receiver() as hooks:
        endpoint = subscribe(lab_api, hooks.url, "file.upload.completed")
        file_id = upload(lab_api, png_bytes(), display_name="up.png")
        upload(lab_api, png_bytes((1, 2, 3)))  # another one
        deliveries = hooks.wait_for(2)

    first = Webhook(endpoint["signingSecret"]).verify(deliveries[0].body, deliveries[0].headers)
    assert first["event"] == "file.upload.completed"
    assert first["fileId"] == file_id
    assert first["file"]["displayName"] == "up.png"
    assert first["file"]["downloadSource"]["status"] == "ready"


def test_non_2xx_answers_are_retried_with_the_same_id_and_backoff(clocked, clocked_api):
    # Retries after 0.5 s, doubling: attempts at 0, 0.5, 1.5, 3.5 and 7.5 s after the end.
    lab, lab_api = clocked, clocked_api
    with receiver(answers=[500, 503, 404, 302]) as hooks:
        endpoint = subscribe(lab_api, hooks.url)
        start(lab_api, prompt="persistent")
        clocked.advance(0.85)  # it ends at 0.8 s; the first attempt
        arrivals = [len(hooks.received)]
        for step in (0.4, 0.1, 0.9, 0.1, 1.9, 0.1, 3.9, 0.1):  # just before, just after each
            clocked.advance(step)
            arrivals.append(len(hooks.received))
        clocked.advance(3600)
        deliveries = list(hooks.received)

    assert arrivals == [1, 1, 2, 2, 3, 3, 4, 4, 5]  # backing off, exactly
    assert len(deliveries) == 5  # the fifth was answered 204: no more
    assert len({d.headers["webhook-id"] for d in deliveries}) == 1
    timestamps = [int(d.headers["webhook-timestamp"]) for d in deliveries]
    assert timestamps == sorted(timestamps) and timestamps[-1] - timestamps[0] in (7, 8)
    webhook = Webhook(endpoint["signingSecret"])
    for delivery in deliveries:  # each attempt signed for its own timestamp
        assert (
            webhook.verify(delivery.body, delivery.headers)["event"] == "tool_execution.succeeded"
        )
    assert {d.body for d in deliveries} == {deliveries[0].body}
    assert lab.stats()["webhooks"] == {
        "attempted": 5,
        "succeeded": 1,
        "failed": 4,
        "exhausted": 0,
        "dropped": 0,
        "delayed": 0,
        "duplicated": 0,
        "reordered": 0,
    }


def test_delivery_is_given_up_after_the_last_attempt(clocked, clocked_api):
    # Retries after 0.5 s, doubling: attempts at 0, 0.5, 1.5, 3.5 and 7.5 s after the end.
    with receiver(answers=[500] * 10) as hooks:
        subscribe(clocked_api, hooks.url)
        start(clocked_api, prompt="unlucky")
        clocked.advance(0.85)  # the execution ends at 0.8 s, the first attempt is made
        arrivals = [len(hooks.received)]
        for step in (0.5, 1.0, 2.0, 4.0):
            clocked.advance(step)
            arrivals.append(len(hooks.received))
        clocked.advance(24 * 3600)  # a day later: nothing more came, nothing is booked

        assert arrivals == [1, 2, 3, 4, 5]
        assert len(hooks.received) == 5
    assert clocked.admin("GET", "clock")["pending"] == []
    counters = clocked.stats()["webhooks"]
    assert (counters["attempted"], counters["failed"], counters["exhausted"]) == (5, 5, 1)


def test_an_unreachable_endpoint_is_retried_too(clocked, clocked_api):
    subscribe(clocked_api, "http://127.0.0.1:9/nobody-listens")

    start(clocked_api, prompt="into the void")
    clocked.advance(0.8)
    clocked.advance(0.5)

    counters = clocked.stats()["webhooks"]
    assert (counters["attempted"], counters["failed"], counters["succeeded"]) == (2, 2, 0)


def test_dropped_deliveries_are_never_sent(clocked, clocked_api):
    clocked.faults(webhook_drop_share=1.0)
    with receiver() as hooks:
        subscribe(clocked_api, hooks.url)
        execution_id = start(clocked_api, prompt="lost")
        clocked.advance(3600)
        assert wait(clocked_api, execution_id)["status"] == "succeeded"
        assert hooks.received == []

    assert clocked.stats()["webhooks"]["dropped"] == 1
    assert clocked.stats()["webhooks"]["attempted"] == 0


def test_duplicated_deliveries_come_twice_with_one_id(lab, lab_api):
    lab.faults(webhook_duplicate_share=1.0)
    with receiver() as hooks:
        endpoint = subscribe(lab_api, hooks.url)
        start(lab_api, prompt="twice")
        first, second = hooks.wait_for(2)

    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    webhook = Webhook(endpoint["signingSecret"])
    assert webhook.verify(second.body, second.headers)["event"] == "tool_execution.succeeded"
    assert lab.stats()["webhooks"]["duplicated"] == 1


def test_delayed_deliveries_come_late(clocked, clocked_api):
    clocked.faults(webhook_delay_seconds=30)
    with receiver() as hooks:
        subscribe(clocked_api, hooks.url)
        execution_id = start(clocked_api, prompt="late")
        clocked.advance(0.8)
        assert wait(clocked_api, execution_id)["status"] == "succeeded"
        clocked.advance(29.9)
        early = len(hooks.received)
        clocked.advance(0.2)

        assert early == 0
        assert len(hooks.received) == 1
    assert clocked.stats()["webhooks"]["delayed"] == 1
