"""Reads of generations, always scoped to one team."""

from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import Generation, Result, Status
from .visibility import may_see_result, sees_unapproved, team_policy, visible_results

MAX_ID = 2**63 - 1  # a BigAutoField's largest value
# Beyond this many changed cards, a client is told to reload instead.
MAX_CHANGES_PER_UPDATE = 200


def _with_results(queryset):
    return queryset.select_related("created_by").prefetch_related(
        Prefetch("results", queryset=Result.objects.order_by("position")), "references"
    )


def generation_for_team(*, team, pk: int) -> Generation:
    """Another team's generation is a 404, never a 403: its existence is not told."""
    return get_object_or_404(Generation.objects.for_team(team), pk=pk)


def gallery_generations(*, team, limit: int) -> list[Generation]:
    return list(_with_results(Generation.objects.for_team(team))[:limit])


def generations_changed_since(*, team, cursor: int) -> list[Generation] | None:
    """Generations changed after `cursor`, newest first; None when too many to send."""
    changed = list(
        _with_results(Generation.objects.for_team(team).filter(seq__gt=cursor))[
            : MAX_CHANGES_PER_UPDATE + 1
        ]
    )
    return None if len(changed) > MAX_CHANGES_PER_UPDATE else changed


def with_card_results(generations: list[Generation], *, team, membership) -> list[Generation]:
    """Set `generation.shown` on each stored card: the results this person may
    see under the review policy (visibility.py), each with its `review_mark`.

    The team's policy is read once, and only when a card shows results.
    """
    policy = None
    for generation in generations:
        if generation.status == Status.SUCCEEDED and generation.ingested_at:
            policy = policy or team_policy(team)
            generation.shown = visible_results(
                generation=generation, membership=membership, policy=policy
            )
    return generations


def sees_review_state(*, result: Result, membership) -> bool:
    """Whether this person may read the review state of the result (the viewer)."""
    return sees_unapproved(membership=membership, created_by_id=result.generation.created_by_id)


def result_for_team(*, team, pk: int, membership) -> Result:
    """One of the team's results, as `membership` may see it: a result the
    review policy hides from this person is a 404, like another team's."""
    queryset = Result.objects.filter(team=team).select_related(
        "generation", "generation__created_by", "generation__source_result"
    )
    result = get_object_or_404(queryset, pk=pk)
    if not may_see_result(result=result, membership=membership):  # the review rule
        raise Http404("No such image.")
    return result


def results_for_download(*, team, ids: list[int], membership) -> list[Result]:
    """The team's stored results for `ids` that `membership` may see, in the order asked.

    Any id that is not one of the team's stored results, or that the review
    policy hides from this person, is a 404 for the whole request: nothing
    tells whether another team's id exists.
    """
    policy = team_policy(team)
    # An id no BigAutoField can hold names nothing, and SQLite would refuse to compare it.
    storable = [pk for pk in ids if 0 < pk <= MAX_ID]
    found = {
        r.pk: r
        for r in Result.objects.filter(team=team, pk__in=storable)
        .exclude(sha256="")
        .select_related("generation", "generation__created_by")
        if may_see_result(result=r, membership=membership, policy=policy)
    }
    wanted = list(dict.fromkeys(ids))
    if set(wanted) - set(found):
        raise Http404("No such image.")
    return [found[pk] for pk in wanted]
