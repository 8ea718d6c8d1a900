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
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest
from django.db import connections
from django.urls import set_script_prefix

from .shared import SharedReads, sharing

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


# How long a render thread keeps an SQLite connection that the settings would
# close after each request (CONN_MAX_AGE 0, the embedded default).
KEEP_SQLITE_SECONDS = 60.0

_handler_lock = threading.Lock()
_kept = threading.local()
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


def render_updates(viewer: Viewer, team_id: int, cursor: int,
                   reads: SharedReads | None = None) -> Update | None:
    """GET /generations/updates/?cursor=<cursor> as this viewer, or None when
    the answer is not a plain update for team_id. Sync: run it off the loop.

    `reads`: the memo of this change's renders (one per change, given by the
    hub), so the changed rows are read once for all viewers, never their
    access: each render still runs the whole request as its viewer."""
    handler = _django()
    environ = _environ(viewer, settings.STUDIO_LIVE_UPDATES_PATH, urlencode({"cursor": cursor}))
    set_script_prefix("/")
    # As WSGIHandler does: request_started/finished close stale DB connections.
    signals.request_started.send(sender=WSGIHandler, environ=environ)
    request = WSGIRequest(environ)
    with sharing(reads):
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
        _keep_sqlite_connections()
        response.close()  # request_finished


def _keep_sqlite_connections() -> None:
    """The render threads live as long as the process, and opening SQLite's
    file again (WAL, pragmas) cost as much as a render: each keeps its own
    connection between renders for a while, as CONN_MAX_AGE would. One with
    errors, or a changed autocommit, is still closed at once by Django."""
    now = time.monotonic()
    expiries = _kept.__dict__
    for conn in connections.all(initialized_only=True):
        if (conn.vendor != "sqlite" or conn.connection is None
                or conn.settings_dict.get("CONN_MAX_AGE") != 0):
            continue
        held, expiry = expiries.get(conn.alias, (None, 0.0))
        if held is not conn.connection:  # connected during this render
            expiry = now + KEEP_SQLITE_SECONDS
            expiries[conn.alias] = (conn.connection, expiry)
        conn.close_at = expiry
