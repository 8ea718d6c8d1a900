"""Who sees which results: the review rule, in one place.

The review app sets the team's policy and makes the decisions; this module
applies them wherever results are read, so it lives with Result.

- Approved results are seen by every member of the team.
- Admins, owners and the person who made the generation see every result,
  marked "Awaiting review" (when the team requires approval) or "Rejected: …".
- Everyone else (members, viewers) does not see rejected results, and, when
  the team requires approval, does not see results still awaiting review.

Cards, the viewer, zip downloads and media bytes all ask this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q

from studio.teams.models import Membership, Team, TeamPolicy

from .models import Generation, Result

REVIEWER_ROLES = frozenset({Membership.Role.OWNER, Membership.Role.ADMIN})


def is_reviewer(membership: Membership | None) -> bool:
    """Admins and owners review results, read the audit log and see usage."""
    return membership is not None and membership.role in REVIEWER_ROLES


def team_policy(team: Team | int) -> TeamPolicy:
    """The team's policy; an unsaved default one when none was set (no write on reads)."""
    team_id = team if isinstance(team, int) else team.pk
    return TeamPolicy.objects.filter(team_id=team_id).first() or TeamPolicy(team_id=team_id)


def sees_unapproved(*, membership: Membership | None, created_by_id: int) -> bool:
    return is_reviewer(membership) or (
        membership is not None and membership.user_id == created_by_id
    )


def result_visible(
    *, result: Result, created_by_id: int, membership: Membership | None, policy: TeamPolicy
) -> bool:
    """The rule, for someone already allowed into the result's team.

    `membership` is their membership in that team; None for a visitor with no
    role (a share link), who is treated as a viewer.
    """
    if membership is not None and membership.team_id != result.team_id:
        return False
    if result.review_state == Result.ReviewState.APPROVED:
        return True
    if sees_unapproved(membership=membership, created_by_id=created_by_id):
        return True
    if result.review_state == Result.ReviewState.REJECTED:
        return False
    return not policy.require_approval


def may_see_result(
    *, result: Result, membership: Membership | None, policy: TeamPolicy | None = None
) -> bool:
    """The rule for one result (viewer, zip, media). An approved result costs no query;
    otherwise the policy (unless given) and the generation's creator are read."""
    if result.review_state == Result.ReviewState.APPROVED:
        return membership is None or membership.team_id == result.team_id
    return result_visible(
        result=result,
        created_by_id=result.generation.created_by_id,
        membership=membership,
        policy=policy or team_policy(result.team_id),
    )


def visible_q(*, membership: Membership | None, policy: TeamPolicy) -> Q:
    """The same rule as a filter on a Result queryset, for lists that are not
    prefetched per generation (a gallery of results, a share page)."""
    if is_reviewer(membership):
        return Q()
    visible = Q(review_state=Result.ReviewState.APPROVED)
    if membership is not None:
        visible |= Q(generation__created_by_id=membership.user_id)
    if not policy.require_approval:
        visible |= Q(review_state=Result.ReviewState.PENDING)
    return visible


def review_mark(*, result: Result, policy: TeamPolicy) -> str:
    """What a person allowed to see an unapproved result reads on it."""
    if result.review_state == Result.ReviewState.REJECTED:
        return f"Rejected: {result.review_reason}" if result.review_reason else "Rejected"
    if result.review_state == Result.ReviewState.PENDING and policy.require_approval:
        return "Awaiting review"
    return ""


def review_status_text(*, result: Result, policy: TeamPolicy) -> str:
    """The full state, for those who may read it (viewer, queue)."""
    if result.review_state == Result.ReviewState.PENDING and not policy.require_approval:
        return "Not reviewed (approval is not required in this team)"
    return review_mark(result=result, policy=policy) or result.get_review_state_display()


@dataclass
class CardResults:
    """A generation's results as one person may see them."""

    results: list[Result] = field(default_factory=list)
    hidden: int = 0


def visible_results(
    *, generation: Generation, membership: Membership | None, policy: TeamPolicy
) -> CardResults:
    """The results of `generation` this person sees, each with `review_mark` set.

    Uses `generation.results.all()`, so a prefetched gallery costs no query.
    """
    shown = CardResults()
    for result in generation.results.all():
        if result_visible(
            result=result,
            created_by_id=generation.created_by_id,
            membership=membership,
            policy=policy,
        ):
            result.review_mark = review_mark(result=result, policy=policy)
            shown.results.append(result)
        else:
            shown.hidden += 1
    return shown


def membership_of(user, team_id: int) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, team_id=team_id).first()


def review_in_progress(*, team: Team) -> bool:
    """Whether a review decision may still change what members see in the gallery."""
    if not team_policy(team).require_approval:
        return False
    pending = Result.objects.filter(team=team, review_state=Result.ReviewState.PENDING)
    return pending.exclude(sha256="").exists()
