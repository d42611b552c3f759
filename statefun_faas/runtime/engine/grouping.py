"""Group commit: what concurrent callers hand in within one event-loop turn is committed together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupCommit(Generic[T]):
    """``await group.add(items)`` returns once ``commit`` stored them, together with the items that
    other coroutines added in the same loop turn; if ``commit`` raises, every caller of the group does.
    A caller cancelled while it waits does not take its items back: they are committed with the rest."""

    def __init__(self, commit: Callable[[list[T]], None]) -> None:
        self._commit = commit
        self._items: list[T] = []
        self._waiters: list[asyncio.Future[None]] = []

    async def add(self, items: Sequence[T]) -> None:
        loop = asyncio.get_running_loop()
        if not self._waiters:
            loop.call_soon(self._flush)
        self._items.extend(items)
        waiter = loop.create_future()
        self._waiters.append(waiter)
        await waiter

    def _flush(self) -> None:
        items, waiters = self._items, self._waiters
        self._items, self._waiters = [], []
        try:
            self._commit(items)
        except Exception as error:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(error)
        else:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)
