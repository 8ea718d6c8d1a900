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
from django.utils.module_loading import import_string  # noqa: E402

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


async def authenticate(scope) -> int | None:
    team_of_session = import_string(settings.STUDIO_LIVE_SESSION_TEAM)
    # Not thread-sensitive: a reconnect storm (every tab after a restart) checks
    # sessions on several threads, not one by one.
    return await sync_to_async(team_of_session, thread_sensitive=False)(_session_key(scope))


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
