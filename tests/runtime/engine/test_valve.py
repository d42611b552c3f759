"""Ingress backpressure: clients are held while the inboxes are full, nothing is lost, the limit adapts."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import pytest

from statefun_faas.runtime.engine import valve
from statefun_faas.runtime.engine.valve import Valve
from statefun_faas.runtime.records import Envelope, Writes
from tests.runtime.apps import functions
from tests.runtime.servers import PLAYGROUND_IO, FunctionServer, endpoint, put, running, take


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_admission_waits_for_room_and_resumes_when_the_inboxes_shrink() -> None:
    asyncio.run(_admission())


async def _admission() -> None:
    pending = [valve.START - 1]
    gate = Valve(lambda: pending[0])
    await gate.admit(1)  # the last free place
    gate.stored(1)
    pending[0] += 1
    waiting = asyncio.ensure_future(gate.admit(1))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    pending[0] -= 1
    gate.changed()
    await asyncio.wait_for(waiting, 1)
    assert gate.admitting == 1


def test_waiting_ingress_goes_in_first_come_first_in_and_a_cancelled_one_takes_no_room() -> None:
    asyncio.run(_order())


async def _order() -> None:
    pending = [valve.START]
    gate = Valve(lambda: pending[0])
    order: list[str] = []

    async def ingress(name: str) -> None:
        await gate.admit(1)
        order.append(name)

    first, quitter, second = (asyncio.ensure_future(ingress(name)) for name in ("first", "quitter", "second"))
    await asyncio.sleep(0.01)
    quitter.cancel()
    pending[0] -= 2  # room for two
    gate.changed()
    await asyncio.wait_for(asyncio.gather(first, second), 1)
    assert order == ["first", "second"]
    assert quitter.cancelled()
    assert gate.admitting == 2


def test_a_standing_queue_shrinks_the_limit_down_to_the_floor_only() -> None:
    clock = Clock()
    gate = Valve(lambda: 0, clock)
    for _ in range(40):
        clock.now += valve.INTERVAL_S * 1.01
        gate.observe(stored_to_applied=0.2, call=0.001)  # messages wait far longer than a call takes
    assert gate.limit == valve.FLOOR


def test_slow_calls_without_a_queue_let_a_held_ingress_go_deeper() -> None:
    clock = Clock()
    gate = Valve(lambda: 0, clock)
    for _ in range(5):
        gate._held = True  # an ingress request waited in this interval
        clock.now += valve.INTERVAL_S * 1.01
        gate.observe(stored_to_applied=0.055, call=0.05)  # a FaaS function's 50 ms is no queue
    assert gate.limit == valve.START * 2**5


def test_held_clients_lose_nothing_and_the_inboxes_stay_within_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("FLOOR", "START", "CEILING"):
        monkeypatch.setattr(valve, name, 8)
    most, counts = asyncio.run(_held(tmp_path))
    assert 0 < most <= 8
    assert len(counts) == 100
    assert sorted(int(line.split(":")[1]) for line in counts) == sorted(list(range(1, 11)) * 10)


async def _held(tmp_path: Path) -> tuple[int, list[str]]:
    """100 concurrent ingress requests to 10 keys of a slow function; the most messages the inboxes held."""
    server = FunctionServer(functions, pause=0.01)
    async with server.serving():
        url = f"http://127.0.0.1:{server.port}/statefun"
        async with running(tmp_path, endpoint("test/*", url) + PLAYGROUND_IO) as runtime:
            most, commit = 0, runtime.store.commit

            def counting_commit(envelopes: Sequence[Envelope], responses: Sequence[Writes]) -> None:
                nonlocal most
                commit(envelopes, responses)
                most = max(most, runtime.store.pending)

            runtime.store.commit = counting_commit  # type: ignore[method-assign]
            port = runtime.ports["ingress"]
            async with aiohttp.ClientSession() as session:
                statuses = await asyncio.gather(
                    *(put(session, port, f"test/counter/k{i % 10}", f"m{i}") for i in range(100))
                )
                assert statuses == [200] * 100
                counts = await take(session, runtime.ports["egress"], "counts", 100)
    return most, counts
