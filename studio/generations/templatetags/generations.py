from django import template

from studio.generations.services import may_delete

register = template.Library()


@register.filter
def deletable_by(generation, membership) -> bool:
    """{% if generation|deletable_by:request.membership %}: the creator, or an admin."""
    return may_delete(generation=generation, membership=membership)


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
