"""The one way to write to the audit log."""

from __future__ import annotations

from django.db import models

from .models import AuditEntry

Action = AuditEntry.Action
Via = AuditEntry.Via


def record(
    *,
    team=None,
    team_id: int | None = None,
    actor,
    action: str,
    target: models.Model,
    before: dict,
    after: dict,
    via: str = Via.STUDIO,
    actor_label: str | None = None,
) -> AuditEntry:
    """Append one entry to the team's audit log, in the caller's transaction.

    `team` is a Team or its id (or give `team_id`). The target is named in the
    log by its `audit_label` (how a person recognises it), else by str().
    `actor_label` names an actor with no account (a client on a link).
    """
    if action not in Action.values:
        raise ValueError(f"Unknown audit action {action!r}")
    if team_id is None:
        team_id = team if isinstance(team, int) else team.pk
    label = getattr(target, "audit_label", None) or str(target)
    if actor_label is None:
        actor_label = actor.get_username() if actor is not None else "system"
    return AuditEntry.objects.create(
        team_id=team_id,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor_label[:150],
        action=action,
        via=via,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_label=label[:200],
        before=before,
        after=after,
    )
