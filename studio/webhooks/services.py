"""Receiving VideoGen's webhooks: verify, record once, hand over to a worker."""

from __future__ import annotations

import binascii
import ipaddress
import logging
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from studio.generations import descriptions
from studio.generations import services as generation_services

from .models import WebhookDelivery, WebhookEndpoint
from .selectors import forget_webhooks_enabled, signing_secrets

log = logging.getLogger(__name__)

EXECUTION_EVENTS = (
    "tool_execution.succeeded",
    "tool_execution.failed",
    "tool_execution.cancelled",
)
# A kept image's description, a moment after it was made (never for temporary ones).
FILE_EVENTS = ("file.analysis_completed",)
SUBSCRIBED_EVENTS = EXECUTION_EVENTS + FILE_EVENTS
STATUS_BY_EVENT = {event: event.split(".", 1)[1] for event in EXECUTION_EVENTS}


class InvalidEndpointUrl(ValueError):
    """A URL VideoGen should not be asked to deliver to."""


def endpoint_url_check(url: str) -> str:
    """The URL, if VideoGen may deliver to it: HTTPS, or plain HTTP to this machine
    (loopback) for development. The reference asks for HTTPS: deliveries carry
    signed download URLs, which must not cross a network in clear."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise InvalidEndpointUrl(f"{url!r} is not a URL.") from None
    if not host or parts.scheme not in ("https", "http"):
        raise InvalidEndpointUrl(
            f"{url!r} is not an https:// URL. Give the public HTTPS address of "
            "/webhooks/videogen/, e.g. https://studio.example.com/webhooks/videogen/."
        )
    if parts.scheme == "http" and not _is_loopback(host):
        raise InvalidEndpointUrl(
            f"{url!r} is plain HTTP. VideoGen delivers webhooks only over HTTPS "
            "(http:// is accepted for 127.0.0.1, ::1 and localhost, for development). "
            "Put Studio behind TLS and register its https:// URL."
        )
    return url.strip()


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class InvalidDelivery(Exception):
    """Not signed by a secret of ours, too old or too new, or malformed."""


def delivery_verify(*, body: bytes, headers: dict[str, str]) -> dict:
    """The payload, if one of our endpoints' secrets signed it within 5 minutes.

    The standardwebhooks library checks the signature and the timestamp
    tolerance (5 minutes either way) in constant time.
    """
    for secret in signing_secrets():
        try:
            payload = Webhook(secret).verify(body, headers)
        except (WebhookVerificationError, ValueError, binascii.Error):
            continue
        if isinstance(payload, dict):
            return payload
    raise InvalidDelivery("no valid signature")


def delivery_record(*, webhook_id: str, payload: dict) -> WebhookDelivery | None:
    """Store a verified delivery; None if this webhook-id was already received."""
    from .tasks import handle_delivery

    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                webhook_id=webhook_id,
                event=str(payload.get("event", "")),
                execution_id=str(payload.get("toolExecutionId") or ""),
                payload=payload,
            )
            transaction.on_commit(lambda: handle_delivery.delay(delivery.pk))
    except IntegrityError:
        return None
    return delivery


def delivery_handle(delivery_id: int) -> None:
    """Hand an execution event to its generation (a worker's job, not the view's)."""
    delivery = WebhookDelivery.objects.filter(pk=delivery_id, handled_at=None).first()
    if delivery is None:
        return
    status = STATUS_BY_EVENT.get(delivery.event)
    if delivery.event in FILE_EVENTS:
        file = delivery.payload.get("file")
        file = file if isinstance(file, dict) else {}
        text = file.get("description")
        applied = bool(
            descriptions.result_describe(
                file_id=str(delivery.payload.get("fileId") or file.get("fileId") or ""),
                description=text if isinstance(text, str) else None,
            )
        )
    else:
        applied = bool(status and delivery.execution_id) and generation_services.execution_update(
            execution_id=delivery.execution_id, wire={**delivery.payload, "status": status}
        )
    if not applied:
        log.info("webhook %s: nothing to do for %s", delivery.webhook_id, delivery.event)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(handled_at=timezone.now())


def endpoint_register(*, client, url: str, description: str = "Studio") -> WebhookEndpoint:
    url = endpoint_url_check(url)  # before anything reaches VideoGen
    created = client.create_webhook_endpoint(
        url=url, events=list(SUBSCRIBED_EVENTS), description=description
    )
    endpoint = WebhookEndpoint.objects.create(
        remote_endpoint_id=created["endpointId"],
        url=created.get("url", url),
        events=created.get("events", list(SUBSCRIBED_EVENTS)),
        signing_secret=created["signingSecret"],
    )
    forget_webhooks_enabled()
    return endpoint


def endpoint_ensure(*, client, url: str) -> tuple[WebhookEndpoint, bool]:
    """Make sure VideoGen sends execution events to `url`: keep a stored endpoint
    that VideoGen still has for it, forget those it no longer has (a sandbox that
    restarted forgets its endpoints), register a new one otherwise.
    Returns (endpoint, created)."""
    url = endpoint_url_check(url)
    remote = {e.get("endpointId"): e for e in client.list_webhook_endpoints()}
    kept = None
    for endpoint in WebhookEndpoint.objects.filter(is_active=True):
        if endpoint.remote_endpoint_id not in remote:
            endpoint.is_active = False
            endpoint.save(update_fields=["is_active"])
        elif endpoint.url == url:
            kept = endpoint
    forget_webhooks_enabled()
    if kept is not None:
        return kept, False
    return endpoint_register(client=client, url=url, description="Studio (make run)"), True
