"""Pushed live updates: a change to a team's work reaches every open page of
that team over Server-Sent Events.

The lowest layer (it imports no other app), so that whatever bumps a team's
change counter can call `publish_on_commit`. What is published carries no
content, only "team N changed (seq)". Most pages then ask for their own
updates through the ordinary, authorised htmx endpoints they already poll.
The studio page's stream gets the cards themselves: the hub renders that same
endpoint once per viewer, as that viewer's own request (studio/live/render.py),
so nothing reaches a stream that its own request would not be shown.

Fan-out is one subscription per web process (studio/live/hub.py): Redis
pub/sub with REDIS_URL, otherwise an events table in the embedded broker's
SQLite file, polled by one task per process.
"""

from .publish import publish, publish_on_commit

__all__ = ["publish", "publish_on_commit"]
