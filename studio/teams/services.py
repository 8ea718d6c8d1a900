"""What people do with teams: create, invite, join, leave, change roles.

Every function is keyword-only and runs in one transaction. Changes to who is
in a team lock the team's row first, so two owners demoting each other at the
same moment cannot leave a team with no owner.

Refusals come in two kinds: PermissionDenied when the person's role does not
allow the action at all (a 403), TeamRuleError when it is allowed in general
but not in this case (the last owner leaving); its message is for the person.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import SESSION_KEY as SESSION_USER_KEY
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from studio.audit.models import AuditEntry
from studio.audit.services import record as audit_record

from .models import Invitation, Membership, Role, Team
from .signals import member_removed

Via = AuditEntry.Via


class TeamRuleError(Exception):
    """The action is refused by a team rule; str(exc) says why, for a person."""


def ensure_can_manage_members(membership: Membership | None) -> None:
    """Inviting, renaming, changing roles: owners' and admins' work."""
    if membership is None or not membership.can_manage_members:
        raise PermissionDenied("Only the team's owners and admins can do this.")


def _lock_team(team_id: int) -> Team:
    return Team.objects.select_for_update().get(pk=team_id)


def _fresh(membership: Membership) -> Membership:
    """The membership as it is now (inside the team lock), with its user and team."""
    return Membership.objects.select_related("user", "team").get(pk=membership.pk)


def _owner_count(team_id: int) -> int:
    return Membership.objects.filter(team_id=team_id, role=Role.OWNER).count()


def _set_role(*, membership: Membership, role: str, actor, after: dict | None = None) -> None:
    """Change a role and record it (nothing when the role is already `role`)."""
    before = membership.role
    if before == role:
        return
    membership.role = role
    membership.save(update_fields=["role"])
    _record(
        action="member.role",
        actor=actor,
        membership=membership,
        before={"role": before},
        after={"role": role, **(after or {})},
    )


def _record(*, action: str, actor, membership: Membership, before: dict, after: dict, **kw):
    audit_record(
        team_id=membership.team_id,
        actor=actor,
        action=action,
        target=membership,
        before=before,
        after=after,
        **kw,
    )


# --- teams ----------------------------------------------------------------------------


@transaction.atomic
def team_create_personal(*, user) -> Team:
    team = Team.objects.create(name=f"{user.get_username()}'s team")
    Membership.objects.create(team=team, user=user, role=Role.OWNER)
    return team


@transaction.atomic
def team_create(*, user, name: str) -> Membership:
    """A new team with `user` as its owner."""
    team = Team.objects.create(name=name.strip())
    return Membership.objects.create(team=team, user=user, role=Role.OWNER)


@transaction.atomic
def team_rename(*, actor: Membership, name: str) -> Team:
    ensure_can_manage_members(actor)
    team = _lock_team(actor.team_id)
    team.name = name.strip()
    team.save(update_fields=["name"])
    return team


# --- invitations ------------------------------------------------------------------------


@transaction.atomic
def invitation_create(
    *,
    actor: Membership,
    role: str = Role.MEMBER,
    email: str = "",
    lifetime: timedelta = Invitation.DEFAULT_LIFETIME,
    accept_url_for=None,
) -> Invitation:
    """A single-use invitation; with an email, the link is also sent there.

    `accept_url_for(invitation)` builds the absolute link for the email (the
    service does not know the site's host; the view does).
    """
    ensure_can_manage_members(actor)
    if role not in dict(Invitation.INVITABLE_ROLES) or role not in actor.grantable_roles():
        raise PermissionDenied("You cannot invite people with that role.")
    if lifetime <= timedelta(0):
        raise TeamRuleError("An invitation must be valid for some time.")
    invitation = Invitation.objects.create(
        team_id=actor.team_id,
        role=role,
        email=email.strip(),
        created_by_id=actor.user_id,
        expires_at=timezone.now() + lifetime,
    )
    if invitation.email:
        from .tasks import send_invitation_email

        url = accept_url_for(invitation)
        transaction.on_commit(lambda: send_invitation_email.delay(invitation.pk, url))
    return invitation


@transaction.atomic
def invitation_revoke(*, actor: Membership, invitation: Invitation) -> None:
    if not actor.can_manage_members or invitation.team_id != actor.team_id:
        raise PermissionDenied("Only owners and admins can revoke invitations.")
    Invitation.objects.filter(pk=invitation.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


@transaction.atomic
def invitation_accept(*, token: str, user) -> Membership:
    """Join the invitation's team. A person already in the team keeps their role
    and the invitation stays unused, for someone else."""
    invitation = (
        Invitation.objects.select_for_update().select_related("team").filter(token=token).first()
    )
    if invitation is None or not invitation.is_pending:
        raise TeamRuleError("This invitation has expired, was revoked, or was already used.")
    _lock_team(invitation.team_id)
    existing = Membership.objects.filter(team_id=invitation.team_id, user=user).first()
    if existing is not None:
        return existing
    membership = Membership.objects.create(team=invitation.team, user=user, role=invitation.role)
    Invitation.objects.filter(pk=invitation.pk).update(
        accepted_at=timezone.now(), accepted_by=user
    )
    _record(
        actor=user,
        action="member.add",
        membership=membership,
        before={},
        after={"role": membership.role, "invitation": invitation.pk},
    )
    return membership


# --- members ----------------------------------------------------------------------------


@transaction.atomic
def membership_change_role(*, actor: Membership, membership: Membership, role: str) -> Membership:
    _lock_team(actor.team_id)
    actor, membership = _fresh(actor), _fresh(membership)
    if role not in Role.values:
        raise TeamRuleError("Choose one of the roles.")
    if not actor.can_manage(membership):
        raise PermissionDenied("You cannot change this person's role.")
    if role not in actor.grantable_roles():
        raise PermissionDenied("You cannot give that role.")
    if membership.role == role:
        return membership
    if membership.role == Role.OWNER and _owner_count(actor.team_id) == 1:
        raise TeamRuleError(
            "The team's only owner cannot be demoted: make someone else an owner first."
        )
    _set_role(membership=membership, role=role, actor=actor.user)
    return membership


@transaction.atomic
def membership_set_image_limit(
    *, actor: Membership, membership: Membership, limit: int | None
) -> Membership:
    """A member's own monthly image limit, beside the team's quota (None: none of their own)."""
    _lock_team(actor.team_id)
    actor, membership = _fresh(actor), _fresh(membership)
    if not actor.can_manage(membership):
        raise PermissionDenied("You cannot set this person's image limit.")
    if limit is not None and limit < 0:
        raise TeamRuleError("A limit is a number of images, 0 or more.")
    before = membership.monthly_image_limit
    if before == limit:
        return membership
    membership.monthly_image_limit = limit
    membership.save(update_fields=["monthly_image_limit"])
    _record(
        action="member.limit",
        actor=actor.user,
        membership=membership,
        before={"monthly_image_limit": before},
        after={"monthly_image_limit": limit},
    )
    return membership


@transaction.atomic
def membership_remove(
    *, actor: Membership, membership: Membership, heir: Membership | None = None
) -> None:
    """Remove someone else. Their images stay in the team with their name; what
    they shared (collections, links) passes to `heir` (the remover by default),
    through the apps that own it (signals.member_removed); their sessions end."""
    _lock_team(actor.team_id)
    actor, membership = _fresh(actor), _fresh(membership)
    heir = _fresh(heir) if heir is not None else actor
    if membership.pk == actor.pk:
        raise TeamRuleError("To leave the team yourself, use “Leave team”.")
    if not actor.can_manage(membership):
        raise PermissionDenied("You cannot remove this person.")
    if heir.team_id != actor.team_id or heir.pk == membership.pk:
        raise TeamRuleError("Hand their work to another member of this team.")
    member_removed.send(sender=Membership, membership=membership, heir=heir, actor=actor.user)
    ended = _end_sessions(user_id=membership.user_id)
    _record(
        actor=actor.user,
        action="member.remove",
        membership=membership,
        before={"role": membership.role},
        after={"handed_to": heir.user.get_username(), "sessions_ended": ended},
    )
    membership.delete()


def _end_sessions(*, user_id: int) -> int:
    """Sign the person out everywhere, so no open page of theirs keeps working.

    Sessions are stored in the database (Django's default engine); only the
    unexpired ones are read.
    """
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get(SESSION_USER_KEY) == str(user_id):
            session.delete()
            ended += 1
    return ended


@transaction.atomic
def membership_leave(*, membership: Membership) -> None:
    _lock_team(membership.team_id)
    membership = _fresh(membership)
    if membership.role == Role.OWNER and _owner_count(membership.team_id) == 1:
        raise TeamRuleError(
            "You are the team's only owner: transfer ownership or make someone else an "
            "owner before you leave."
        )
    _record(
        actor=membership.user,
        action="member.remove",
        membership=membership,
        before={"role": membership.role},
        after={"left": True},
    )
    membership.delete()


@transaction.atomic
def team_transfer_ownership(*, actor: Membership, to: Membership) -> Membership:
    """`to` becomes an owner and `actor` steps down to admin, in one move."""
    _lock_team(actor.team_id)
    actor, to = _fresh(actor), _fresh(to)
    if not actor.is_owner:
        raise PermissionDenied("Only an owner can transfer ownership.")
    if to.team_id != actor.team_id or to.pk == actor.pk:
        raise TeamRuleError("Choose another member of this team.")
    for membership, role in ((to, Role.OWNER), (actor, Role.ADMIN)):
        _set_role(membership=membership, role=role, actor=actor.user, after={"transfer": True})
    return to


# --- staff, in the Django admin -----------------------------------------------------------


def membership_recorded(
    *, membership: Membership, actor, before_role: str | None, via: str = Via.ADMIN
) -> None:
    """Record a membership the admin saved: added (before_role None) or its role changed."""
    if before_role == membership.role:
        return
    _record(
        actor=actor,
        action="member.add" if before_role is None else "member.role",
        membership=membership,
        before={} if before_role is None else {"role": before_role},
        after={"role": membership.role},
        via=via,
    )


def membership_delete_recorded(*, membership: Membership, actor, via: str = Via.ADMIN) -> None:
    """Delete a membership from the admin, leaving its audit entry."""
    with transaction.atomic():
        _record(
            actor=actor,
            action="member.remove",
            membership=membership,
            before={"role": membership.role},
            after={},
            via=via,
        )
        membership.delete()
