"""Pushed cards: the studio's own update response, rendered once per viewer.

A change used to reach a tab as "team N changed", and every tab then asked
GET /generations/updates/ for itself: 500 tabs, 500 renders a second. Here
the hub renders that same request once for each distinct viewer among its
streams, through Django's own handler with the viewer's cookies, so the
middleware, the team scoping, the permissions, review visibility and CSRF
tokens are exactly what the tab's own request would get (no second copy of
those rules). Anything but a plain 200 for the stream's team (a redirect, a
refresh, a new cookie, another team) is not pushed: the tab fetches instead.
"""

from __future__ import annotations

import hashlib
import io
import re
import sys
import threading
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.urls import set_script_prefix

# The request headers a render takes from the stream's own request: what the
# middleware may read (who, which team, CSRF, language, scheme behind a proxy).
# The viewer key is a digest of exactly these, so two streams share a render
# only when their requests would be answered alike.
HEADERS = (
    b"cookie",
    b"host",
    b"accept-language",
    b"user-agent",
    b"x-forwarded-proto",
    b"x-forwarded-for",
    b"x-forwarded-host",
)
# The cursor an update moves the tab to: the endpoint's own hidden input.
CURSOR = re.compile(rb'id="gallery-cursor"[^>]*\bvalue="(\d+)"')


@dataclass(frozen=True)
class Viewer:
    key: str
    headers: tuple[tuple[str, str], ...]
    scheme: str
    remote_addr: str
    server: tuple[str, int]


def viewer_of(scope) -> Viewer:
    wanted = {}
    for name, value in scope.get("headers", ()):
        if name in HEADERS:
            header = name.decode("latin-1")
            text = value.decode("latin-1")
            wanted[header] = f"{wanted[header]}; {text}" if header in wanted else text
    headers = tuple(sorted(wanted.items()))
    scheme = scope.get("scheme", "http")
    remote_addr = (scope.get("client") or ("", 0))[0]
    server = tuple(scope.get("server") or ("127.0.0.1", 80))
    digest = hashlib.sha256(repr((headers, scheme, remote_addr)).encode()).hexdigest()
    return Viewer(digest, headers, scheme, remote_addr, (str(server[0]), int(server[1])))


@dataclass(frozen=True)
class Update:
    html: str
    cursor: int  # what the tab's cursor becomes once applied


_handler_lock = threading.Lock()
_handler: WSGIHandler | None = None


def _django() -> WSGIHandler:
    global _handler
    with _handler_lock:
        if _handler is None:
            _handler = WSGIHandler()  # loads the middleware once, as a worker does
        return _handler


def _environ(viewer: Viewer, path: str, query: str) -> dict:
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": viewer.server[0],
        "SERVER_PORT": str(viewer.server[1]),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": viewer.remote_addr,
        "wsgi.url_scheme": viewer.scheme,
        "wsgi.input": io.BytesIO(),  # a GET: no body
        "wsgi.errors": sys.stderr,
        # As the page's poller asks (hx-get from #gallery-poller).
        "HTTP_HX_REQUEST": "true",
        "HTTP_HX_TARGET": "gallery-poller",
        "HTTP_HX_TRIGGER": "gallery-poller",
    }
    for name, value in viewer.headers:
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def render_updates(viewer: Viewer, team_id: int, cursor: int) -> Update | None:
    """GET /generations/updates/?cursor=<cursor> as this viewer, or None when
    the answer is not a plain update for team_id. Sync: run it off the loop."""
    handler = _django()
    environ = _environ(viewer, settings.STUDIO_LIVE_UPDATES_PATH, urlencode({"cursor": cursor}))
    set_script_prefix("/")
    # As WSGIHandler does: request_started/finished close stale DB connections.
    signals.request_started.send(sender=WSGIHandler, environ=environ)
    request = WSGIRequest(environ)
    response = handler.get_response(request)
    try:
        if response.status_code != 200 or response.streaming:
            return None
        team = getattr(request, "team", None)
        if team is None or team.pk != team_id:
            return None  # the session moved to another team, or lost it
        # A new cookie (a fresh CSRF secret, a cycled session), a refresh, a
        # redirect: only the tab's own request can carry those. A session saved
        # under the same key (the team noted in it) changes nothing for the tab.
        if any(request.COOKIES.get(name) != morsel.value
               for name, morsel in response.cookies.items()):
            return None
        if any(name.lower().startswith("hx-") for name in response.headers):
            return None
        found = CURSOR.search(response.content)
        if found is None:
            return None
        return Update(response.content.decode(response.charset or "utf-8"), int(found[1]))
    finally:
        response.close()  # request_finished
