"""/metrics for operators, in Prometheus's text format (prometheus-client).

Request latency is measured in each process (middleware); everything else is
read when Prometheus scrapes, from the database, the broker and this process's
live-update hub, so any web process answers for the whole installation (the
open-streams gauge is this process's own).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import sqlite3
import time

from django.conf import settings
from django.db.models import Count, Min, Sum
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

REQUEST_LATENCY = Histogram(
    "studio_request_duration_seconds",
    "Time to answer an HTTP request, by Django view.",
    ["view", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
# Kombu's Redis transport keeps priorities other than 0 in lists named queue + this + n.
_PRIORITY_SEP = "\x06\x16"
_PRIORITIES = (3, 6, 9)


class RequestLatencyMiddleware:
    """Latency by resolved view name (bounded labels: unresolved paths are one label)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match else "") or "<unresolved>"
        method = request.method if request.method in ("GET", "POST", "HEAD") else "other"
        REQUEST_LATENCY.labels(view=view, method=method).observe(time.perf_counter() - started)
        return response


def allowed(request) -> bool:
    """A matching bearer token, or a client address in STUDIO_METRICS_ALLOWED_IPS."""
    token = settings.STUDIO_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(
        header[7:].strip().encode(), token.encode()
    ):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.STUDIO_METRICS_ALLOWED_NETWORKS)


# --- read at scrape time ------------------------------------------------------------


def queue_depths() -> dict[str, int]:
    """Messages waiting in each Celery queue (Redis lists, or the embedded broker's table)."""
    names = [queue.name for queue in settings.CELERY_TASK_QUEUES]
    if settings.REDIS_URL:
        import redis

        prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        depths = {}
        for name in names:
            keys = [name, *(f"{name}{_PRIORITY_SEP}{p}" for p in _PRIORITIES)]
            depths[name] = sum(client.llen(f"{prefix}{key}") for key in keys)
        return depths
    path = settings.CELERY_BROKER_TRANSPORT_OPTIONS["path"]
    depths = dict.fromkeys(names, 0)
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2) as conn:
            for name, count in conn.execute("SELECT queue, COUNT(*) FROM message GROUP BY queue"):
                depths[name] = count
    except sqlite3.OperationalError:
        pass  # no broker file yet: nothing queued
    return depths


def budget_remaining() -> dict[str, float]:
    """Calls left now in each budget group, as the shared budget sees them
    (VideoGen's own window where it binds tighter than ours)."""
    from studio.videogen import budget_from_settings

    budget = budget_from_settings()
    if budget is None:
        return {}
    return {group: float(budget.state(group).left) for group in budget.limits}


def webhook_lag(window_seconds: float = 300.0) -> dict[str, float]:
    """received_at − the event's occurredAt over the recent deliveries: p50, p95, max."""
    from django.utils import timezone

    from studio.webhooks.models import WebhookDelivery

    since = timezone.now() - timezone.timedelta(seconds=window_seconds)
    lags = []
    rows = WebhookDelivery.objects.filter(received_at__gte=since).order_by("-pk")[:1000]
    for received_at, payload in rows.values_list("received_at", "payload"):
        occurred = payload.get("occurredAt") if isinstance(payload, dict) else None
        if isinstance(occurred, int | float):
            lags.append(max(0.0, received_at.timestamp() - float(occurred)))
    if not lags:
        return {}
    lags.sort()
    pick = lambda share: lags[min(len(lags) - 1, round(share * (len(lags) - 1)))]  # noqa: E731
    return {"0.5": pick(0.5), "0.95": pick(0.95), "1": lags[-1]}


class StudioCollector(Collector):
    def collect(self):
        from django.utils import timezone

        from studio.generations.models import Generation, Result, Status
        from studio.live.hub import open_streams

        streams = GaugeMetricFamily("studio_live_open_streams",
                                    "Live-update streams open in this web process.")
        streams.add_metric([], open_streams())
        yield streams

        by_state = GaugeMetricFamily("studio_generations", "Generations by state.",
                                     labels=["state"])
        counts = dict(Generation.objects.values_list("status").annotate(n=Count("pk")))
        for state in Status.values:
            by_state.add_metric([state], counts.get(state, 0))
        yield by_state

        oldest = Generation.objects.filter(status=Status.QUEUED).aggregate(at=Min("created_at"))
        age = GaugeMetricFamily("studio_oldest_queued_generation_age_seconds",
                                "Age of the oldest queued generation (0 when none waits).")
        age.add_metric([], (timezone.now() - oldest["at"]).total_seconds() if oldest["at"] else 0)
        yield age

        stored = Result.objects.aggregate(total=Sum("bytes"), n=Count("pk"))
        ingest = GaugeMetricFamily("studio_ingest_bytes",
                                   "Bytes of stored results (what ingest has written).")
        ingest.add_metric([], stored["total"] or 0)
        yield ingest
        ingested = GaugeMetricFamily("studio_ingested_results", "Stored results.")
        ingested.add_metric([], stored["n"] or 0)
        yield ingested

        yield from _guarded("studio_celery_queue_depth", "Messages waiting per Celery queue.",
                            "queue", queue_depths)
        yield from _guarded("studio_budget_remaining_calls",
                            "Calls left now in each VideoGen budget group.", "group",
                            budget_remaining)
        yield from _guarded("studio_webhook_lag_seconds",
                            "Webhook received_at minus the event's occurredAt, last 5 minutes.",
                            "quantile", webhook_lag)


def _guarded(name, documentation, label, read):
    """One family from a reader that may fail (a broker down): no figures, and a log line."""
    try:
        values = read()
    except Exception as exc:  # noqa: BLE001 - a scrape must still answer
        log.warning("metrics: %s unavailable: %s", name, exc)
        return
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    yield family


def render() -> bytes:
    """This process's request latencies and the scrape-time figures, one exposition."""
    from prometheus_client import REGISTRY

    registry = CollectorRegistry()
    registry.register(StudioCollector())
    return generate_latest(REGISTRY) + generate_latest(registry)
