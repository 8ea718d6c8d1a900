"""The SSE endpoint, as a plain ASGI app: routed before Django (studio/asgi.py),
so an idle stream costs one coroutine and a queue, not a thread or a request
cycle through the middleware. `authenticate(scope)` (given by the project,
which may import the teams app) answers the team id, or None."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from django.conf import settings

from .hub import _offer, frame, hub
from .render import viewer_of

Authenticate = Callable[[dict], Awaitable[int | None]]

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, no-transform"),
    # nginx: do not buffer this response (README, "Reverse proxy").
    (b"x-accel-buffering", b"no"),
]


async def _refuse(send, status: int, text: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": text.encode()})


async def stream(scope, receive, send, authenticate: Authenticate) -> None:
    if scope["method"] not in ("GET", "HEAD"):
        await _refuse(send, 405, "GET only.")
        return
    team_id = await authenticate(scope)
    if team_id is None:
        await _refuse(send, 403, "Sign in to a team to receive its live updates.")
        return
    # ?cards=1 (the studio page): the stream carries the changed cards themselves.
    wants_cards = b"cards=1" in scope.get("query_string", b"").split(b"&")
    queue = hub().subscribe(team_id, viewer_of(scope) if wants_cards else None)
    gone = asyncio.Event()

    async def watch_disconnect():
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()
        _offer(queue, None)

    watcher = asyncio.get_running_loop().create_task(watch_disconnect())
    heartbeat = settings.STUDIO_LIVE_HEARTBEAT
    try:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        # retry: the browser's own reconnect delay; hello: the page knows the stream
        # really flows (a buffering proxy would hold it back) and catches up.
        await send({"type": "http.response.body", "more_body": True,
                    "body": b"retry: 2000\n\n" + frame("hello", {})})
        while not gone.is_set():
            try:
                item = await asyncio.wait_for(queue.get(), heartbeat)
            except TimeoutError:
                item = ("ping", {})
            if item is None:
                break
            body = item if isinstance(item, bytes) else frame(*item)
            await send({"type": "http.response.body", "body": body, "more_body": True})
        if not gone.is_set():
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    except OSError:
        pass  # the client went away mid-write
    except asyncio.CancelledError:
        return  # the server is shutting down: the browser reconnects to the next one
    finally:
        hub().unsubscribe(team_id, queue)
        watcher.cancel()
