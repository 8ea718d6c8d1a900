from django import template

from studio.review.policy import (
    CardResults,
    is_reviewer,
    policy_for_request,
    review_status_text,
    sees_unapproved,
    team_policy,
    visible_results,
)

register = template.Library()


@register.simple_tag(takes_context=True)
def card_results(context, generation) -> CardResults:
    """The results of `generation` the current person may see (review rule).

    Usage: {% card_results generation as shown %} ... shown.results, shown.hidden
    """
    request = context.get("request")
    membership = getattr(request, "membership", None)
    policy = policy_for_request(request) if request is not None else None
    if policy is None or policy.team_id != generation.team_id:
        policy = team_policy(generation.team_id)
    return visible_results(generation=generation, membership=membership, policy=policy)


@register.filter
def reviewer(membership) -> bool:
    """{% if request.membership|reviewer %}: an admin or owner of the team."""
    return is_reviewer(membership)


@register.simple_tag(takes_context=True)
def sees_review_state(context, generation) -> bool:
    """Whether the current person may read review states of this generation's results."""
    request = context.get("request")
    return sees_unapproved(
        membership=getattr(request, "membership", None), created_by_id=generation.created_by_id
    )


@register.simple_tag(takes_context=True)
def review_status(context, result) -> str:
    """ "Approved", "Awaiting review", "Rejected: reason", ... for the viewer."""
    request = context.get("request")
    policy = policy_for_request(request) if request is not None else None
    if policy is None or policy.team_id != result.team_id:
        policy = team_policy(result.team_id)
    return review_status_text(result=result, policy=policy)
