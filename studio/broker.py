"""The embedded Celery broker: a kombu transport on one SQLite file, for
`make run` and small single-machine installs (no server to install).

It keeps Redis's guarantees where the other serverless transports do not:

- A message stays in the file until it is acknowledged. Taking it only leases
  it for `visibility_timeout` seconds; a worker that dies (its main process
  included) stops renewing its leases, and the message is delivered again.
  A live worker renews the leases of what it holds (ETA tasks wait in memory
  for a minute or more), so the timeout can stay short.
- A rejected message (Celery's reject_on_worker_lost after a pool child died)
  is visible again at once, in its old place.
- It is asynchronous: the worker's event loop polls it on a timer, so Celery
  runs its event loop and the prefork pool with one pipe per child. Between
  polls it looks every `wake_interval` at `PRAGMA data_version` (no table
  read), which moves when another connection wrote the file: a message sent by
  the web process is taken within ~20 ms, not up to a whole polling interval. A
  synchronous transport (kombu's filesystem and SQLAlchemy ones) makes Celery
  fall back to billiard's blocking pool, whose children share one locked
  inqueue: a child killed while it holds that lock wedges every later child,
  and the worker never runs another task.

Bindings of direct and fanout exchanges are kept in the file too, so that any
process can route a message (and `celery inspect` reaches the workers); topic
exchanges (Celery's events) stay in memory, so that events no process listens
to do not pile up.

For the cache and the budget counters that DESIGN.md also puts in the broker's
store, the same file offers atomic single statements across processes
(`INSERT ... ON CONFLICT DO UPDATE SET n = n + ? RETURNING n` for a counter,
a conditional UPDATE for a reservation), WAL readers beside one writer, and
expiry as a timestamp column. It has no pub/sub: live-update fan-out would
poll (cheaply, through `PRAGMA data_version`).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections import namedtuple
from contextlib import contextmanager
from pathlib import Path
from queue import Empty

from kombu.transport import TRANSPORT_ALIASES, virtual

ALIAS = "studio-sqlite"

binding_t = namedtuple("binding_t", ["routing_key", "pattern", "queue"])

SCHEMA = """
CREATE TABLE IF NOT EXISTS message (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    payload TEXT NOT NULL,
    visible_at REAL NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS message_ready ON message (queue, visible_at, id);
CREATE TABLE IF NOT EXISTS binding (
    exchange TEXT NOT NULL,
    routing_key TEXT NOT NULL,
    pattern TEXT NOT NULL,
    queue TEXT NOT NULL,
    PRIMARY KEY (exchange, routing_key, pattern, queue)
);
"""


def _tag(row_id: int, deliveries: int) -> str:
    # The delivery number is part of the tag: a worker whose lease ran out
    # (and whose message went to another) can neither ack nor renew it.
    return f"{row_id}.{deliveries}"


def _untag(tag: str) -> tuple[int, int]:
    row_id, deliveries = str(tag).split(".")
    return int(row_id), int(deliveries)


class QoS(virtual.QoS):
    """Acks delete the row, rejects make it visible again: nothing is re-posted."""

    def ack(self, delivery_tag):
        self.channel._ack(delivery_tag)
        super().ack(delivery_tag)

    def reject(self, delivery_tag, requeue=False):
        if requeue:
            self.channel._release([delivery_tag])
        else:
            self.channel._ack(delivery_tag)
        self._quick_ack(delivery_tag)

    def restore_unacked(self):
        # Called at a clean shutdown: what this channel still holds goes back now.
        self._flush()
        self.channel._release(list(self._delivered))
        self._delivered.clear()
        return []

    def held_tags(self) -> list[str]:
        """Tags delivered here and not yet acked (read from the event loop's thread)."""
        dirty = set(self._dirty)
        return [tag for tag in list(self._delivered) if tag not in dirty]


class Channel(virtual.Channel):
    QoS = QoS
    supports_fanout = True  # bindings persisted (see _queue_bind)

    @property
    def _transport(self) -> Transport:
        return self.connection

    # --- messages --------------------------------------------------------------------

    def _put(self, queue, message, **kwargs):
        message["properties"].pop("delivery_tag", None)  # assigned per delivery
        with self._transport.db() as db:
            db.execute(
                "INSERT INTO message (queue, payload, visible_at) VALUES (?, ?, ?)",
                (queue, json.dumps(message), time.time()),
            )

    def _get(self, queue):
        transport = self._transport
        with transport.db() as db:
            while True:
                now = time.time()
                # A read first, so that an empty poll takes no write lock; the
                # update takes the row only if no other consumer did meanwhile.
                row = db.execute(
                    "SELECT id FROM message WHERE queue = ? AND visible_at <= ? "
                    "ORDER BY id LIMIT 1",
                    (queue, now),
                ).fetchone()
                if row is None:
                    raise Empty()
                taken = db.execute(
                    "UPDATE message SET visible_at = ?, deliveries = deliveries + 1 "
                    "WHERE id = ? AND visible_at <= ? RETURNING payload, deliveries",
                    (now + transport.visibility_timeout, row[0], now),
                ).fetchone()
                if taken is not None:  # else another consumer took it first
                    break
        payload = json.loads(taken[0])
        payload["properties"]["delivery_tag"] = _tag(row[0], taken[1])
        if taken[1] > 1:
            payload["redelivered"] = True
        return payload

    def _ack(self, delivery_tag):
        row_id, deliveries = _untag(delivery_tag)
        with self._transport.db() as db:
            db.execute("DELETE FROM message WHERE id = ? AND deliveries = ?", (row_id, deliveries))

    def _release(self, delivery_tags):
        rows = [(*_untag(tag),) for tag in delivery_tags]
        if rows:
            with self._transport.db() as db:
                db.executemany(
                    "UPDATE message SET visible_at = 0 WHERE id = ? AND deliveries = ?", rows
                )

    def _renew(self):
        """Extend the leases of the messages this channel holds."""
        if self._qos is None:
            return
        tags = self._qos.held_tags()
        if tags:
            until = time.time() + self._transport.visibility_timeout
            with self._transport.db() as db:
                db.executemany(
                    "UPDATE message SET visible_at = ? WHERE id = ? AND deliveries = ?",
                    [(until, *_untag(tag)) for tag in tags],
                )

    def _size(self, queue):
        with self._transport.db() as db:
            return db.execute(
                "SELECT count(*) FROM message WHERE queue = ? AND visible_at <= ?",
                (queue, time.time()),
            ).fetchone()[0]

    def _purge(self, queue):
        with self._transport.db() as db:
            return db.execute(
                "DELETE FROM message WHERE queue = ? AND visible_at <= ?", (queue, time.time())
            ).rowcount

    def _new_queue(self, queue, **kwargs):
        pass  # a queue is its messages and bindings

    def _has_queue(self, queue, **kwargs):
        with self._transport.db() as db:
            return bool(
                db.execute("SELECT 1 FROM binding WHERE queue = ? LIMIT 1", (queue,)).fetchone()
                or db.execute("SELECT 1 FROM message WHERE queue = ? LIMIT 1", (queue,)).fetchone()
            )

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        with self._transport.db() as db:
            db.execute("DELETE FROM binding WHERE queue = ?", (queue,))
            db.execute("DELETE FROM message WHERE queue = ?", (queue,))

    # --- bindings --------------------------------------------------------------------

    def _persisted(self, exchange) -> bool:
        return self.typeof(exchange).type != "topic"

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        if self._persisted(exchange):
            with self._transport.db() as db:
                db.execute(
                    "INSERT OR IGNORE INTO binding VALUES (?, ?, ?, ?)",
                    (exchange, routing_key or "", pattern or "", queue or ""),
                )

    def queue_unbind(self, queue, exchange=None, routing_key="", arguments=None, **kwargs):
        super().queue_unbind(queue, exchange, routing_key, arguments, **kwargs)
        if exchange and self._persisted(exchange):
            with self._transport.db() as db:
                db.execute(
                    "DELETE FROM binding WHERE exchange = ? AND routing_key = ? AND queue = ?",
                    (exchange, routing_key or "", queue),
                )

    def get_table(self, exchange):
        if not self._persisted(exchange):
            return super().get_table(exchange)
        with self._transport.db() as db:
            rows = db.execute(
                "SELECT routing_key, pattern, queue FROM binding WHERE exchange = ?", (exchange,)
            ).fetchall()
        return [binding_t(*row) for row in rows]

    def _put_fanout(self, exchange, message, routing_key, **kwargs):
        for binding in self.get_table(exchange):
            self._put(binding.queue, json.loads(json.dumps(message)), **kwargs)


class Transport(virtual.Transport):
    Channel = Channel
    default_port = 0
    driver_type = "sqlite"
    driver_name = "sqlite"
    polling_interval = 0.2
    # How often the event loop asks whether another process wrote the file (a
    # message sent): a pragma read, far cheaper than a poll of every queue. The
    # poll stays the clock for what becomes ready without a write (countdowns,
    # leases that ran out).
    wake_interval = 0.02
    # sqlite3.OperationalError (a lock held beyond busy_timeout, a vanished
    # file) makes Celery reconnect, as a lost Redis connection does.
    connection_errors = (*virtual.Transport.connection_errors, sqlite3.OperationalError)
    implements = virtual.Transport.implements.extend(
        asynchronous=True,
        exchange_type=frozenset(["direct", "topic", "fanout"]),
    )

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        options = client.transport_options
        self.path = Path(options.get("path") or "broker.sqlite3")
        self.visibility_timeout = float(options.get("visibility_timeout", 30))
        self.wake_interval = float(options.get("wake_interval", self.wake_interval))
        self._data_version = None
        self._local = threading.local()
        self._timers = []
        self._loop = None
        self._backlog = True  # messages may be ready: drain on the loop's next turn

    def driver_version(self):
        return sqlite3.sqlite_version

    @contextmanager
    def db(self):
        """This thread's connection, never one inherited across a fork.

        Autocommit: each statement is atomic on its own, and a write waits
        (busy_timeout) for the lock instead of failing on a stale snapshot.
        """
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.pid, local.conn = os.getpid(), self._connect()
        yield local.conn

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(SCHEMA)
        return conn

    # --- the worker's event loop -----------------------------------------------------

    def register_with_event_loop(self, connection, loop):
        self._timers = [
            loop.call_repeatedly(self.polling_interval, self._poll),
            loop.call_repeatedly(self.wake_interval, self._wake_if_written),
            loop.call_repeatedly(self.visibility_timeout / 3, self._renew_leases),
        ]
        # While a backlog lasts, take the next message as soon as a task is
        # acked (every turn of the loop), not only at the next poll: prefetch
        # would otherwise cap a worker at prefetch/polling_interval messages a second.
        loop.on_tick.add(self._on_tick)
        self._loop = loop

    def _poll(self):
        self._backlog = True
        self._drain_ready()

    def _wake_if_written(self):
        with self.db() as db:
            version = db.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._data_version = version
            self._poll()

    def _on_tick(self):
        if self._backlog and any(c.qos.can_consume() for c in self.channels if c._consumers):
            self._drain_ready()

    def _drain_ready(self):
        # Deliver what is ready, as far as the prefetch limit allows, then yield.
        for _ in range(100):
            try:
                self.cycle.get(self._deliver)
            except Empty:
                # Nothing ready, or prefetch is full: either way the next turn waits
                # for the poll, unless this was prefetch and an ack frees room.
                self._backlog = any(c.qos.can_consume() is False for c in self.channels
                                    if c._consumers)
                return

    def _renew_leases(self):
        for channel in list(self.channels):
            channel._renew()

    def drain_events(self, connection, timeout=None):
        # The blocking path (a client's drain_events, no event loop) renews too.
        now = time.monotonic()
        if now - getattr(self, "_renewed_at", 0) > self.visibility_timeout / 3:
            self._renewed_at = now
            self._renew_leases()
        return super().drain_events(connection, timeout=timeout)

    def close_connection(self, connection):
        for timer in self._timers:
            timer.cancel()
        self._timers = []
        if self._loop is not None:
            self._loop.on_tick.discard(self._on_tick)
            self._loop = None
        super().close_connection(connection)


TRANSPORT_ALIASES[ALIAS] = "studio.broker:Transport"
