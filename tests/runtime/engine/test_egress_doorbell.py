"""The egress forwarders' doorbell: a record a commit stores wakes its egress's forwarder at once, where it
looked only every ``idle_s`` before (the Kafka forwarder's 0.2 s showed as ~100 ms of median latency in
benchmarks/engine.py). The idle wait here is a minute, so only the bell can end it within the test."""

from __future__ import annotations

import asyncio
from pathlib import Path

from statefun_faas.runtime.engine.egress import Doorbell, oldest_records
from statefun_faas.runtime.records import Address, EgressRecord, Writes
from statefun_faas.runtime.store.database import Store
from tests.runtime.stores import close_opened_stores, opened  # noqa: F401 (an autouse fixture)

IDLE_S = 60.0
RECORD = EgressRecord("example/out", "", "test/text", b"hello")


def store_record(store: Store, record: EgressRecord) -> None:
    store.apply(Writes(Address("example/f", "a"), [], [], [], [], [], [record], []))


def test_a_stored_record_rings_its_forwarder_awake(tmp_path: Path) -> None:
    store, doorbell = opened(Store(tmp_path / "state.db")), Doorbell()

    async def go() -> list[tuple[int, EgressRecord]]:
        waiting = asyncio.create_task(oldest_records(store, RECORD.egress_id, IDLE_S, 10, doorbell))
        await asyncio.sleep(0.05)  # the forwarder looked, found nothing, and waits
        assert not waiting.done()
        store_record(store, RECORD)
        doorbell.ring(RECORD)
        return await asyncio.wait_for(waiting, 10)

    assert [record for _, record in asyncio.run(go())] == [RECORD]


def test_another_egress_ringing_leaves_a_forwarder_waiting(tmp_path: Path) -> None:
    store, doorbell = opened(Store(tmp_path / "state.db")), Doorbell()
    other = EgressRecord("example/other", "", "test/text", b"x")

    async def go() -> bool:
        waiting = asyncio.create_task(oldest_records(store, RECORD.egress_id, IDLE_S, 10, doorbell))
        await asyncio.sleep(0.05)
        store_record(store, other)
        doorbell.ring(other)
        await asyncio.sleep(0.2)
        done = waiting.done()
        waiting.cancel()
        return done

    assert asyncio.run(go()) is False


def test_a_ring_between_the_look_and_the_wait_is_not_lost(tmp_path: Path) -> None:
    """The bell is cleared before each look: a ring that comes before the wait starts still ends it."""
    store, doorbell = opened(Store(tmp_path / "state.db")), Doorbell()

    class RingingStore:
        """Stores and rings the first time the forwarder looks, after the look found nothing."""

        def __init__(self) -> None:
            self.looks = 0

        def peek_egress(self, egress_id: str, limit: int) -> list[tuple[int, EgressRecord]]:
            found = store.peek_egress(egress_id, limit)
            self.looks += 1
            if self.looks == 1:
                store_record(store, RECORD)
                doorbell.ring(RECORD)
            return found

    async def go() -> list[tuple[int, EgressRecord]]:
        return await asyncio.wait_for(oldest_records(RingingStore(), RECORD.egress_id, IDLE_S, 10, doorbell), 10)  # type: ignore[arg-type]

    assert [record for _, record in asyncio.run(go())] == [RECORD]
