"""The scheduler: one task per address, at most ``limit`` addresses at once, none forgotten."""

from __future__ import annotations

import asyncio

from statefun_faas.runtime.engine.scheduler import Scheduler
from statefun_faas.runtime.records import Address


def test_limit_one_task_per_address_and_quiescence() -> None:
    running: set[Address] = set()
    seen: list[Address] = []
    peak = 0

    async def drain(address: Address) -> None:
        nonlocal peak
        assert address not in running
        running.add(address)
        peak = max(peak, len(running))
        seen.append(address)
        await asyncio.sleep(0.001)
        running.discard(address)

    async def go() -> None:
        scheduler = Scheduler(drain, limit=4)
        addresses = [Address("t/f", str(i)) for i in range(50)]
        scheduler.wake(addresses)
        scheduler.wake(addresses[:4])  # busy ones are not started twice
        await scheduler.quiescent()
        assert not scheduler.busy

    asyncio.run(go())
    assert peak == 4
    assert sorted(seen, key=lambda a: int(a.id)) == [Address("t/f", str(i)) for i in range(50)]
