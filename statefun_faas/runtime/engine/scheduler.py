"""Which addresses are being delivered: one task per address at most, and at most ``limit`` at once.

Addresses woken beyond the limit wait in order (an address is a few bytes; a task is not), so a restart
with messages waiting for 100,000 addresses does not start 100,000 tasks. An address woken while it is
being delivered is remembered in ``rewoken``, so its drain knows to look at its inbox once more. An
address whose drain failed (e.g. its answer's commit met a full disk) is woken again by :meth:`retry_later`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from statefun_faas.runtime.records import Address
from statefun_faas.runtime.supervisor import next_delay

DEFAULT_LIMIT = 1024


class Scheduler:
    def __init__(self, drain: Callable[[Address], Awaitable[None]], limit: int = DEFAULT_LIMIT) -> None:
        self._drain, self.limit = drain, limit
        self.busy: dict[Address, asyncio.Task[None]] = {}
        self._waiting: dict[Address, None] = {}  # an ordered set
        self.rewoken: set[Address] = set()
        self._backoff: dict[Address, float] = {}  # addresses whose last drain failed: the delay before the next
        self._retries: dict[Address, asyncio.TimerHandle] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def wake(self, addresses: Iterable[Address]) -> None:
        busy = self.busy
        for address in addresses:
            if address in busy:
                self.rewoken.add(address)
            else:
                self._waiting[address] = None
        self._start()

    def _start(self) -> None:
        loop = None
        while self._waiting and len(self.busy) < self.limit:
            address = next(iter(self._waiting))
            del self._waiting[address]
            loop = loop or asyncio.get_running_loop()
            self.busy[address] = loop.create_task(self._run(address))
        if self.busy:
            self._idle.clear()

    async def _run(self, address: Address) -> None:
        try:
            await self._drain(address)
        finally:
            del self.busy[address]
            self.rewoken.discard(address)
            if address not in self._retries:  # the drain went well
                self._backoff.pop(address, None)
            self._start()
            if not self.busy:
                self._idle.set()

    def retry_later(self, address: Address) -> None:
        """Wake ``address`` again after a backoff that doubles while its drains keep failing: its messages
        wait in its inbox, and no new message may come to wake it."""
        delay = self._backoff[address] = next_delay(self._backoff.get(address))
        earlier = self._retries.get(address)
        if earlier is not None:
            earlier.cancel()
        self._retries[address] = asyncio.get_running_loop().call_later(delay, self._retry, address)

    def _retry(self, address: Address) -> None:
        del self._retries[address]
        self.wake((address,))

    def take_rewoken(self, address: Address) -> bool:
        """Whether ``address`` was woken since the last call (new messages may wait for it); clears the mark."""
        if address in self.rewoken:
            self.rewoken.remove(address)
            return True
        return False

    async def quiescent(self) -> None:
        """Wait until no address has messages in flight or waiting to start."""
        while self.busy or self._waiting:
            await self._idle.wait()

    async def close(self) -> None:
        self._waiting.clear()
        for handle in self._retries.values():
            handle.cancel()
        self._retries.clear()
        tasks = list(self.busy.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
