"""Counters behind ``GET /_admin/stats``, for tests that count what reached the "API".

Sections: ``executions`` (created, per tool type), ``requests`` (per
endpoint, as "METHOD /template"), ``responses`` (per status), ``injected``
(faults that hit a request, per kind), and ``webhooks`` (delivery attempts
and what became of them). Calls of /_admin itself are not counted.
"""

from __future__ import annotations

import threading
from collections import Counter

# Always shown, so a test can read a zero without a default.
WEBHOOK_COUNTERS = (
    "attempted",  # HTTP attempts sent (retries included)
    "succeeded",  # attempts answered 2xx
    "failed",  # attempts answered otherwise, or timed out, or not connected
    "exhausted",  # deliveries given up after the last attempt
    "dropped",  # deliveries never sent (fault)
    "delayed",  # deliveries held back (fault)
    "duplicated",  # deliveries sent twice with one webhook-id (fault)
    "reordered",  # deliveries held back or sent after a later event (fault)
)
SECTIONS = ("executions", "requests", "responses", "injected", "webhooks")


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, Counter[str]] = {name: Counter() for name in SECTIONS}

    def count(self, section: str, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counters[section][name] += amount

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            document = {
                name: dict(sorted(counter.items())) for name, counter in self._counters.items()
            }
        document["webhooks"] = {
            name: document["webhooks"].get(name, 0) for name in WEBHOOK_COUNTERS
        }
        return document

    def clear(self) -> None:
        with self._lock:
            for counter in self._counters.values():
                counter.clear()
