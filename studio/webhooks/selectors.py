import logging

from django.core.cache import cache

from .models import WebhookEndpoint

log = logging.getLogger(__name__)

_CACHE_KEY = "webhooks-enabled"


def webhooks_enabled() -> bool:
    """Whether VideoGen is sending us execution events (cached for a minute:
    it is asked on every poll). A cache that is down (Redis restarting) only
    costs the database query: the pipeline must not fail on it."""
    try:
        enabled = cache.get(_CACHE_KEY)
    except Exception:
        log.warning("cache unavailable; reading webhook endpoints from the database")
        return WebhookEndpoint.objects.filter(is_active=True).exists()
    if enabled is None:
        enabled = WebhookEndpoint.objects.filter(is_active=True).exists()
        try:
            cache.set(_CACHE_KEY, enabled, 60)
        except Exception:
            pass  # asked again next time
    return enabled


def forget_webhooks_enabled() -> None:
    cache.delete(_CACHE_KEY)


def signing_secrets() -> list[str]:
    return list(
        WebhookEndpoint.objects.filter(is_active=True).values_list("signing_secret", flat=True)
    )
