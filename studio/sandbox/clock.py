"""The sandbox's active clock: one background thread that runs callbacks when they fall due.

Executions change status by themselves (state.py derives it from the time),
but webhooks must go out when that happens even if nobody polls. So each new
execution books a callback for the moment it ends, and webhook deliveries
book their attempts here too. Callbacks run on this one thread and must be
quick: anything slow (an HTTP delivery) is handed on to a worker.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("studio.sandbox")


class Scheduler:
    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._condition = threading.Condition()
        # (due, tie-breaker, callback): the counter keeps equal times in booking order.
        self._heap: list[tuple[float, int, Callable[[], object]]] = []
        self._order = itertools.count()
        self._closed = False
        self._thread = threading.Thread(
            target=self._run, name="videogen-sandbox-clock", daemon=True
        )
        self._thread.start()

    def call_at(self, due: float, callback: Callable[[], object]) -> None:
        """Run `callback` at monotonic time `due` (at once if that has passed)."""
        with self._condition:
            heapq.heappush(self._heap, (due, next(self._order), callback))
            self._condition.notify()

    def call_later(self, delay: float, callback: Callable[[], object]) -> None:
        self.call_at(self._monotonic() + delay, callback)

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._closed:
                    now = self._monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        break
                    self._condition.wait(self._heap[0][0] - now if self._heap else None)
                if self._closed:
                    return
                _, _, callback = heapq.heappop(self._heap)
            try:
                callback()
            except Exception:  # one broken callback must not stop the clock
                logger.exception("A scheduled sandbox task failed")
