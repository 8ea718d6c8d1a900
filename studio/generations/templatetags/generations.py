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
