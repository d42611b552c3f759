"""Dynamic registration: module.yaml edits take effect while running, state stays, bad edits are refused."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import aiohttp

from statefun_faas.runtime.app import Runtime
from tests.runtime.apps import functions
from tests.runtime.servers import PLAYGROUND_IO, FunctionServer, endpoint, put, running, take


async def _rewrite(runtime: Runtime, path: Path, text: str) -> None:
    before = runtime.module
    path.write_text(text)
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 1_000_000))  # a new mtime even within one clock tick
    for _ in range(200):
        if runtime.module is not before:
            return
        await asyncio.sleep(0.02)


def test_module_edits_take_effect_without_restart_or_state_loss(tmp_path: Path) -> None:
    first, second = FunctionServer(functions), FunctionServer(functions)

    async def go() -> None:
        async with first.serving(), second.serving():
            exact = endpoint("test/counter", f"http://127.0.0.1:{first.port}/counter")
            wildcard = endpoint("test/*", f"http://127.0.0.1:{second.port}/fn/{{function.name}}")
            async with running(tmp_path, exact + PLAYGROUND_IO, poll_s=0.02) as runtime, aiohttp.ClientSession() as s:
                path = Path(runtime.module_paths[0])
                ingress, egress = runtime.ports["ingress"], runtime.ports["egress"]
                await put(s, ingress, "test/counter/k", "a")
                await put(s, ingress, "test/forwarder/k", "b")  # no endpoint yet: a dead letter
                assert await take(s, egress, "counts", 1) == ["k:1:a:-"]
                await runtime.router.quiescent()
                assert len(runtime.store.dead_letters()) == 1

                await _rewrite(runtime, path, exact + wildcard + PLAYGROUND_IO)
                assert runtime.ports == {"ingress": ingress, "egress": egress}  # unchanged I/O keeps its ports
                runtime.router.wake(runtime.store.replay())
                assert await take(s, egress, "counts", 1) == ["k:2:b:test/forwarder/k"]

                kept = runtime.module
                path.write_text("kind: nonsense\n")
                await asyncio.sleep(0.3)
                assert runtime.module is kept  # refused with a logged error: the previous module stays
                await _rewrite(runtime, path, wildcard + PLAYGROUND_IO)  # the counter moves to the second server
                await put(s, ingress, "test/counter/k", "c")
                assert await take(s, egress, "counts", 1) == ["k:3:c:-"]

    asyncio.run(go())
    assert first.paths == ["/counter"] * 3  # registration, a, then b forwarded
    assert second.paths == ["/fn/forwarder", "/fn/counter"]  # the counter's states stayed registered: no new round
