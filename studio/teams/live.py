"""Who a live-update stream is for: the session's current team, checked as
CurrentTeamMiddleware checks it (studio/asgi.py calls this by the dotted path
in settings.STUDIO_LIVE_SESSION_TEAM, outside Django's request cycle)."""

from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user
from django.db import close_old_connections
from django.http import HttpRequest

from .middleware import SESSION_KEY
from .selectors import current_membership


def team_of_session(session_key: str | None) -> int | None:
    if not session_key:
        return None
    close_old_connections()
    try:
        request = HttpRequest()
        request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        user = get_user(request)  # verifies the session's auth hash, like every request
        if not user.is_authenticated:
            return None
        membership = current_membership(user=user, team_id=request.session.get(SESSION_KEY))
        return membership.team_id if membership else None
    finally:
        close_old_connections()
