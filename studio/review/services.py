"""Writes of the review app: decisions, team policy, admin actions, and the
audit entry each of them leaves. One transaction each."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.files.storage import default_storage
from django.db import models, transaction

from studio.generations import services as generation_services
from studio.generations.models import Generation, Result, Status
from studio.teams.models import Membership, Team

from .models import AuditEntry, TeamPolicy

Action = AuditEntry.Action
Via = AuditEntry.Via


class ReviewError(ValueError):
    """A decision that cannot be made as asked (the message says why)."""


# --- audit ------------------------------------------------------------------


def target_label(target: models.Model) -> str:
    """How a person recognises the target in the log."""
    if isinstance(target, Result):
        return f"Image {target.position + 1} of generation {target.generation_id}"
    if isinstance(target, Generation):
        return f"Generation {target.pk}: {target.prompt[:80]}"
    if isinstance(target, Membership):
        return f"{target.user.get_username()} in {target.team.name}"
    if isinstance(target, TeamPolicy | Team):
        team = target if isinstance(target, Team) else target.team
        return f"Team {team.name}"
    return str(target)[:200]


def audit_record(
    *,
    team: Team | int | None = None,
    team_id: int | None = None,
    actor,
    action: str,
    target: models.Model,
    before: dict,
    after: dict,
    via: str = Via.STUDIO,
) -> AuditEntry:
    """Append one entry to the team's audit log, in the caller's transaction.

    For other apps too: the teams app calls it (team_id=...) when a member is
    added, removed or changes role ("member.add", "member.remove", "member.role").
    """
    if action not in Action.values:
        raise ValueError(f"Unknown audit action {action!r}")
    if team_id is None:
        team_id = team if isinstance(team, int) else team.pk
    return AuditEntry.objects.create(
        team_id=team_id,
        actor=actor if actor is not None and actor.pk else None,
        actor_label=actor.get_username() if actor is not None else "system",
        action=action,
        via=via,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_label=target_label(target)[:200],
        before=before,
        after=after,
    )


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
        for generation in Generation.objects.filter(pk__in=changed_generations):
            generation.touch()
    return changed


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


# --- memberships (Django admin; the teams app may call audit_record itself) --------


def membership_recorded(
    *, membership: Membership, actor, before_role: str | None, via: str = Via.ADMIN
) -> None:
    """Record a membership added (before_role None) or its role changed."""
    if before_role == membership.role:
        return
    audit_record(
        team=membership.team_id,
        actor=actor,
        action=Action.MEMBER_ADD if before_role is None else Action.ROLE_CHANGE,
        target=membership,
        before={} if before_role is None else {"role": before_role},
        after={"role": membership.role},
        via=via,
    )


def membership_remove(*, membership: Membership, actor, via: str = Via.ADMIN) -> None:
    with transaction.atomic():
        audit_record(
            team=membership.team_id,
            actor=actor,
            action=Action.MEMBER_REMOVE,
            target=membership,
            before={"role": membership.role},
            after={},
            via=via,
        )
        membership.delete()


# --- admin actions on generations --------------------------------------------------


def generations_cancel(*, generations: Iterable[Generation], actor, via: str = Via.ADMIN) -> int:
    """Cancel in-flight generations (and their remote executions); returns how many."""
    cancelled = 0
    for generation in generations:
        with transaction.atomic():
            before = generation.status
            if not generation_services.generation_cancel(generation=generation):
                continue
            audit_record(
                team=generation.team_id,
                actor=actor,
                action=Action.CANCEL,
                target=generation,
                before={"status": before},
                after={"status": generation.status},
                via=via,
            )
            cancelled += 1
    return cancelled


def generations_reingest(*, generations: Iterable[Generation], actor, via: str = Via.ADMIN) -> int:
    """Fetch a succeeded generation's files again: missing ones are downloaded anew.

    Results whose original or thumbnail is gone from storage are cleared, so
    the (idempotent) ingest step stores them again; files still present are
    kept. Returns how many generations were sent to ingest.
    """
    from studio.generations.tasks import ingest_results

    sent = 0
    for generation in generations:
        if generation.status != Status.SUCCEEDED:
            continue
        with transaction.atomic():
            missing = []
            for result in generation.results.all():
                if not (result.image and default_storage.exists(result.image.name)):
                    Result.objects.filter(pk=result.pk).update(image="", thumbnail="", sha256="")
                    missing.append(result.position + 1)
                elif not (result.thumbnail and default_storage.exists(result.thumbnail.name)):
                    Result.objects.filter(pk=result.pk).update(thumbnail="")
                    missing.append(result.position + 1)
            was_ingested = generation.ingested_at is not None
            generation.touch(ingested_at=None)
            audit_record(
                team=generation.team_id,
                actor=actor,
                action=Action.REINGEST,
                target=generation,
                before={"ingested": was_ingested},
                after={"ingested": False, "missing_images": missing},
                via=via,
            )
            transaction.on_commit(lambda pk=generation.pk: ingest_results.delay(pk))
        sent += 1
    return sent
