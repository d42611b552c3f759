"""A function that names a new state on every call (a ValueSpec built per call) is not called forever: after
a bounded number of IncompleteInvocationContext rounds its batch becomes a dead letter naming the function type
and the states it kept asking for, and the runtime goes on serving the other keys and that key's next message."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from statefun_faas import _wire
from statefun_faas.runtime.app import Runtime
from statefun_faas.runtime.engine.protocol import EXTRA_ROUNDS
from tests.runtime.apps import functions
from tests.runtime.servers import PLAYGROUND_IO, FunctionServer, endpoint, put, running, take

RENAMER = "test/renamer"
ROUNDS = 1 + EXTRA_ROUNDS + 1  # the first answer names one state: 1 + EXTRA_ROUNDS rounds, then the dead letter


@dataclass
class RenamingServer(FunctionServer):
    """Serves ``functions``; the function type ``test/renamer`` answers every call with a new missing state."""

    renamer_calls: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        target = _wire.ToFunction.FromString(await request.read()).invocation.target
        if f"{target.namespace}/{target.type}" != RENAMER:
            return await super().handle(request)  # aiohttp keeps the body read above
        self.renamer_calls += 1
        response = _wire.FromFunction()
        response.incomplete_invocation_context.missing_values.add(
            state_name=f"s{self.renamer_calls}", type_typename="io.statefun.types/int"
        )
        return web.Response(body=response.SerializeToString(), content_type="application/octet-stream")


async def dead_letters(runtime: Runtime, count: int, timeout: float = 20.0) -> list[str]:
    """The reasons once ``count`` letters are there; an AssertionError (not a hang) when they never come."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(letters := runtime.store.dead_letters()) < count:
        assert loop.time() < deadline, f"after {timeout} s {len(letters)} of {count} dead letters"
        await asyncio.sleep(0.05)
    return [letter.reason for letter in letters]


async def scenario(tmp_path: Path, server: RenamingServer) -> tuple[list[str], list[str], int]:
    async with server.serving():
        url = f"http://127.0.0.1:{server.port}/statefun"
        async with running(tmp_path, endpoint("test/*", url) + PLAYGROUND_IO) as runtime:
            ingress, egress = runtime.ports["ingress"], runtime.ports["egress"]
            async with aiohttp.ClientSession() as session:
                assert await put(session, ingress, f"{RENAMER}/r", "a") == 200
                assert await put(session, ingress, "test/counter/k", "x") == 200
                first = await dead_letters(runtime, 1)
                calls = server.renamer_calls
                assert await put(session, ingress, f"{RENAMER}/r", "b") == 200  # the key's next message
                assert await put(session, ingress, "test/counter/k", "y") == 200
                reasons = await dead_letters(runtime, 2)
                counts = await take(session, egress, "counts", 2)
            assert reasons[0] == first[0]
    return reasons, counts, calls


def test_a_function_naming_a_new_state_each_call_is_dead_lettered_after_bounded_rounds(tmp_path: Path) -> None:
    server = RenamingServer(functions)
    reasons, counts, calls = asyncio.run(scenario(tmp_path, server))
    assert calls == ROUNDS
    assert server.renamer_calls == 2 * ROUNDS
    assert counts == ["k:1:x:-", "k:2:y:-"]
    names = ", ".join(f"'s{n}'" for n in range(1, ROUNDS + 1))
    assert reasons[0] == (
        f"protocol violation: function type {RENAMER} answered IncompleteInvocationContext {ROUNDS} times for one "
        f"batch, naming new states each time ({names}); declare a fixed set of states (ValueSpecs created once, "
        "not per call)"
    )
    assert f"answered IncompleteInvocationContext {ROUNDS} times" in reasons[1]
