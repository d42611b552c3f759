"""State expiry: a supervised task of the runtime ("state expiry") deletes the state rows whose time ran out.

Reads already skip an expired value (see :mod:`statecache`), so this only gives the rows' space back; a run
stopped by an error (e.g. a write lock held past the busy timeout) tries again a period later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from statefun_faas.runtime.store.database import Store

#: seconds between two deletions of expired state
EXPIRE_EVERY_S = 30.0


async def expire_state(store: Store, clock: Callable[[], float]) -> None:
    """Every ``EXPIRE_EVERY_S`` seconds, delete the state expired at ``clock()``; runs until cancelled."""
    while True:
        await asyncio.sleep(EXPIRE_EVERY_S)
        store.expire(clock())
