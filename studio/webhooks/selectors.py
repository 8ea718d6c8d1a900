from django.core.cache import cache

from .models import WebhookEndpoint

_CACHE_KEY = "webhooks-enabled"


def webhooks_enabled() -> bool:
    """Whether VideoGen is sending us execution events (cached for a minute:
    it is asked on every poll)."""
    enabled = cache.get(_CACHE_KEY)
    if enabled is None:
        enabled = WebhookEndpoint.objects.filter(is_active=True).exists()
        cache.set(_CACHE_KEY, enabled, 60)
    return enabled


def forget_webhooks_enabled() -> None:
    cache.delete(_CACHE_KEY)


def signing_secrets() -> list[str]:
    return list(
        WebhookEndpoint.objects.filter(is_active=True).values_list("signing_secret", flat=True)
    )
