"""Ingress backpressure: new ingress messages wait while the inboxes already hold ``limit`` messages.

Without it, an ingress that acknowledges faster than functions answer grows the inboxes (and every
message's latency) without bound. The limit adapts, the way TCP Vegas sizes its window from delays:
every ``interval`` it compares how long messages took from being stored to being applied (the shortest
time seen in the interval) with how long a function call takes at best (the shortest seen lately).
Messages taking much longer than a call means they queue in the runtime: the limit shrinks (never
below ``floor``). No queue while ingress was held back: it grows. So slow functions on a FaaS platform
get a deep limit (many calls in flight), fast local ones a shallow one (low latency), and a hot address
still gets batches of up to ``floor`` messages.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

FLOOR, START, CEILING = 8, 64, 100_000
INTERVAL_S = 0.05
SLACK_S = 0.005  # queueing up to twice the best call time plus this counts as no queue
BASE_WINDOW_S = 10.0  # how long the best call time is remembered


class Valve:
    def __init__(self, pending: Callable[[], int], clock: Callable[[], float] = time.monotonic) -> None:
        self.pending, self.clock = pending, clock
        self.limit = START
        self.admitting = 0  # admitted messages not stored yet
        self._waiting: deque[tuple[asyncio.Future[None], int]] = deque()  # first come, first in
        self._held = False  # ingress waited during this interval
        self._interval_start = clock()
        self._shortest = float("inf")  # stored-to-applied, this interval
        self._base, self._base_at = float("inf"), 0.0

    async def admit(self, count: int) -> None:
        """Wait until ``count`` more messages fit; the caller must call :meth:`stored` once it stored them."""
        if not self._waiting and self._fits():
            self.admitting += count
            return
        self._held = True
        admitted = asyncio.get_running_loop().create_future()
        self._waiting.append((admitted, count))
        try:
            await admitted
        except asyncio.CancelledError:
            if admitted.done() and not admitted.cancelled():  # let in, then cancelled: give the room back
                self.stored(count)
            raise

    def stored(self, count: int) -> None:
        self.admitting -= count
        self.changed()

    def changed(self) -> None:
        """The inboxes shrank or the limit moved: let in the waiting ingress that fits now, oldest first."""
        waiting = self._waiting
        while waiting and self._fits():
            admitted, count = waiting.popleft()
            if not admitted.done():  # not cancelled while it waited
                self.admitting += count
                admitted.set_result(None)

    def _fits(self) -> bool:
        return self.pending() + self.admitting < self.limit

    def observe(self, stored_to_applied: float, call: float) -> None:
        """One applied batch: how long its oldest message took since stored, and its function call."""
        now = self.clock()
        if call < self._base or now - self._base_at > BASE_WINDOW_S:
            self._base, self._base_at = call, now
        self._shortest = min(self._shortest, stored_to_applied)
        if now - self._interval_start >= INTERVAL_S:
            self._adjust()
            self._interval_start, self._shortest, self._held = now, float("inf"), False

    def _adjust(self) -> None:
        if self._shortest > 2 * self._base + SLACK_S:
            self.limit = max(FLOOR, int(self.limit * 0.75))
        elif self._held:
            self.limit = min(CEILING, self.limit * 2)
            self.changed()
