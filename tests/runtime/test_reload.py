"""Dynamic registration: module.yaml edits take effect while running, state stays, bad edits are refused;
a reload parses off the event loop and prints the module's warnings."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import aiohttp

from statefun_faas.moduleyaml.yaml_lines import MAX_BYTES
from statefun_faas.runtime.app import Runtime
from tests.runtime.apps import functions
from tests.runtime.processes import RuntimeProcess
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


def test_every_warning_is_printed_at_start_and_on_reload(tmp_path: Path) -> None:
    path = tmp_path / "module.yaml"
    path.write_text(
        endpoint("test/*", "http://127.0.0.1:1/{function.name}", "  maxNumBatchRequest: 10\n") + PLAYGROUND_IO
    )
    runtime = RuntimeProcess.start(tmp_path / "run.log", "run", "--module", str(path), "--state", str(tmp_path / "s"))
    try:
        started = runtime.log.read_text()
        assert f"statefun-faas: {path}:7: spec.maxNumBatchRequest: unknown field, ignored; did you mean" in started
        path.write_text(endpoint("test/*", "http://127.0.0.1:1/{function.name}", "  functoins: x\n") + PLAYGROUND_IO)
        deadline = time.monotonic() + 30
        while "module reloaded" not in runtime.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        reloaded = runtime.log.read_text()[len(started) :]
    finally:
        runtime.stop()
    assert f"statefun-faas: {path}:7: spec.functoins: unknown field, ignored; did you mean functions?" in reloaded
    assert reloaded.index("unknown field") < reloaded.index("module reloaded")


def _large_module(functions_port: int) -> str:
    """About 1 MiB of endpoints, within the size bound: it takes the parser about a second or more."""
    one = endpoint("n{i}/*", "http://h{i}:8000/fn/{{function.name}}", "  transport:\n    timeouts: {{call: 2s}}\n")
    text = endpoint("test/*", f"http://127.0.0.1:{functions_port}/{{function.name}}") + PLAYGROUND_IO
    parts = [text]
    while len(text) < MAX_BYTES - 2_000:
        parts.append(one.format(i=len(parts)))
        text += parts[-1]
    return text


def test_the_ports_keep_answering_while_a_reload_parses(tmp_path: Path) -> None:
    server = FunctionServer(functions)

    async def go() -> tuple[float, float]:
        async with server.serving():
            module = endpoint("test/*", f"http://127.0.0.1:{server.port}/{{function.name}}") + PLAYGROUND_IO
            async with running(tmp_path, module, poll_s=0.02) as runtime, aiohttp.ClientSession() as session:
                ingress, before, longest = runtime.ports["ingress"], runtime.module, 0.0
                await asyncio.sleep(0.2)  # the watcher has taken the file's first stamp
                path = Path(runtime.module_paths[0])
                path.write_text(_large_module(server.port))
                os.utime(path, ns=(0, path.stat().st_mtime_ns + 1_000_000))
                started = last = time.perf_counter()
                while runtime.module is before:  # messages back to back until the new module is in use
                    assert await put(session, ingress, "test/counter/k", "x") == 200
                    now = time.perf_counter()
                    longest, last = max(longest, now - last), now
                    assert now - started < 120, "the large module was not loaded"
                assert len(runtime.module.endpoints) > 4000
        return last - started, longest

    reload_s, longest = asyncio.run(go())
    # parsed on the event loop, one message waited for the whole reload; parsed off it, none waits long
    assert reload_s > 0.5, "the module was large enough to take a while"
    assert longest < reload_s / 2, f"an ingress request waited {longest:.2f} s during a {reload_s:.2f} s reload"
