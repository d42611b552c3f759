"""One poison message is one dead letter, whichever way the functions run: a batch that fails in a way that may
belong to one of its messages is delivered again by halves, so only the failing message becomes a dead letter
and the others are applied once, in order. ``run`` (functions over HTTP on loopback) and ``dev`` (in-process)
follow one failure policy: a raising function is tried 3 times by both, and the retries of a batch are said in
two lines. failureMode FAIL keeps retrying instead of dead-lettering. A real state folder (SQLite) each time."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from statefun_faas import Context, IntType, Message, StatefulFunctions, ValueSpec, _wire
from statefun_faas.runtime.app import Runtime
from statefun_faas.runtime.records import Address, Envelope, Value
from tests.runtime.apps import EGRESS, emit, text
from tests.runtime.servers import PLAYGROUND_IO, FunctionServer, endpoint, put, running, status, take

POISON = "poison"
KEY = Address("test/picky", "k")
#: the okhttp transport with a 3 s call timeout: long enough for every retry of the policy, short enough that
#: the code before it (a 500 retried until the call timeout) fails these tests in seconds
FAST = (
    "  transport:\n    type: io.statefun.transports.v1/okhttp\n"
    "    timeouts: {call: 3s, connect: 300ms, read: 300ms, write: 300ms}\n"
)

picky = StatefulFunctions()
CALLS: Counter[str] = Counter()  # how often the function was called with each message


@picky.bind("test/picky", specs=[ValueSpec("count", IntType)])
def picky_function(context: Context, message: Message) -> None:
    """Counts its messages, emitting ``<id>:<count>:<message>`` to topic ``counts``; raises on ``poison``."""
    body = text(message)
    CALLS[body] += 1
    if body == POISON:
        raise RuntimeError("poison")
    count = (context.storage.count or 0) + 1
    context.storage.count = count
    emit(context, "counts", f"{context.address.id}:{count}:{body}")


@pytest.fixture(autouse=True)
def _calls() -> Iterator[None]:
    CALLS.clear()
    yield
    CALLS.clear()


@asynccontextmanager
async def runtime_for(mode: str, tmp_path: Path, extra: str = FAST) -> AsyncIterator[Runtime]:
    """``run``: the functions behind a real HTTP server on loopback; ``dev``: in-process."""
    if mode == "dev":
        async with running(tmp_path, PLAYGROUND_IO, picky) as runtime:
            yield runtime
        return
    async with FunctionServer(picky).serving() as server:
        module = endpoint("test/*", f"http://127.0.0.1:{server.port}/statefun", extra) + PLAYGROUND_IO
        async with running(tmp_path, module) as runtime:
            yield runtime


def message(body: str, target: Address = KEY) -> Envelope:
    return Envelope(target, Value("test/text", body.encode()))


def counts(runtime: Runtime) -> list[str]:
    return [record.payload.decode() for record in runtime.store.egress_records(EGRESS) if record.topic == "counts"]


def lines(caplog: pytest.LogCaptureFixture, address: Address = KEY) -> list[str]:
    """The runtime's warnings and errors about ``address``."""
    said = [record.getMessage() for record in caplog.records if record.name == "statefun_faas.runtime"]
    levels = [record.levelno for record in caplog.records if record.name == "statefun_faas.runtime"]
    return [
        line
        for line, level in zip(said, levels, strict=True)
        if level >= logging.WARNING and line.startswith(f"{address}: ")
    ]


MODES = ["run", "dev"]


@pytest.mark.parametrize("mode", MODES)
def test_one_poison_message_among_40_is_one_dead_letter_and_the_39_others_are_applied_once_in_order(
    mode: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "statefun_faas.runtime")
    bodies = [f"m{n}" for n in range(39)]
    bodies.insert(17, POISON)

    async def go() -> tuple[list[str], list[tuple[bytes | None, str]], int]:
        async with runtime_for(mode, tmp_path) as runtime:
            runtime.router.submit([message(body) for body in bodies])  # one commit: one batch of 40
            await runtime.router.quiescent()
            letters = [(letter.envelope.argument.data, letter.reason) for letter in runtime.store.dead_letters()]
            return counts(runtime), letters, runtime.store.inbox_size()

    applied, letters, waiting = asyncio.run(go())
    assert applied == [f"k:{n + 1}:m{n}" for n in range(39)]  # each once, in order, each with the state before it
    [(argument, reason)] = letters
    assert argument == POISON.encode()
    assert "RuntimeError" in reason or "HTTP 500" in reason
    assert "(gave up after 3 attempts" in reason
    assert waiting == 0
    said = lines(caplog)
    [isolating] = [line for line in said if "isolating" in line]  # one line, not one per half
    assert isolating.startswith(f"{KEY}: isolating the failing message(s) of a batch of 40: ")
    assert isolating.endswith("; delivering it again by halves")
    assert sum("to the dead letters" in line for line in said) == 1
    assert sum("isolation done: 1 of 40 message(s) dead-lettered, the others applied" in line for line in said) == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_replayed_dead_letter_does_not_poison_the_messages_batched_with_it(mode: str, tmp_path: Path) -> None:
    async def go() -> tuple[list[str], list[bytes | None]]:
        async with runtime_for(mode, tmp_path) as runtime:
            router, store = runtime.router, runtime.store
            router.submit([message(POISON)])  # alone: one dead letter, before and after the fix
            await router.quiescent()
            [letter] = store.dead_letters()
            router.submit([message(f"r{n}") for n in range(5)])  # no await until all 11 wait: one batch
            router.wake(store.replay([letter.seq]))
            router.submit([message(f"r{n}") for n in range(5, 10)])
            await router.quiescent()
            return counts(runtime), [letter.envelope.argument.data for letter in store.dead_letters()]

    applied, letters = asyncio.run(go())
    assert applied == [f"k:{n + 1}:r{n}" for n in range(10)]
    assert letters == [POISON.encode()]


