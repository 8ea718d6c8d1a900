"""Writes of the review app: decisions and the team policy, and the audit
entry each of them leaves. One transaction each."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.urls import reverse

from studio.audit.models import AuditEntry
from studio.audit.services import record as audit_record
from studio.discussion.models import Kind
from studio.discussion.services import notify
from studio.generations.models import Generation, Result
from studio.teams.models import Team, TeamPolicy

Action = AuditEntry.Action
Via = AuditEntry.Via


class ReviewError(ValueError):
    """A decision that cannot be made as asked (the message says why)."""


# --- review decisions ---------------------------------------------------------


def review_decide(
    *,
    team: Team,
    actor,
    results: Iterable[Result],
    approve: bool,
    reason: str = "",
    via: str = Via.STUDIO,
) -> int:
    """Approve or reject results of `team`; returns how many changed.

    A rejection needs a reason (it is shown to the creator). Results already
    in the asked state are left alone and leave no entry. Each changed
    generation is touched, so every open gallery re-renders its card.
    """
    reason = reason.strip()
    if not approve and not reason:
        raise ReviewError("Say why these images are rejected: the creator sees the reason.")
    state = Result.ReviewState.APPROVED if approve else Result.ReviewState.REJECTED
    reason = "" if approve else reason[:1000]
    ids = [r.pk for r in results]
    changed_generations: set[int] = set()
    changed = 0
    with transaction.atomic():
        # Locked (PostgreSQL), so two reviewers deciding the same image are
        # applied one after the other, each with the true "before".
        locked = (
            Result.objects.select_for_update(of=("self",))
            .filter(team=team, pk__in=ids)
            .select_related("generation")
            .order_by("pk")
        )
        for result in locked:
            if result.review_state == state and result.review_reason == reason:
                continue
            before = {"review_state": result.review_state, "review_reason": result.review_reason}
            Result.objects.filter(pk=result.pk).update(review_state=state, review_reason=reason)
            result.review_state, result.review_reason = state, reason
            audit_record(
                team=team,
                actor=actor,
                action=Action.APPROVE if approve else Action.REJECT,
                target=result,
                before=before,
                after={"review_state": state.value, "review_reason": reason},
                via=via,
            )
            changed_generations.add(result.generation_id)
            changed += 1
            _tell_creator(result=result, actor=actor, approve=approve, reason=reason)
        for generation in Generation.objects.filter(pk__in=changed_generations):
            generation.touch()
    return changed


def _tell_creator(*, result: Result, actor, approve: bool, reason: str) -> None:
    creator = result.generation.created_by
    if actor is not None and creator.pk == actor.pk:
        return
    who = actor.get_username() if actor is not None else "Studio"
    text = (
        f"{who} approved your {result.audit_label.lower()}."
        if approve
        else f"{who} rejected your {result.audit_label.lower()}: {reason}"
    )
    notify(
        team_id=result.team_id,
        user=creator,
        kind=Kind.REVIEW,
        text=text,
        url=reverse("result_detail", args=[result.pk]),
    )


# --- team policy ----------------------------------------------------------------


def policy_update(
    *,
    team: Team,
    actor,
    require_approval: bool | None = None,
    monthly_image_quota: int | None | type[Ellipsis] = ...,
    approve_existing: bool = False,
    via: str = Via.STUDIO,
) -> TeamPolicy:
    """Change the team's policy; each changed setting leaves its own audit entry.

    `monthly_image_quota=None` means unlimited; leave it out (`...`) to keep it.
    With `approve_existing`, turning "require approval" on also approves the
    results awaiting review, which members could already see until now.
    """
    with transaction.atomic():
        policy, _ = TeamPolicy.objects.select_for_update().get_or_create(team=team)
        if require_approval is not None and require_approval != policy.require_approval:
            after = {"require_approval": require_approval}
            if require_approval and approve_existing:
                after["approved_existing"] = _approve_all_pending(team)
            audit_record(
                team=team,
                actor=actor,
                action=Action.APPROVAL_CHANGE,
                target=policy,
                before={"require_approval": policy.require_approval},
                after=after,
                via=via,
            )
            policy.require_approval = require_approval
        if monthly_image_quota is not ... and monthly_image_quota != policy.monthly_image_quota:
            audit_record(
                team=team,
                actor=actor,
                action=Action.QUOTA_CHANGE,
                target=policy,
                before={"monthly_image_quota": policy.monthly_image_quota},
                after={"monthly_image_quota": monthly_image_quota},
                via=via,
            )
            policy.monthly_image_quota = monthly_image_quota
        policy.save()
    return policy


def _approve_all_pending(team: Team) -> int:
    pending = Result.objects.filter(team=team, review_state=Result.ReviewState.PENDING)
    generation_ids = set(pending.values_list("generation_id", flat=True))
    count = pending.update(review_state=Result.ReviewState.APPROVED, review_reason="")
    for generation in Generation.objects.filter(pk__in=generation_ids):
        generation.touch()
    return count
