"""One subscription per web process, fanned out in memory to its open streams.

The hub starts with the first stream and then runs for the process's life:
a Redis pub/sub connection on one channel, or one task polling the embedded
broker's event table every STUDIO_LIVE_POLL_INTERVAL seconds (a no-change
check is `PRAGMA data_version`, no table read). If the subscription breaks,
every stream is told to resync when it comes back, so a missed event costs a
refresh, never a stale page.

Streams of a team are grouped by viewer (render.Viewer: the same cookies and
request headers, so the same answer). A group of the studio page's streams
gets each change as "update", rendered once for the group (coalesced while a
render runs); a group of other pages gets the plain event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from . import backends
from .render import Viewer, render_updates
from .shared import SharedReads

log = logging.getLogger(__name__)


# A render slower than this (a locked database) is given up: its tabs are told
# "changed" and ask for themselves, as without pushed cards.
RENDER_TIMEOUT = 5.0

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _render_pool() -> ThreadPoolExecutor:
    """Renders of pushed cards run here, never on the event loop. Each viewer
    has at most one render queued or running (the rest coalesce), so the queue
    is bounded by the viewers of this process, not by the rate of changes."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(settings.STUDIO_LIVE_RENDER_THREADS,
                                       thread_name_prefix="live-render")
        return _pool


class Viewers:
    """The streams of one team that would get the same answer: one viewer
    (render.Viewer), or none for streams that want events only."""

    def __init__(self, viewer: Viewer | None):
        self.viewer = viewer
        self.queues: set[asyncio.Queue] = set()
        self.pending: tuple[int, float] | None = None  # the latest change not rendered yet
        self.cursor: int | None = None  # where the last pushed update left its tabs
        self.task: asyncio.Task | None = None