@pytest.mark.parametrize("mode", MODES)
def test_a_raising_function_is_tried_three_times_by_run_and_dev_alike(
    mode: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "statefun_faas.runtime")

    async def go() -> list[str]:
        async with runtime_for(mode, tmp_path) as runtime:
            runtime.router.submit([message(POISON)])
            await runtime.router.quiescent()
            runtime.router.submit([message("fine")])
            await runtime.router.quiescent()
            assert counts(runtime) == ["k:1:fine"]
            return [letter.reason for letter in runtime.store.dead_letters()]

    [reason] = asyncio.run(go())
    assert CALLS[POISON] == 3
    assert "(gave up after 3 attempts and" in reason
    said = lines(caplog)
    assert len(said) == 2, said  # the retries start; they end in the dead letter, which counts them
    assert said[0].endswith("; retrying 1 message(s), 3 attempts at most")
    assert said[1].startswith(f"{KEY}: 1 message(s) to the dead letters: ")
    assert "(gave up after 3 attempts and " in said[1]


@pytest.mark.parametrize(
    ("faults", "outcome"),
    [
        (3, "succeeded after 4 attempts in "),  # three 503s, then the function's answer
        (1000, "1 message(s) to the dead letters: "),  # 503 until the call timeout is spent
    ],
)
def test_the_retries_of_a_batch_are_said_in_two_lines(
    faults: int, outcome: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "statefun_faas.runtime")
    server = FunctionServer(picky, faults=[status(503)] * faults)
    short = FAST.replace("call: 3s", "call: 500ms").replace("300ms", "100ms")

    async def go() -> None:
        async with server.serving():
            module = endpoint("test/*", f"http://127.0.0.1:{server.port}/statefun", short) + PLAYGROUND_IO
            async with running(tmp_path, module) as runtime:
                runtime.router.submit([message("a")])
                await runtime.router.quiescent()

    asyncio.run(go())
    said = lines(caplog)
    assert len(said) == 2, said
    assert said[0].startswith(f"{KEY}: POST ")
    assert said[0].endswith("; retrying 1 message(s) with backoff within the call timeout of 0.5 s")
    assert said[1].startswith(f"{KEY}: {outcome}")


@dataclass
class StuckServer(FunctionServer):
    """Serves ``functions``; refuses (HTTP 400) every batch for the id ``stuck`` until ``released``."""

    released: asyncio.Event | None = None
    refused: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        target = _wire.ToFunction.FromString(await request.read()).invocation.target
        if target.id == "stuck" and self.released is not None and not self.released.is_set():
            self.refused += 1
            return web.Response(status=400, text="refused until released")
        return await super().handle(request)  # aiohttp keeps the body read above


@pytest.mark.parametrize("mode", ["FAIL", "DROP"])
def test_failure_mode_fail_never_dead_letters_and_drop_does(
    mode: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "statefun_faas.runtime")
    stuck = Address("test/picky", "stuck")
    server = StuckServer(picky)

    async def go() -> tuple[list[str], list[str]]:
        server.released = asyncio.Event()
        async with server.serving():
            url = f"http://127.0.0.1:{server.port}/statefun"
            module = endpoint("test/*", url, f"  failureMode: {mode}\n{FAST}") + PLAYGROUND_IO
            async with running(tmp_path, module) as runtime, aiohttp.ClientSession() as session:
                ingress, egress = runtime.ports["ingress"], runtime.ports["egress"]
                assert await put(session, ingress, "test/picky/stuck", "held") == 200
                while server.refused < 3 and not runtime.store.dead_letters():
                    await asyncio.sleep(0.01)  # FAIL: retried; DROP: a dead letter at once
                assert await put(session, ingress, "test/picky/other", "free") == 200
                assert await take(session, egress, "counts", 1, timeout=10) == ["other:1:free"]  # it carries on
                server.released.set()
                await runtime.router.quiescent()
                return counts(runtime), [letter.reason for letter in runtime.store.dead_letters()]

    applied, reasons = asyncio.run(go())
    said = lines(caplog, stuck)
    if mode == "FAIL":
        assert reasons == []
        assert applied == ["stuck:1:held"]
        assert said[0].endswith("; failureMode FAIL: retrying 1 message(s) with backoff until they are applied")
        assert said[1].startswith(f"{stuck}: succeeded after ")
        assert len(said) == 2  # and at most one a minute while it lasts: none in these seconds
    else:
        [reason] = reasons
        assert "answered HTTP 400: refused until released" in reason
        assert applied == []
        assert len(said) == 1  # not retried: the dead letter alone
