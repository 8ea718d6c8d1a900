from django import template

from ..views import bell_context

register = template.Library()


@register.inclusion_tag("discussion/bell.html", takes_context=True)
def notification_bell(context):
    """The bell in the top bar: the unread count, refreshed by its own poll."""
    return bell_context(context["request"])
