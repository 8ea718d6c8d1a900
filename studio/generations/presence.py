"""Who is looking at the studio page right now, from its update poll.

Each poll (every 2-5 s) refreshes a short-lived cache key per team and person;
a generation that ends while the key is gone ended "after they left the page"
(the discussion app then notifies them).
"""

from django.core.cache import cache

# Longer than the slow (idle) poll's interval, with room for one late poll.
WATCHING_SECONDS = 15


def _key(team_id: int, user_id: int) -> str:
    return f"studio-watching:{team_id}:{user_id}"


def mark_watching(*, team_id: int, user_id: int) -> None:
    cache.set(_key(team_id, user_id), 1, WATCHING_SECONDS)


def is_watching(*, team_id: int, user_id: int) -> bool:
    return cache.get(_key(team_id, user_id)) is not None
