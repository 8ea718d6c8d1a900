"""One subscription per web process, fanned out in memory to its open streams.

The hub starts with the first stream and then runs for the process's life:
a Redis pub/sub connection on one channel, or one task polling the embedded
broker's event table every STUDIO_LIVE_POLL_INTERVAL seconds (a no-change
check is `PRAGMA data_version`, no table read). If the subscription breaks,
every stream is told to resync when it comes back, so a missed event costs a
refresh, never a stale page.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings

from . import backends

log = logging.getLogger(__name__)


class Hub:
    def __init__(self):
        self.streams: dict[int, set[asyncio.Queue]] = {}
        self._task: asyncio.Task | None = None
        self.delivered = 0

    # -- streams -----------------------------------------------------------------

    def subscribe(self, team_id: int) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=64)
        self.streams.setdefault(team_id, set()).add(queue)
        self._ensure_running()
        return queue

    def unsubscribe(self, team_id: int, queue: asyncio.Queue) -> None:
        queues = self.streams.get(team_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self.streams[team_id]

    def open_streams(self) -> int:
        return sum(len(queues) for queues in self.streams.values())

    def dispatch(self, team_id: int, event: str, payload: dict) -> None:
        for queue in list(self.streams.get(team_id, ())):
            _offer(queue, (event, payload))
            self.delivered += 1

    def resync_all(self) -> None:
        for queues in list(self.streams.values()):
            for queue in list(queues):
                _offer(queue, ("change", {"resync": True}))

    def close_all(self) -> None:
        """End every stream (what a restart does): pages fall back, then reconnect."""
        for queues in list(self.streams.values()):
            for queue in list(queues):
                _offer(queue, None)

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