class Hub:
    def __init__(self):
        self.streams: dict[int, dict[str | None, Viewers]] = {}
        # Per team, the memo shared by the renders of its latest change: a
        # new change starts a new one, so nothing read outlives its change.
        self._reads: dict[int, SharedReads] = {}
        self._viewer_of: dict[asyncio.Queue, str | None] = {}
        self._task: asyncio.Task | None = None
        self.delivered = 0
        self.renders = 0
        self.render_failures = 0

    # -- streams -----------------------------------------------------------------

    def subscribe(self, team_id: int, viewer: Viewer | None = None) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=64)
        key = viewer.key if viewer is not None else None
        groups = self.streams.setdefault(team_id, {})
        if key not in groups:
            groups[key] = Viewers(viewer)
        groups[key].queues.add(queue)
        self._viewer_of[queue] = key
        self._ensure_running()
        return queue

    def unsubscribe(self, team_id: int, queue: asyncio.Queue) -> None:
        key = self._viewer_of.pop(queue, None)
        groups = self.streams.get(team_id)
        if groups is None or key not in groups:
            return
        groups[key].queues.discard(queue)
        if not groups[key].queues:
            del groups[key]  # a render in flight still finishes, for nobody
            if not groups:
                del self.streams[team_id]
                self._reads.pop(team_id, None)

    def open_streams(self) -> int:
        return sum(len(g.queues) for groups in self.streams.values() for g in groups.values())

    def dispatch(self, team_id: int, event: str, payload: dict) -> None:
        seq = payload.get("seq")
        if event == "change" and isinstance(seq, int) and team_id in self.streams:
            self._reads[team_id] = SharedReads()
        for group in list(self.streams.get(team_id, {}).values()):
            if (group.viewer is None or event != "change" or not isinstance(seq, int)
                    or not settings.STUDIO_LIVE_PUSH_CARDS):
                self._send(group, (event, payload))
                continue
            group.pending = (seq, payload.get("t", 0.0))
            if group.task is None or group.task.done():
                group.task = asyncio.get_running_loop().create_task(
                    self._push_cards(team_id, group))

    def resync_all(self) -> None:
        for groups in list(self.streams.values()):
            for group in list(groups.values()):
                group.cursor = None  # events may be lost: the next update starts afresh
                self._send(group, ("change", {"resync": True}))

    def close_all(self) -> None:
        """End every stream (what a restart does): pages fall back, then reconnect."""
        for groups in list(self.streams.values()):
            for group in list(groups.values()):
                for queue in list(group.queues):
                    _offer(queue, None)

    def _send(self, group: Viewers, item) -> None:
        for queue in list(group.queues):
            _offer(queue, item)
            self.delivered += 1

    # -- pushed cards ------------------------------------------------------------

    async def _push_cards(self, team_id: int, group: Viewers) -> None:
        """Render the update endpoint once for this viewer and send it to all
        its tabs; changes that come meanwhile coalesce into the next render."""
        loop = asyncio.get_running_loop()
        while group.pending is not None and group.queues:
            seq, t = group.pending
            group.pending = None
            if group.cursor is not None and group.cursor >= seq:
                # An earlier render already read this change: tabs that applied it
                # skip the event, any other tab asks for itself.
                self._send(group, ("change", {"seq": seq, "t": t}))
                continue
            since = group.cursor if group.cursor is not None else seq - 1
            self.renders += 1
            work = loop.run_in_executor(
                _render_pool(), render_updates, group.viewer, team_id, since,
                self._reads.get(team_id))
            update = None
            try:
                update = await asyncio.wait_for(asyncio.shield(work), RENDER_TIMEOUT)
            except TimeoutError:
                log.warning("live updates: a render for team %s took over %.0f s",
                            team_id, RENDER_TIMEOUT)
            except Exception:  # noqa: BLE001 - any failure: the tabs ask for themselves
                log.exception("live updates: render for team %s failed", team_id)
            if update is None:
                self.render_failures += 1
                group.cursor = None
                self._send(group, ("change", {"seq": seq, "t": t}))
                # A slow render still holds its thread: wait for it, not beside it.
                await asyncio.gather(work, return_exceptions=True)
                continue
            group.cursor = update.cursor
            # Framed once for all the viewer's tabs, not once per tab.
            self._send(group, frame("update", {"seq": seq, "t": t, "from": since,
                                               "to": update.cursor, "html": update.html}))

    # -- the one subscription ------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                if backends.uses_redis():
                    await self._listen_redis()
                else:
                    await self._poll_embedded()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reconnect on any broker fault
                log.warning("live updates: subscription lost (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
            self.resync_all()

    async def _listen_redis(self) -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(backends.channel())
            while True:
                message = await pubsub.get_message(timeout=30.0)
                if message is None:
                    await client.ping()  # a half-open connection shows up here
                    continue
                self._deliver(message["data"])
        finally:
            await pubsub.aclose()
            await client.aclose()

    async def _poll_embedded(self) -> None:
        interval = settings.STUDIO_LIVE_POLL_INTERVAL
        conn = backends.embedded_connect()
        try:
            last_id = backends.embedded_last_id(conn)
            version = None
            while True:
                # data_version changes when another connection commits: cheap no-change check.
                current = conn.execute("PRAGMA data_version").fetchone()[0]
                if current != version:
                    version = current
                    for row_id, raw in backends.embedded_read_after(conn, last_id):
                        last_id = row_id
                        self._deliver(raw)
                await asyncio.sleep(interval)
        finally:
            conn.close()

    def _deliver(self, raw) -> None:
        decoded = backends.decode(raw)
        if decoded is not None:
            self.dispatch(*decoded)


def frame(event: str, payload: dict) -> bytes:
    return f"event: {event}\ndata: {json.dumps(payload)}\n\n".encode()


def _offer(queue: asyncio.Queue, item) -> None:
    try:
        queue.put_nowait(item)
    except asyncio.QueueFull:
        pass  # a stuck reader already has events to refresh on; dropping more loses nothing


_hubs: dict[int, Hub] = {}


def hub() -> Hub:
    """The hub of the running event loop (one per process in practice; tests may run more)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(id(loop))
    if found is None:
        found = _hubs[id(loop)] = Hub()
    return found


def open_streams() -> int:
    """Open streams in this process, for /metrics."""
    return sum(h.open_streams() for h in list(_hubs.values()))


def close_all() -> None:
    """End every open stream of this process (at shutdown)."""
    for each in list(_hubs.values()):
        each.close_all()
