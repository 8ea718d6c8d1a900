"""Reads of teams and their people, scoped to one team (see scoping.py)."""

import re

from django.db.models import Case, IntegerField, Value, When

from .models import RANK, Invitation, Membership
from .scoping import for_team, get_for_team_or_404


def memberships_of_user(*, user) -> list[Membership]:
    """The teams a person belongs to, for the switcher: oldest first."""
    return list(
        Membership.objects.filter(user=user).select_related("team").order_by("created_at", "pk")
    )


def team_members(*, team) -> list[Membership]:
    """Owners first, then admins, members and viewers; by name within a role."""
    by_rank = Case(
        *(When(role=role, then=Value(-rank)) for role, rank in RANK.items()),
        output_field=IntegerField(),
    )
    return list(
        for_team(Membership, team).select_related("user").order_by(by_rank, "user__username")
    )


def membership_for_team(*, team, pk: int) -> Membership:
    return get_for_team_or_404(Membership.objects.select_related("user"), team=team, pk=pk)


# What new_token() makes (URL-safe base64), within the column's length.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def pending_invitations(*, team) -> list[Invitation]:
    return list(for_team(Invitation, team).pending().select_related("created_by"))


def invitation_for_team(*, team, pk: int) -> Invitation:
    return get_for_team_or_404(Invitation, team=team, pk=pk)


def invitation_by_token(*, token: str) -> Invitation | None:
    """The one read that is not scoped: the token is the proof of being invited.
    A string that cannot be a token (from a query string, say) finds none."""
    if not TOKEN_SHAPE.fullmatch(token):
        return None
    return Invitation.objects.select_related("team", "created_by").filter(token=token).first()


def joined_by_invitation(*, invitation: Invitation | None, user) -> Membership | None:
    """The membership `user` got by accepting `invitation`, while they still have it."""
    if invitation is None or not user.is_authenticated or invitation.accepted_by_id != user.pk:
        return None
    return Membership.objects.filter(team_id=invitation.team_id, user=user).first()


def membership_of_user_in(*, user, team_id: int) -> Membership:
    """A team the person belongs to (for switching): anything else is a 404."""
    return get_for_team_or_404(
        Membership.objects.filter(user=user).select_related("team"), team=team_id
    )


def current_membership(*, user, team_id) -> Membership | None:
    """The membership a request works in: the session's team if the user is
    still in it, else their first team; None for a user in no team."""
    memberships = Membership.objects.select_related("team").filter(user=user)
    return (team_id and memberships.filter(team_id=team_id).first()) or (
        memberships.order_by("created_at", "pk").first()
    )
