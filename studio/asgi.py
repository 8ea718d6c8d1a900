"""The ASGI web process (uvicorn): the live-update stream, then Django.

    uvicorn studio.asgi:application --host 127.0.0.1 --port 8000

/live/stream/ is answered here without Django's request cycle, so thousands
of idle streams cost coroutines, not threads; everything else goes to
Django's ASGI handler (static files through WhiteNoise, as under WSGI).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

from asgiref.sync import sync_to_async  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()

from django.conf import settings  # noqa: E402

from studio.live.context import STREAM_PATH  # noqa: E402
from studio.live.stream import stream  # noqa: E402


def _session_key(scope) -> str | None:
    from http.cookies import CookieError, SimpleCookie

    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            try:
                cookie = SimpleCookie(value.decode("latin-1"))
            except CookieError:
                return None
            morsel = cookie.get(settings.SESSION_COOKIE_NAME)
            return morsel.value if morsel else None
    return None


def _team_of_session(session_key: str | None) -> int | None:
    """The session's current team, checked as CurrentTeamMiddleware checks it."""
    from importlib import import_module

    from django.contrib.auth import get_user
    from django.db import close_old_connections
    from django.http import HttpRequest

    from studio.teams.middleware import SESSION_KEY
    from studio.teams.selectors import current_membership

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


async def authenticate(scope) -> int | None:
    return await sync_to_async(_team_of_session)(_session_key(scope))


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            from studio.live.hub import close_all

            close_all()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    elif scope["type"] == "http" and scope["path"] == STREAM_PATH and settings.STUDIO_LIVE_PUSH:
        await stream(scope, receive, send, authenticate)
    else:
        await django_application(scope, receive, send)
