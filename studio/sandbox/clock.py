"""The sandbox's time: what "now" is, and one thread that runs callbacks when they fall due.

Executions change status by themselves (state.py derives it from the time),
but webhooks must go out when that happens even if nobody polls. So each new
execution books a callback for the moment it ends, and webhook deliveries and
file analyses book their work here too. Callbacks run on this one thread and
must be quick: anything slow (an HTTP delivery, drawing an image) is handed to
a worker through `Scheduler.submit`, which counts it as work in flight.

Every part of the sandbox reads the time from one `Clock`. The real one follows
the system; a `ManualClock` (``--manual-clock``) stands still until a test
advances it (``POST /_admin/clock``), and `Scheduler.advance` then returns
only once everything that fell due, and the work it handed on, is finished.
So a test can say "a minute later, nothing more came" without sleeping, and a
late event is seen, not missed.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

logger = logging.getLogger("studio.sandbox")


class Clock:
    """The system's clocks."""

    manual = False

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()


class ManualClock(Clock):
    """Time that moves only when told: it starts at the system's wall time, frozen."""

    manual = True

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._start = time.time() if start is None else start
        self._elapsed = 0.0

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def time(self) -> float:
        with self._lock:
            return self._start + self._elapsed

    def move_to(self, elapsed: float) -> None:
        with self._lock:
            self._elapsed = max(self._elapsed, elapsed)

    def restart(self) -> None:
        """Back to the system's wall time, as new (for a reset of the whole sandbox)."""
        with self._lock:
            self._start = time.time()
            self._elapsed = 0.0


class Scheduler:
    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self._condition = threading.Condition()
        # (due, tie-breaker, callback): the counter keeps equal times in booking order.
        self._heap: list[tuple[float, int, Callable[[], object]]] = []
        self._order = itertools.count()
        self._closed = False
        self._busy = 0  # callbacks running, plus work handed on and not finished
        self._thread = threading.Thread(
            target=self._run, name="videogen-sandbox-clock", daemon=True
        )
        self._thread.start()

    def call_at(self, due: float, callback: Callable[[], object]) -> None:
        """Run `callback` at monotonic time `due` (at once if that has passed)."""
        with self._condition:
            heapq.heappush(self._heap, (due, next(self._order), callback))
            self._condition.notify_all()

    def call_later(self, delay: float, callback: Callable[[], object]) -> None:
        self.call_at(self.clock.monotonic() + delay, callback)

    def submit(self, executor: Executor, work: Callable[..., Any], *args: Any) -> None:
        """Run `work` on `executor`, counted as in flight until it returns."""
        with self._condition:
            self._busy += 1
        try:
            future: Future[Any] = executor.submit(work, *args)
        except RuntimeError:  # shutting down
            self._done()
            return
        future.add_done_callback(lambda _: self._done())

    def advance(self, seconds: float, settle_timeout: float = 30.0) -> float:
        """Move a manual clock on, and wait until all that fell due has run; the new time.

        Time goes from one booked moment to the next, each callback running at its own
        due time (so what it books in turn, a retry's backoff, counts from then), as if
        the time had passed; it makes no difference how a test slices its advances.
        """
        clock = self.clock
        if not isinstance(clock, ManualClock):
            raise RuntimeError("only a manual clock can be advanced")
        target = clock.monotonic() + seconds
        self.settle(settle_timeout)
        while True:
            with self._condition:
                if not self._heap or self._heap[0][0] > target:
                    break
                clock.move_to(self._heap[0][0])
                self._condition.notify_all()
            self.settle(settle_timeout)
        with self._condition:
            clock.move_to(target)
            self._condition.notify_all()
        self.settle(settle_timeout)
        return clock.monotonic()

    def settle(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is due and nothing is in flight; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._due_now() or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(min(remaining, 0.05))
        return True

    def restart(self) -> None:
        """Forget every booked callback and restart a manual clock: a reset's fresh start.

        (A real clock keeps its bookings: they find their records gone and do nothing.)
        """
        if not isinstance(self.clock, ManualClock):
            return
        self.settle()
        with self._condition:
            self._heap.clear()
            self.clock.restart()

    def pending(self) -> list[float]:
        """The due times of the callbacks still booked, soonest first."""
        with self._condition:
            return sorted(due for due, _, _ in self._heap)

    def close(self) -> None:
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._thread.join(timeout=2)

    def _due_now(self) -> bool:
        return bool(self._heap) and self._heap[0][0] <= self.clock.monotonic()

    def _done(self) -> None:
        with self._condition:
            self._busy -= 1
            self._condition.notify_all()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._closed and not self._due_now():
                    if self._heap and not self.clock.manual:
                        self._condition.wait(self._heap[0][0] - self.clock.monotonic())
                    else:
                        self._condition.wait()  # a manual clock notifies when it moves
                if self._closed:
                    return
                _, _, callback = heapq.heappop(self._heap)
                self._busy += 1
            try:
                callback()
            except Exception:  # one broken callback must not stop the clock
                logger.exception("A scheduled sandbox task failed")
            finally:
                self._done()
