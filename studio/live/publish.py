"""publish(): tell every open page of a team that something changed."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import transaction

from . import backends

log = logging.getLogger(__name__)


def publish(team_id: int, event: str = "change", payload: dict | None = None) -> bool:
    """Send now. Never raises: a broker hiccup must not undo or fail a write,
    and the pages' fallback polling brings the change anyway."""
    if not settings.STUDIO_LIVE_PUSH:
        return False
    # `t` is when it was published: the capacity benchmark's delivery clock.
    message = backends.encode(team_id, event, {**(payload or {}), "t": time.time()})
    try:
        if backends.uses_redis():
            backends.redis_publish(message)
        else:
            backends.embedded_publish(team_id, message)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the poll is the fallback
        log.warning("live update for team %s not published: %s", team_id, exc)
        return False
    return True


def publish_on_commit(team_id: int, event: str = "change", payload: dict | None = None) -> None:
    """Publish once the current transaction commits (at once outside one), so a
    page never asks for a change before it is visible to its request."""
    transaction.on_commit(lambda: publish(team_id, event, payload))
