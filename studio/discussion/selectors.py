"""Reads of the discussion, always from the current team (studio.teams.scoping)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count

from studio.generations import selectors as generation_selectors
from studio.teams.scoping import for_team, get_for_team_or_404

from .models import Comment, Notification, Rating

NOTIFICATIONS_SHOWN = 100
UNREAD_CAP = 99


def result_for_member(*, team, pk: int, membership):
    """A result this person may see (the review rule included), else 404."""
    return generation_selectors.result_for_team(team=team, pk=pk, membership=membership)


def comment_for_member(*, team, pk: int, membership) -> Comment:
    """A shown comment of the team, on a result this person may see; else 404."""
    comment = get_for_team_or_404(
        Comment.objects.shown().select_related("result", "result__generation"), team=team, pk=pk
    )
    result_for_member(team=team, pk=comment.result_id, membership=membership)
    return comment


def thread(*, result) -> list[Comment]:
    return list(for_team(Comment, result.team_id).shown().filter(result=result))


def thread_changed_since(*, result, seq: int) -> bool:
    return Comment.objects.filter(result=result, seq__gt=seq).exists()


def mention_names(*, team) -> list[str]:
    """Everyone who can be @mentioned: the team's members, by name."""
    users = get_user_model().objects.filter(memberships__team=team).order_by("username")
    return [u.get_username() for u in users]


@dataclass
class Spread:
    """How the team rated one image: count per star (5 first), average, and mine."""

    rows: list[tuple[int, int]]
    count: int
    average: float | None
    mine: int


def rating_spread(*, result, user) -> Spread:
    counts = dict(
        for_team(Rating, result.team_id)
        .filter(result=result)
        .values_list("stars")
        .annotate(n=Count("pk"))
    )
    mine = (
        Rating.objects.filter(result=result, user=user).values_list("stars", flat=True).first() or 0
    )
    total = sum(counts.values())
    average = sum(s * n for s, n in counts.items()) / total if total else None
    return Spread([(s, counts.get(s, 0)) for s in reversed(Rating.STARS)], total, average, mine)


def notifications_of(*, team, user, limit: int = NOTIFICATIONS_SHOWN) -> list[Notification]:
    return list(for_team(Notification, team).filter(user=user)[:limit])


def unread_count(*, team, user) -> int:
    """Unread notifications, counted up to UNREAD_CAP + 1 (beyond: "99+"). The bell
    asks on every page and every few seconds: a bounded count, whatever the backlog."""
    if team is None:
        return 0
    return for_team(Notification, team).filter(user=user).unread()[: UNREAD_CAP + 1].count()


def notification_of(*, team, user, pk: int) -> Notification:
    """One of this person's notifications in the team; anyone else's is a 404."""
    return get_for_team_or_404(Notification.objects.filter(user=user), team=team, pk=pk)
