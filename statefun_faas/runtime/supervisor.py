"""Background tasks that outlive their errors.

A background loop of the runtime (the delayed-message timer, the module watcher, a Kafka or Kinesis
consumer or forwarder) meets the outside world: SQLite answers ``database is locked`` when another
process holds the write lock past the busy timeout, or ``database or disk is full``. Such an error
must not end the loop for good: :func:`supervise` logs what stopped and why, then starts the loop
again after a backoff (``FIRST_DELAY_S`` doubling up to ``MAX_DELAY_S``). Cancelling the task (a stop)
ends it cleanly.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Coroutine
from typing import Any

logger = logging.getLogger("statefun_faas.runtime")

FIRST_DELAY_S = 0.1
MAX_DELAY_S = 5.0
#: errors of the environment (a held lock, a full disk): one line; anything else is ours and gets its traceback
ENVIRONMENT_ERRORS = (sqlite3.Error, OSError)


def next_delay(delay: float | None) -> float:
    """The backoff after ``delay`` (None: the first one)."""
    return FIRST_DELAY_S if delay is None else min(delay * 2, MAX_DELAY_S)


def supervise(name: str, factory: Callable[[], Coroutine[Any, Any, None]]) -> asyncio.Task[None]:
    """Run ``factory()`` in a task, again after every error; the task ends when a run returns or it is cancelled."""
    return asyncio.get_running_loop().create_task(_supervised(name, factory), name=name)


async def _supervised(name: str, factory: Callable[[], Coroutine[Any, Any, None]]) -> None:
    loop = asyncio.get_running_loop()
    delay: float | None = None
    while True:
        started = loop.time()
        try:
            return await factory()
        except Exception as error:
            if loop.time() - started > MAX_DELAY_S:  # it ran well for a while: this is a new failure
                delay = None
            delay = next_delay(delay)
            logger.error(
                "%s stopped by an error, restarting in %g s: %s: %s",
                name,
                delay,
                type(error).__name__,
                error,
                exc_info=not isinstance(error, ENVIRONMENT_ERRORS),
            )
        await asyncio.sleep(delay)
