"""Reads shared by the renders of one pushed change (render.py, hub.py).

When one change is rendered for 50 viewers, the changed cards' rows are the
same for all of them: only what each person may see of them differs, and
that is decided per viewer, after the read (selectors.with_card_results, the
card template). A `SharedReads` given to those renders (`sharing()`) lets a
selector read such rows once; every caller gets its own copy (unpickled), so
nothing one viewer's render sets on an object reaches another's.

A key must name everything the read depends on and nothing about the viewer:
the team, the client's cursor and the team's change_seq as the request read
it (the rows of changes up to change_seq are committed before that value is
visible, so any read made after it holds at least those changes).
"""

from __future__ import annotations

import contextlib
import contextvars
import pickle
import threading
from collections.abc import Callable, Hashable, Iterator
from typing import Any

_current: contextvars.ContextVar[SharedReads | None] = contextvars.ContextVar(
    "studio_shared_reads", default=None
)


class SharedReads:
    """One change's memo: each key read once, each caller given a fresh copy."""

    def __init__(self):
        self._lock = threading.Lock()
        self._blobs: dict[Hashable, bytes] = {}
        self.reads = 0  # how many keys were read (the rest were copies), for tests

    def get(self, key: Hashable, read: Callable[[], Any]) -> Any:
        # Held while reading: a render beside the first one waits for its rows
        # rather than reading them a second time.
        with self._lock:
            blob = self._blobs.get(key)
            if blob is None:
                blob = self._blobs[key] = pickle.dumps(read(), pickle.HIGHEST_PROTOCOL)
                self.reads += 1
        return pickle.loads(blob)


def current() -> SharedReads | None:
    return _current.get()


@contextlib.contextmanager
def sharing(reads: SharedReads | None) -> Iterator[None]:
    """Selectors called inside may share `reads` (None: each reads for itself)."""
    token = _current.set(reads)
    try:
        yield
    finally:
        _current.reset(token)
