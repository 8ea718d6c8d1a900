from django import template

from studio.generations.visibility import is_reviewer

register = template.Library()


@register.filter
def reviewer(membership) -> bool:
    """{% if request.membership|reviewer %}: an admin or owner of the team."""
    return is_reviewer(membership)
