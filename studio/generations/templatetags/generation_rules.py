from django import template

register = template.Library()


@register.filter
def managed_by(generation, membership) -> bool:
    """Whether `membership` may cancel or resubmit `generation` (the model's rule)."""
    return generation.may_be_managed_by(membership)
