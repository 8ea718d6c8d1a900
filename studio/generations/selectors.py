"""Reads of generations, always scoped to one team."""

from typing import NamedTuple

from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404

from studio.live import shared

from .models import Generation, Result, Status
from .visibility import may_see_result, sees_unapproved, team_policy, visible_results

MAX_ID = 2**63 - 1  # a BigAutoField's largest value
# Beyond this many changed cards, a client is told to reload instead.
MAX_CHANGES_PER_UPDATE = 200


def _with_results(queryset):
    """Cards: each with its visible results, and the edits stacked under it."""
    edits = (
        Generation.objects.visible()
        .select_related("created_by", "source_result")
        .prefetch_related(Prefetch("results", queryset=Result.objects.order_by("position")))
        .order_by("created_at", "pk")
    )
    return queryset.select_related("created_by").prefetch_related(
        Prefetch("results", queryset=Result.objects.order_by("position")),
        "references",
        Prefetch("stacked_edits", queryset=edits),
    )


def generation_for_team(*, team, pk: int) -> Generation:
    """Another team's generation is a 404, never a 403: its existence is not told.
    So is one in the Trash."""
    return get_object_or_404(Generation.objects.for_team(team).visible(), pk=pk)


def gallery_generations(*, team, limit: int) -> list[Generation]:
    """The studio's cards: generations of their own; edits come stacked inside."""
    cards = Generation.objects.for_team(team).visible().filter(stack_root__isnull=True)
    return list(_with_results(cards)[:limit])


class Changes(NamedTuple):
    cards: list[Generation]  # newest first
    upto: int  # every change up to this seq is in `cards` (as it is now, or newer)


def generations_changed_since(*, team, cursor: int) -> Changes | None:
    """The cards changed after `cursor`; None when too many to send.

    A changed edit changes the card it stacks under; a card moved to the
    Trash is sent too, so that open pages drop it.

    `upto` comes from the rows the first query saw, not from the cards read
    after it: a card changed again in between carries a newer seq, and
    moving the page's cursor to it would skip another card changed before
    it that the first query did not see.

    The renders of one pushed change share this read (studio.live.shared): the
    rows are the same for every viewer; what each may see is decided afterwards."""
    reads = shared.current()
    if reads is None:
        return _changed_since(team=team, cursor=cursor)
    key = ("generations_changed_since", team.pk, team.change_seq, cursor)
    return reads.get(key, lambda: _changed_since(team=team, cursor=cursor))


def _changed_since(*, team, cursor: int) -> Changes | None:
    changed = list(
        Generation.objects.for_team(team)
        .filter(seq__gt=cursor)
        .values_list("pk", "stack_root_id", "seq")[: MAX_CHANGES_PER_UPDATE + 1]
    )
    if len(changed) > MAX_CHANGES_PER_UPDATE:
        return None
    ids = {root or pk for pk, root, _ in changed}
    cards = list(_with_results(Generation.objects.for_team(team).filter(pk__in=ids)))
    return Changes(cards, max([cursor, *(seq for _, _, seq in changed)]))


def trashed_generation_for_team(*, team, pk: int) -> Generation:
    return get_object_or_404(Generation.objects.for_team(team).in_trash(), pk=pk)


def trashed_result_for_team(*, team, pk: int) -> Result:
    return get_object_or_404(
        Result.all_objects.filter(team=team, deleted_at__isnull=False).select_related("generation"),
        pk=pk,
    )


def trash(*, team) -> dict:
    """What is in the team's Trash, newest deletion first."""
    generations = list(
        Generation.objects.for_team(team)
        .in_trash()
        .select_related("created_by", "deleted_by")
        .prefetch_related(Prefetch("results", queryset=Result.all_objects.order_by("position")))
        .order_by("-deleted_at")[:200]
    )
    results = list(
        Result.all_objects.filter(
            team=team, deleted_at__isnull=False, generation__deleted_at__isnull=True
        )
        .select_related("generation", "generation__created_by", "deleted_by")
        .order_by("-deleted_at")[:200]
    )
    return {"generations": generations, "results": results}


def with_card_results(generations: list[Generation], *, team, membership) -> list[Generation]:
    """Set `generation.shown` on each stored card: the results this person may
    see under the review policy (visibility.py), each with its `review_mark`.

    The team's policy is read once, and only when a card shows results.
    """
    policy = None
    # The edits stacked under a card show their results too.
    cards = [*generations, *(e for g in generations for e in g.stacked_edits.all())]
    for generation in cards:
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
    # An approved result needs no policy; otherwise it is read once, and kept on the
    # result for the viewer's review box (`result.policy`), not read again.
    result.policy = None
    if result.review_state != Result.ReviewState.APPROVED:
        result.policy = team_policy(team)
    if not may_see_result(result=result, membership=membership, policy=result.policy):
        raise Http404("No such image.")  # the review rule
    return result


def results_visible_among(*, team, ids: list[int], membership) -> list[Result]:
    """The team's stored results among `ids` that `membership` may see; the rest left out."""
    policy = team_policy(team)
    return [
        r
        for r in Result.objects.filter(team=team, pk__in=ids)
        .exclude(sha256="")
        .select_related("generation", "generation__created_by")
        .order_by("-created_at", "-pk")
        if may_see_result(result=r, membership=membership, policy=policy)
    ]


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


def trashed_thumbnail_for_team(*, team, pk: int) -> Result:
    """A stored result in the Trash, itself or with its generation."""
    return get_object_or_404(
        Result.all_objects.filter(team=team)
        .filter(Q(deleted_at__isnull=False) | Q(generation__deleted_at__isnull=False))
        .exclude(thumbnail=""),
        pk=pk,
    )


def prompt_history(*, team, user, limit: int = 50) -> list[str]:
    """The member's last `limit` distinct prompts in this team, newest first."""
    prompts: list[str] = []
    rows = (
        Generation.objects.for_team(team)
        .filter(created_by=user, tool="generate_image")
        .order_by("-created_at")
        .values_list("prompt", flat=True)[: limit * 4]
    )
    for prompt in rows:
        if prompt not in prompts:
            prompts.append(prompt)
        if len(prompts) == limit:
            break
    return prompts


def trashed_result_ids_since(*, team, seq: int) -> list[int] | None:
    """Results of generations changed after `seq` that are now in the Trash;
    None when more generations changed than one answer should carry.

    Two index walks, bounded whatever the gallery's size: the changed
    generations from (team, seq), then their results from (generation,
    position). Deleting an image or a generation changes its generation."""
    changed = list(
        Generation.objects.for_team(team)
        .filter(seq__gt=seq)
        .values_list("pk", "deleted_at")[: MAX_CHANGES_PER_UPDATE + 1]
    )
    if len(changed) > MAX_CHANGES_PER_UPDATE:
        return None
    if not changed:
        return []
    gone = [pk for pk, deleted_at in changed if deleted_at is not None]
    return list(
        Result.all_objects.filter(generation_id__in=[pk for pk, _ in changed])
        .filter(Q(deleted_at__isnull=False) | Q(generation_id__in=gone))
        .values_list("pk", flat=True)
    )
