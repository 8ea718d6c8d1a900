from django import template

from studio.teams.selectors import memberships_of_user

register = template.Library()


@register.inclusion_tag("teams/teams.html#switcher", takes_context=True)
def team_switcher(context):
    """The header's team menu: one query, on full pages only (never in HTMX fragments)."""
    request = context["request"]
    return {
        "request": request,
        "memberships": memberships_of_user(user=request.user),
        "current": getattr(request, "team", None),  # unset on an error page before the middleware
        "csrf_token": context.get("csrf_token"),
    }
