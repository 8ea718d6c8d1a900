from django import template

register = template.Library()


@register.filter
def managed_by(generation, membership) -> bool:
    """{% if generation|managed_by:request.membership %}: its creator, or an admin or owner,
    may cancel, resubmit, delete or restore it."""
    return generation.may_be_managed_by(membership)


# A batch larger than this shows its first PREVIEW tiles and "+N more".
BATCH_FOLD = 6
PREVIEW = 4


@register.simple_tag
def batch_split(results) -> dict:
    """{% batch_split shown.results as batch %}: batch.first, batch.rest."""
    results = list(results)
    if len(results) <= BATCH_FOLD:
        return {"first": results, "rest": []}
    return {"first": results[:PREVIEW], "rest": results[PREVIEW:]}


@register.simple_tag(takes_context=True)
def capacity_wait(context, generation):
    """Where a queued generation stands in the dispatcher's queue and when its call
    comes (None: it is not waiting). Read once per request, however many cards."""
    from studio.generations.budget import QueueView

    if generation.status != "queued" or generation.dispatched_at is not None:
        return None
    request = context.get("request")
    view = getattr(request, "_queue_view", None) if request is not None else None
    if view is None:
        view = QueueView()
        if request is not None:
            request._queue_view = view
    return view.for_generation(generation)
