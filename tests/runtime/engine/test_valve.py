"""Ingress backpressure: clients are held while the inboxes are full, nothing is lost, the limit adapts, and a key
in retry holds back no other key's ingress."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from statefun_faas import _wire
from statefun_faas.runtime.engine import valve
from statefun_faas.runtime.engine.valve import Valve
from statefun_faas.runtime.records import Address, Envelope, Writes
from tests.runtime.apps import functions
from tests.runtime.servers import PLAYGROUND_IO, FunctionServer, endpoint, put, running, take

KEY = Address("test/counter", "k")


def empty_inbox(_: Address) -> int:
    return 0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_admission_waits_for_room_and_resumes_when_the_inboxes_shrink() -> None:
    asyncio.run(_admission())


async def _admission() -> None:
    pending = [valve.START - 1]
    gate = Valve(lambda: pending[0], empty_inbox)
    await gate.admit([KEY])  # the last free place
    gate.stored(1)
    pending[0] += 1
    waiting = asyncio.ensure_future(gate.admit([KEY]))
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
    gate = Valve(lambda: pending[0], empty_inbox)
    order: list[str] = []

    async def ingress(name: str) -> None:
        await gate.admit([KEY])
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
    gate = Valve(lambda: 0, empty_inbox, clock)
    for _ in range(40):
        clock.now += valve.INTERVAL_S * 1.01
        gate.observe(stored_to_applied=0.2, call=0.001)  # messages wait far longer than a call takes
    assert gate.limit == valve.FLOOR


def test_slow_calls_without_a_queue_let_a_held_ingress_go_deeper() -> None:
    clock = Clock()
    gate = Valve(lambda: 0, empty_inbox, clock)
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


def test_a_parked_address_holds_back_no_other_key_and_its_own_ingress_waits_aside() -> None:
    asyncio.run(_parked())


async def _parked() -> None:
    stuck, other = Address("test/counter", "stuck"), Address("test/counter", "other")
    inboxes = {stuck: valve.START}  # the stuck key's inbox alone fills the limit
    gate = Valve(lambda: sum(inboxes.values()), lambda address: inboxes.get(address, 0))
    held = asyncio.ensure_future(gate.admit([other]))
    await asyncio.sleep(0.01)
    assert not held.done()
    gate.park(stuck)  # in retry: its inbox can not drain meanwhile
    await asyncio.wait_for(held, 1)
    gate.stored(1)
    inboxes[other] = 1
    own = asyncio.ensure_future(gate.admit([stuck]))  # its parked inbox is full: it waits aside...
    after = asyncio.ensure_future(gate.admit([other]))  # ...and holds back no one who came after it
    await asyncio.wait_for(after, 1)
    assert not own.done()
    gate.unpark(stuck)  # its messages count again: its ingress waits for room like any other
    await asyncio.sleep(0.01)
    assert not own.done()
    inboxes[stuck] = 0  # its inbox drained
    gate.changed()
    await asyncio.wait_for(own, 1)


LIMIT = 8
OTHERS = [f"k{i}" for i in range(4)]


class StuckServer(FunctionServer):
    """Answers every call for the key ``stuck`` with a 503 (retried within the call timeout) until released."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.released, self.stuck_calls = asyncio.Event(), 0
        self.retried = asyncio.Event()  # a second call came: the key is in retry

    async def handle(self, request: web.Request) -> web.Response:
        call = _wire.ToFunction.FromString(await request.read())
        if call.invocation.target.id == "stuck" and not self.released.is_set():
            self.stuck_calls += 1
            if self.stuck_calls > 1:
                self.retried.set()
            return web.Response(status=503)
        return await super().handle(request)


def test_a_key_in_retry_holds_back_no_other_keys_ingress_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The regression: one key stuck in retries (up to the call timeout) held back every key's ingress."""
    for name in ("FLOOR", "START", "CEILING"):
        monkeypatch.setattr(valve, name, LIMIT)
    waited, counts = asyncio.run(_stuck(tmp_path))
    assert waited < 1.0  # while the stuck key kept retrying: it is released only once all others are in
    assert delivered(counts, "stuck") == (list(range(1, LIMIT + 2)), sorted(f"m{n}" for n in range(LIMIT + 1)))
    for key in OTHERS:  # nothing lost, nothing twice
        assert delivered(counts, key) == (list(range(1, 3 * LIMIT + 1)), sorted(f"m{n}" for n in range(3 * LIMIT)))


def delivered(counts: list[str], key: str) -> tuple[list[int], list[str]]:
    """The counts the counter reached for ``key`` and the messages it counted, both sorted."""
    lines = [line.split(":") for line in counts if line.startswith(key + ":")]
    return sorted(int(line[1]) for line in lines), sorted(line[2] for line in lines)


async def _stuck(tmp_path: Path) -> tuple[float, list[str]]:
    """The key ``stuck`` goes into retry and its ingress fills the limit; then one message to another key
    (its admission timed), and 3 x LIMIT to each of four other keys, go in while it retries; its own next
    message waits until it recovers. Returns that admission wait and the counter's egress lines."""
    server = StuckServer(functions)
    async with server.serving():
        url = f"http://127.0.0.1:{server.port}/statefun"
        async with running(tmp_path, endpoint("test/*", url) + PLAYGROUND_IO) as runtime:
            port = runtime.ports["ingress"]
            async with aiohttp.ClientSession() as session:

                def send(key: str, number: int) -> Coroutine[None, None, int]:
                    return put(session, port, f"test/counter/{key}", f"m{number}")

                assert await send("stuck", 0) == 200
                await asyncio.wait_for(server.retried.wait(), 10)
                assert await asyncio.gather(*(send("stuck", n) for n in range(1, LIMIT))) == [200] * (LIMIT - 1)
                own = asyncio.ensure_future(send("stuck", LIMIT))
                began = time.monotonic()
                first = asyncio.ensure_future(send(OTHERS[0], 0))
                await asyncio.wait([first], timeout=10)
                waited = time.monotonic() - began
                assert first.done(), "another key's ingress waited for the key in retry"
                # more than the limit: they go in as the other keys' messages are applied, around the stuck key
                rest = [send(key, n) for n in range(3 * LIMIT) for key in OTHERS if n or key != OTHERS[0]]
                assert await asyncio.wait_for(asyncio.gather(*rest), 30) == [200] * len(rest)
                assert not own.done()  # the stuck key's inbox stays bounded: its own ingress waits...
                assert len(runtime.store.inbox(Address("test/counter", "stuck"), 0)) == LIMIT
                server.released.set()
                assert await asyncio.wait_for(own, 30) == 200  # ...until it recovers
                counts = await take(session, runtime.ports["egress"], "counts", LIMIT + 1 + 4 * 3 * LIMIT)
            assert not runtime.store.dead_letters()
    return waited, counts
