"""What people do in the discussion: comment, mention, rate; and notify.

Keyword-only, one transaction each. Every change that an open page should see
bumps the team's change counter (Team.change_seq) in its transaction: the
viewer's comment poll and the bell ask "anything after N?" from that number.

Who may do what: every member, viewers included, comments and rates (it is
talk about the team's images, not a change to what the team shares); only
the author edits a comment; the author or an admin or owner removes it.
"""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Avg, Count
from django.urls import reverse
from django.utils import timezone

from studio.generations.models import Result
from studio.teams.models import Membership, Team

from .models import Comment, Kind, Notification, NotificationSettings, Rating

# "@name": a username as Django allows it (letters, digits, @.+-_), not inside a
# word or an email address; a trailing full stop ends the sentence, not the name.
MENTION = re.compile(r"(?<![\w@.+-])@([\w.@+-]{1,150})")
MAX_COMMENT = 4000


class DiscussionRuleError(Exception):
    """Refused by a rule of the discussion; str(exc) says why, for a person."""


def _same_team(membership: Membership, *objects) -> None:
    if membership is None or any(obj.team_id != membership.team_id for obj in objects):
        raise PermissionDenied("That belongs to another team.")


def _bump(team_id: int) -> int:
    return Team(pk=team_id).next_change_seq()


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise DiscussionRuleError("Write something first.")
    if len(body) > MAX_COMMENT:
        raise DiscussionRuleError(f"A comment has at most {MAX_COMMENT} characters.")
    return body


def mentioned_users(*, team_id: int, body: str) -> list:
    """The team's members named with @name in `body` (case-insensitive), in order."""
    names = {m.rstrip(".").lower() for m in MENTION.findall(body)}
    if not names:
        return []
    members = get_user_model().objects.filter(memberships__team_id=team_id)
    return [u for u in members.order_by("username") if u.get_username().lower() in names]


def _result_url(result: Result) -> str:
    return reverse("result_detail", args=[result.pk])


# --- comments -------------------------------------------------------------------------------


@transaction.atomic
def comment_post(*, membership: Membership, result: Result, body: str) -> Comment:
    _same_team(membership, result)
    body = _clean_body(body)
    user = membership.user
    comment = Comment.objects.create(
        team_id=result.team_id,
        result=result,
        author=user,
        author_name=user.get_username(),
        body=body,
        seq=_bump(result.team_id),
    )
    _notify_comment(comment=comment, result=result, actor=user, already=set())
    return comment


@transaction.atomic
def comment_edit(*, membership: Membership, comment: Comment, body: str) -> Comment:
    _same_team(membership, comment)
    if comment.author_id != membership.user_id or comment.removed_at:
        raise PermissionDenied("Only whoever wrote a comment can change it.")
    before = {u.pk for u in mentioned_users(team_id=comment.team_id, body=comment.body)}
    comment.body = _clean_body(body)
    comment.edited_at = timezone.now()
    comment.seq = _bump(comment.team_id)
    comment.save(update_fields=["body", "edited_at", "seq"])
    # Only people newly named hear about it; the image's maker already did.
    _notify_comment(
        comment=comment, result=comment.result, actor=membership.user, already=before, edit=True
    )
    return comment


@transaction.atomic
def comment_remove(*, membership: Membership, comment: Comment) -> None:
    _same_team(membership, comment)
    if comment.author_id != membership.user_id and not membership.can_manage_members:
        raise PermissionDenied("Only its author, an admin or an owner can remove a comment.")
    Comment.objects.filter(pk=comment.pk, removed_at__isnull=True).update(
        removed_at=timezone.now(), seq=_bump(comment.team_id)
    )


def _notify_comment(*, comment, result, actor, already: set, edit: bool = False) -> None:
    url = _result_url(result)
    who = actor.get_username()
    told = set(already) | {actor.pk}
    for user in mentioned_users(team_id=comment.team_id, body=comment.body):
        if user.pk in told:
            continue
        told.add(user.pk)
        notify(
            team_id=comment.team_id,
            user=user,
            kind=Kind.MENTION,
            text=f"{who} mentioned you: “{_excerpt(comment.body)}”",
            url=url,
        )
    maker_id = result.generation.created_by_id
    if not edit and maker_id not in told:
        notify(
            team_id=comment.team_id,
            user=result.generation.created_by,
            kind=Kind.COMMENT,
            text=f"{who} commented on your image: “{_excerpt(comment.body)}”",
            url=url,
        )


def _excerpt(text: str, length: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


# --- ratings --------------------------------------------------------------------------------


@transaction.atomic
def rating_set(*, membership: Membership, result: Result, stars: int) -> int:
    """This person's stars for `result` (0 takes the rating back); returns them.

    The result's row is locked while its summary is recomputed, so two people
    rating at once cannot leave a stale average.
    """
    _same_team(membership, result)
    if stars not in (0, *Rating.STARS):
        raise DiscussionRuleError("Give from 1 to 5 stars.")
    Result.objects.select_for_update().filter(pk=result.pk).first()
    if stars == 0:
        Rating.objects.filter(user_id=membership.user_id, result=result).delete()
    else:
        Rating.objects.update_or_create(
            user_id=membership.user_id,
            result=result,
            defaults={"stars": stars, "team_id": result.team_id},
        )
    summary = Rating.objects.filter(result=result).aggregate(
        average=Avg("stars"), count=Count("pk")
    )
    score = round((summary["average"] or 0) * 100)
    Result.objects.filter(pk=result.pk).update(rating_score=score, rating_count=summary["count"])
    result.rating_score, result.rating_count = score, summary["count"]
    return stars


# --- notifications --------------------------------------------------------------------------


def notification_settings(*, user) -> NotificationSettings:
    return NotificationSettings.objects.filter(user=user).first() or NotificationSettings(user=user)


def notify(*, team_id: int, user, kind: str, text: str, url: str = "") -> Notification | None:
    """Tell `user` (a member of the team) about something, unless they turned `kind` off."""
    if user is None or not Membership.objects.filter(team_id=team_id, user=user).exists():
        return None
    if not notification_settings(user=user).wants(kind):
        return None
    with transaction.atomic():
        notification = Notification.objects.create(
            team_id=team_id, user=user, kind=kind, text=text[:500], url=url
        )
        _bump(team_id)
    return notification


@transaction.atomic
def notification_read(*, user, notification: Notification) -> None:
    if notification.user_id != user.pk:
        raise PermissionDenied("That is someone else's notification.")
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
        read_at=timezone.now()
    )


@transaction.atomic
def notifications_read_all(*, user, team) -> int:
    return (
        Notification.objects.for_team(team)
        .filter(user=user, read_at__isnull=True)
        .update(read_at=timezone.now())
    )


@transaction.atomic
def notification_settings_update(*, user, muted: list[str], daily_digest: bool) -> None:
    NotificationSettings.objects.update_or_create(
        user=user,
        defaults={"muted": sorted(set(muted) & set(Kind.values)), "daily_digest": daily_digest},
    )
