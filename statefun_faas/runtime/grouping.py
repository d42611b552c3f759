"""Group commit: what concurrent callers hand in within one event-loop turn is committed together."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupCommit(Generic[T]):
    """``await group.add(items)`` returns once ``commit`` stored them, together with the items that
    other coroutines added in the same loop turn; if ``commit`` raises, every caller of the group does."""

    def __init__(self, commit: Callable[[list[T]], None]) -> None:
        self._commit = commit
        self._items: list[T] = []
        self._done: asyncio.Future[None] | None = None

    async def add(self, items: Sequence[T]) -> None:
        done = self._done
        if done is None:
            loop = asyncio.get_running_loop()
            done = self._done = loop.create_future()
            loop.call_soon(self._flush)
        self._items.extend(items)
        await asyncio.shield(done)

    def _flush(self) -> None:
        items, done = self._items, self._done
        self._items, self._done = [], None
        if done is None:
            return
        try:
            self._commit(items)
        except Exception as error:
            done.set_exception(error)
        else:
            done.set_result(None)
