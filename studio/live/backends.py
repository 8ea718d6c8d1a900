"""Where events go between processes: Redis pub/sub, or a table in the
embedded broker's SQLite file. Both sides (publish, and the hub's one
subscription per web process) live here, so they cannot drift apart."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path

from django.conf import settings

# Events older than this are pruned from the embedded table; a process that
# was away longer catches up through the page's own refresh on reconnect.
EMBEDDED_KEEP_SECONDS = 120.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS live_event (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    team_id INTEGER NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    created REAL NOT NULL
);
"""


def channel() -> str:
    # One channel for every team: a process subscribes once, whatever the team count.
    return f"{settings.REDIS_KEY_PREFIX}studio:live"


def uses_redis() -> bool:
    return bool(settings.REDIS_URL)


def encode(team_id: int, event: str, payload: dict) -> str:
    return json.dumps({"team": team_id, "event": event, "payload": payload})


def decode(raw: str | bytes) -> tuple[int, str, dict] | None:
    try:
        message = json.loads(raw)
        return int(message["team"]), str(message["event"]), dict(message["payload"])
    except (ValueError, KeyError, TypeError):
        return None


# --- Redis --------------------------------------------------------------------------

_redis_lock = threading.Lock()
_redis_clients: dict[str, object] = {}


def _redis():
    import redis

    url = settings.REDIS_URL
    with _redis_lock:
        if url not in _redis_clients:
            _redis_clients[url] = redis.Redis.from_url(
                url, socket_timeout=2, socket_connect_timeout=2
            )
        return _redis_clients[url]


def redis_publish(message: str) -> None:
    _redis().publish(channel(), message)


# --- embedded (SQLite) --------------------------------------------------------------


def embedded_path() -> Path:
    return Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("path") or "broker.sqlite3")


def embedded_connect(path: Path | None = None) -> sqlite3.Connection:
    path = path or embedded_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(SCHEMA)
    return conn


_local = threading.local()


def embedded_publish(team_id: int, message: str) -> None:
    path = embedded_path()
    conn = getattr(_local, "conn", None)
    # A connection is never used across a fork (Celery's prefork children).
    if conn is None or getattr(_local, "key", None) != (path, os.getpid()):
        conn = _local.conn = embedded_connect(path)
        _local.key = (path, os.getpid())
    now = time.time()
    conn.execute(
        "INSERT INTO live_event (team_id, event, payload, created) VALUES (?, '', ?, ?)",
        (team_id, message, now),
    )
    # Pruning is one indexed-by-rowid delete; do it now and then, not on every write.
    if int(now * 1000) % 50 == 0:
        conn.execute("DELETE FROM live_event WHERE created < ?", (now - EMBEDDED_KEEP_SECONDS,))


def embedded_last_id(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT COALESCE(MAX(id), 0) FROM live_event").fetchone()[0]


def embedded_read_after(conn: sqlite3.Connection, last_id: int) -> list[tuple[int, str]]:
    return conn.execute(
        "SELECT id, payload FROM live_event WHERE id > ? ORDER BY id LIMIT 1000", (last_id,)
    ).fetchall()
