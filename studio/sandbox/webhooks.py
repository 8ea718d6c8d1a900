"""Webhook endpoints and the deliveries to them, signed the Standard Webhooks way.

An endpoint subscribes a URL to some events and gets a secret ``whsec_<base64
of 24 random bytes>``, shown once. Each event becomes one message per
subscribed endpoint; a message has one ``webhook-id`` for all its attempts,
and each attempt is signed anew with its own ``webhook-timestamp``::

    webhook-signature: v1,<base64 HMAC-SHA256(key, f"{id}.{timestamp}.{body}")>

where the key is the secret's base64 part, decoded. Attempts are booked on the
sandbox's clock and sent from a small pool of threads (a slow receiver holds
up only its own delivery, never a request thread), with a timeout per attempt
and exponential backoff after a non-2xx answer, a timeout or a refused
connection. Redirects count as failures, as with Standard Webhooks senders.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from .clock import Scheduler
from .errors import not_found
from .faults import FaultControl
from .stats import Stats

logger = logging.getLogger("studio.sandbox")

ENDPOINT_PREFIX = "vg_whep_"  # a guess: VideoGen publishes no example endpoint id
MESSAGE_PREFIX = "msg_"
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
EVENTS = (
    "tool_execution.succeeded",
    "tool_execution.failed",
    "tool_execution.cancelled",
    "file.upload.completed",
    "file.upload.failed",
    "file.playback_ready",
    "file.download_ready",
    "file.analysis_completed",
    "file.analysis_failed",
)
SENDER_THREADS = 8
USER_AGENT = "VideoGen-Webhooks/1 (sandbox)"


@dataclass(frozen=True)
class Endpoint:
    endpoint_id: str
    seq: int
    url: str
    events: tuple[str, ...]
    description: str | None
    created_at: float  # unix time
    secret: str


@dataclass(frozen=True)
class Delivery:
    """One message to one endpoint; `attempt` counts the attempts made so far."""

    message_id: str
    endpoint_id: str
    body: bytes
    generation: int  # of the hub when sent: deliveries from before a reset are abandoned
    attempt: int = 0
    # Sent once this one's first attempt is over, whatever its outcome: a later event
    # that must arrive after this one (the stale-failure fault), deterministically.
    then: Delivery | None = None


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header for one attempt."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class WebhookHub:
    def __init__(
        self,
        *,
        scheduler: Scheduler,
        stats: Stats,
        faults: FaultControl,
        timeout_seconds: float,
        retry_base_seconds: float,
        max_attempts: int,
    ) -> None:
        self._scheduler = scheduler
        self._stats = stats
        self._faults = faults
        self.timeout_seconds = timeout_seconds
        self.retry_base_seconds = retry_base_seconds
        self.max_attempts = max_attempts
        self._lock = threading.Lock()
        self._endpoints: dict[str, Endpoint] = {}  # insertion-ordered: reversed() is newest first
        self._seq = 0
        self._generation = 0
        self._senders = ThreadPoolExecutor(SENDER_THREADS, thread_name_prefix="videogen-webhook")
        # No proxies from the environment, no redirects: straight to the endpoint, as VideoGen.
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), _RefuseRedirects()
        )

    # -- endpoints ------------------------------------------------------------

    def create_endpoint(self, url: str, events: list[str], description: str | None) -> Endpoint:
        with self._lock:
            self._seq += 1
            endpoint = Endpoint(
                endpoint_id=ENDPOINT_PREFIX + secrets.token_hex(12),
                seq=self._seq,
                url=url,
                events=tuple(events),
                description=description,
                created_at=self._scheduler.clock.time(),
                secret=new_secret(),
            )
            self._endpoints[endpoint.endpoint_id] = endpoint
            return endpoint

    def list_endpoints(
        self, limit: int, before_seq: int | None
    ) -> tuple[list[Endpoint], int | None]:
        with self._lock:
            newest_first = list(reversed(self._endpoints.values()))
        older = [e for e in newest_first if before_seq is None or e.seq < before_seq]
        page = older[:limit]
        return page, (page[-1].seq if len(older) > limit else None)

    def delete_endpoint(self, endpoint_id: str) -> None:
        """Remove the endpoint; its messages not yet sent are not sent."""
        with self._lock:
            if self._endpoints.pop(endpoint_id, None) is None:
                raise not_found(f"Webhook endpoint {endpoint_id} does not exist.")

    def clear(self) -> None:
        with self._lock:
            self._endpoints.clear()
            self._generation += 1

    def close(self) -> None:
        self._senders.shutdown(wait=False, cancel_futures=True)

    # -- deliveries -----------------------------------------------------------

    def publish(
        self, event: str, payload: dict[str, Any], then: dict[str, Any] | None = None
    ) -> None:
        """Send `payload` to every endpoint subscribed to `event`; `then` after it, to each
        endpoint subscribed to that one's event too."""
        with self._lock:
            targets = [e for e in self._endpoints.values() if event in e.events]
            generation = self._generation
        if not targets:
            return
        body = json.dumps(payload, separators=(",", ":")).encode()
        for endpoint in targets:
            follower = None
            if then is not None and then["event"] in endpoint.events:
                follower = Delivery(
                    message_id=MESSAGE_PREFIX + secrets.token_hex(16),
                    endpoint_id=endpoint.endpoint_id,
                    body=json.dumps(then, separators=(",", ":")).encode(),
                    generation=generation,
                )
                self._stats.count("webhooks", "reordered")
            delivery = Delivery(
                message_id=MESSAGE_PREFIX + secrets.token_hex(16),
                endpoint_id=endpoint.endpoint_id,
                body=body,
                generation=generation,
                then=follower,
            )
            fate = self._faults.webhook_fate()
            if fate.dropped:
                self._stats.count("webhooks", "dropped")
                logger.info(
                    "Webhook %s %s to %s dropped (fault)", event, delivery.message_id, endpoint.url
                )
                continue
            if fate.delay_seconds:
                self._stats.count("webhooks", "delayed")
                if fate.delay_seconds > self._faults.current.webhook_delay_seconds:
                    self._stats.count("webhooks", "reordered")
            copies = 2 if fate.duplicated else 1
            if fate.duplicated:
                self._stats.count("webhooks", "duplicated")
            for _ in range(copies):  # each copy retries on its own, as two sends of one message
                self._scheduler.call_later(fate.delay_seconds, partial(self._hand_on, delivery))

    def _hand_on(self, delivery: Delivery) -> None:
        # On the clock thread: an attempt may take up to the timeout, so a sender thread makes it.
        self._scheduler.submit(self._senders, self._attempt, delivery)

    def _attempt(self, delivery: Delivery) -> None:
        with self._lock:
            endpoint = self._endpoints.get(delivery.endpoint_id)
            current = delivery.generation == self._generation
        if endpoint is None or not current:
            return  # deleted, or the sandbox was reset since
        delivery = replace(delivery, attempt=delivery.attempt + 1)
        timestamp = int(self._scheduler.clock.time())
        request = urllib.request.Request(
            endpoint.url,
            data=delivery.body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "webhook-id": delivery.message_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(
                    endpoint.secret, delivery.message_id, timestamp, delivery.body
                ),
            },
        )
        self._stats.count("webhooks", "attempted")
        outcome = self._post(request)
        if delivery.then is not None:
            self._hand_on(delivery.then)
            delivery = replace(delivery, then=None)
        if outcome is None:
            self._stats.count("webhooks", "succeeded")
            return
        self._stats.count("webhooks", "failed")
        if delivery.attempt >= self.max_attempts:
            self._stats.count("webhooks", "exhausted")
            logger.warning(
                "Webhook %s to %s given up after %d attempts: %s",
                delivery.message_id,
                endpoint.url,
                delivery.attempt,
                outcome,
            )
            return
        backoff = self.retry_base_seconds * 2 ** (delivery.attempt - 1)
        logger.info(
            "Webhook %s to %s attempt %d failed (%s); retrying in %gs",
            delivery.message_id,
            endpoint.url,
            delivery.attempt,
            outcome,
            backoff,
        )
        self._scheduler.call_later(backoff, partial(self._hand_on, delivery))

    def _post(self, request: urllib.request.Request) -> str | None:
        """None when the endpoint answered 2xx, else what went wrong."""
        try:
            with self._opener.open(request, timeout=self.timeout_seconds) as response:
                response.read(64 * 1024)  # what a receiver says is not used; don't hang on it
                status = response.status
        except urllib.error.HTTPError as error:
            error.close()
            return f"HTTP {error.code}"
        except (urllib.error.URLError, OSError) as error:  # refused, reset, timed out
            return repr(getattr(error, "reason", error))
        return None if 200 <= status < 300 else f"HTTP {status}"


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx then surfaces as an HTTPError: a failed attempt
