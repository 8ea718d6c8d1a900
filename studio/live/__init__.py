"""Pushed live updates: a change to a team's work reaches every open page of
that team over Server-Sent Events.

The lowest layer (it imports no other app), so that whatever bumps a team's
change counter can call `publish_on_commit`. An event carries no content, only
"team N changed (seq)": each page then asks for its own updates through the
ordinary, authorised htmx endpoints it already polls, so nothing leaks to a
stream that outlived its member.

Fan-out is one subscription per web process (studio/live/hub.py): Redis
pub/sub with REDIS_URL, otherwise an events table in the embedded broker's
SQLite file, polled by one task per process.
"""

from .publish import publish, publish_on_commit

__all__ = ["publish", "publish_on_commit"]
