"""Who is knocking: the client's address for sign-in throttling (django-axes) and
the sign-up limit."""

import math

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render


def client_ip(request) -> str:
    """The peer address, or the one the trusted proxies in front saw.

    Each proxy appends the address it received from, so with N trusted proxies
    the client is the Nth entry from the right; anything further left was
    written by the client and is not believed.
    """
    proxies = settings.STUDIO_TRUSTED_PROXIES
    if proxies:
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        hops = [h for h in hops if h]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def signup_allowed(request) -> bool:
    """Count one sign-up attempt from this address; False once over the hourly limit.

    A fixed window in the shared cache (Redis, or files under var/ in the
    embedded default): near-exact is enough to stop scripted account creation.
    """
    key = f"signup-attempts:{client_ip(request)}"
    cache.add(key, 0, timeout=settings.STUDIO_SIGNUP_WINDOW)
    try:
        attempts = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.STUDIO_SIGNUP_WINDOW)
        attempts = 1
    return attempts <= settings.STUDIO_SIGNUP_LIMIT


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out sign-in: a page that says why and for how long."""
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    return render(request, "accounts/locked_out.html", {"minutes": minutes}, status=429)
