"""Ingress backpressure: new ingress messages wait while the inboxes already hold ``limit`` messages.

Without it, an ingress that acknowledges faster than functions answer grows the inboxes (and every
message's latency) without bound. The limit adapts, the way TCP Vegas sizes its window from delays:
every ``interval`` it compares how long messages took from being stored to being applied (the shortest
time seen in the interval) with how long a function call takes at best (the shortest seen lately).
Messages taking much longer than a call means they queue in the runtime: the limit shrinks (never
below ``floor``). No queue while ingress was held back: it grows. So slow functions on a FaaS platform
get a deep limit (many calls in flight), fast local ones a shallow one (low latency), and a hot address
still gets batches of up to ``floor`` messages.

An address in retry or backoff is parked (:meth:`Valve.park`): its inbox can not drain until the retry
ends, so its messages stop counting and one stuck key never holds back other keys' ingress. Its own
ingress still goes in while its inbox holds fewer than ``limit`` messages; beyond, that ingress waits
aside (not acknowledged, so nothing acknowledged is lost) until the address leaves the retry
(:meth:`Valve.unpark`), when its messages count again. So a parked inbox holds about ``limit`` messages at
most, and all inboxes together never more than ``MOST``, parked or not.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence

from statefun_faas.runtime.records import Address

FLOOR, START, CEILING = 8, 64, 100_000
INTERVAL_S = 0.05
SLACK_S = 0.005  # queueing up to twice the best call time plus this counts as no queue
BASE_WINDOW_S = 10.0  # how long the best call time is remembered
MOST = 1_000_000  # messages all inboxes hold at most, parked ones included, however many keys are stuck

#: one ingress request waiting: resolved when its messages (one per target) are let in
Ticket = tuple[asyncio.Future[None], Sequence[Address]]


class Valve:
    """``pending`` counts the messages in all inboxes, ``inbox_size(address)`` those in one (read when it parks)."""

    def __init__(
        self,
        pending: Callable[[], int],
        inbox_size: Callable[[Address], int],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pending, self.inbox_size, self.clock = pending, inbox_size, clock
        self.limit = START
        self.admitting = 0  # admitted messages not stored yet
        self._waiting: deque[Ticket] = deque()  # first come, first in
        self._parked: dict[Address, int] = {}  # addresses in retry or backoff: their messages stored or admitted
        self._parked_total = 0
        self._aside: dict[Address, list[Ticket]] = {}  # ingress for a parked address whose inbox is full
        self._held = False  # ingress waited during this interval
        self._interval_start = clock()
        self._shortest = float("inf")  # stored-to-applied, this interval
        self._base, self._base_at = float("inf"), 0.0

    @property
    def parked_addresses(self) -> int:
        """Addresses in retry or backoff, whose messages do not count (StateFun's numBlockedAddress)."""
        return len(self._parked)

    @property
    def held_requests(self) -> int:
        """Ingress requests waiting to be let in, those stepped aside for a parked address included."""
        tickets = [*self._waiting, *(ticket for aside in self._aside.values() for ticket in aside)]
        return sum(not admitted.done() for admitted, _ in tickets)

    async def admit(self, targets: Sequence[Address]) -> None:
        """Wait until one message per target fits; the caller must call :meth:`stored` once it stored them."""
        if not self._waiting and self._fits() and self._full(targets) is None:
            self._enter(targets, 1)
            return
        admitted = asyncio.get_running_loop().create_future()
        self._waiting.append((admitted, targets))
        self.changed()
        try:
            await admitted
        except asyncio.CancelledError:
            if admitted.done() and not admitted.cancelled():  # let in, then cancelled: give the room back
                self._enter(targets, -1)
                self.changed()
            raise

    def stored(self, count: int) -> None:
        self.admitting -= count
        self.changed()

    def changed(self) -> None:
        """The inboxes shrank or the limit moved: let in the waiting ingress that fits now, oldest first. A
        request for a parked address whose inbox is full steps aside, so it holds back no one behind it."""
        waiting = self._waiting
        while waiting and self._fits():
            ticket = waiting.popleft()
            admitted, targets = ticket
            if admitted.done():  # cancelled while it waited
                continue
            full = self._full(targets)
            if full is not None:
                self._aside.setdefault(full, []).append(ticket)
                continue
            self._enter(targets, 1)
            admitted.set_result(None)
        if waiting:
            self._held = True

    def park(self, address: Address) -> None:
        """``address`` is in retry or backoff: its inbox can not drain until :meth:`unpark`, so its messages
        stop counting and other addresses' ingress may take their place."""
        if address not in self._parked:
            count = self._parked[address] = self.inbox_size(address)
            self._parked_total += count
            self.changed()

    def unpark(self, address: Address) -> None:
        """``address`` left its retry: its messages count again, and its ingress that waited aside goes back
        to the front of the line (it came before whatever waits there now)."""
        count = self._parked.pop(address, None)
        if count is not None:
            self._parked_total -= count
            self._waiting.extendleft(reversed(self._aside.pop(address, [])))
            self.changed()

    def _fits(self) -> bool:
        stored_or_admitted = self.pending() + self.admitting
        return stored_or_admitted - self._parked_total < self.limit and stored_or_admitted < MOST

    def _full(self, targets: Sequence[Address]) -> Address | None:
        """The first of ``targets`` that is parked with ``limit`` messages or more, if any."""
        parked, limit = self._parked, self.limit
        if parked:
            for target in targets:
                if parked.get(target, 0) >= limit:
                    return target
        return None

    def _enter(self, targets: Sequence[Address], sign: int) -> None:
        """Count ``targets``' messages in (``sign`` 1) or back out (-1): admitted, and parked if theirs is."""
        self.admitting += sign * len(targets)
        parked = self._parked
        if parked:
            for target in targets:
                if target in parked:
                    parked[target] += sign
                    self._parked_total += sign

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
