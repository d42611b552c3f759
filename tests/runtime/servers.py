"""A real function server on loopback (aiohttp.web in front of the shared Edge) with injectable faults,
and a helper that runs the runtime in-process for one test."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web

from statefun_faas.adapters.edge import Edge
from statefun_faas.functions import StatefulFunctions
from statefun_faas.runtime.app import Options, Runtime

Fault = Callable[[web.Request], Awaitable[web.Response]]


def status(code: int, body: bytes = b"injected", content_type: str = "text/plain") -> Fault:
    async def answer(_: web.Request) -> web.Response:
        return web.Response(status=code, body=body, content_type=content_type)

    return answer


def delay(seconds: float) -> Fault:
    async def answer(_: web.Request) -> web.Response:
        await asyncio.sleep(seconds)
        return web.Response(status=500)

    return answer


def raw(body: bytes, content_type: str = "application/octet-stream") -> Fault:
    """A 200 with these bytes, whatever the request was."""

    async def answer(_: web.Request) -> web.Response:
        return web.Response(status=200, body=body, headers={"Content-Type": content_type})

    return answer


@dataclass
class FunctionServer:
    """Serves ``functions`` over HTTP; ``faults`` are answered first, one per request."""

    functions: StatefulFunctions
    faults: list[Fault] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    port: int = 0
    pause: float = 0.0
    tls: ssl.SSLContext | None = None  # serve https

    def __post_init__(self) -> None:
        self.edge = Edge.create(self.functions, "asgi", tokens=())

    async def handle(self, request: web.Request) -> web.Response:
        self.paths.append(request.path_qs)
        if self.faults:
            return await self.faults.pop(0)(request)
        if self.pause:
            await asyncio.sleep(self.pause)
        answer = await self.edge.handle_body_async(await request.read())
        return web.Response(status=answer.status, body=answer.body, headers={"Content-Type": answer.content_type})

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[FunctionServer]:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(runner, sock, ssl_context=self.tls).start()
        try:
            yield self
        finally:
            await runner.cleanup()


@contextmanager
def in_thread(server: FunctionServer) -> Iterator[FunctionServer]:
    """Serve from a background thread with its own event loop (for runtimes in other processes)."""
    loop = asyncio.new_event_loop()
    started, stop = threading.Event(), asyncio.Event()

    async def serve() -> None:
        async with server.serving():
            started.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


@asynccontextmanager
async def running(
    tmp_path: Path, module_text: str, functions: StatefulFunctions | None = None, **options: object
) -> AsyncIterator[Runtime]:
    module = tmp_path / "module.yaml"
    module.write_text(module_text)
    runtime = Runtime([str(module)], functions, Options(state_dir=tmp_path / "state", **options))  # type: ignore[arg-type]
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()


PLAYGROUND_IO = """
---
kind: io.statefun.playground.v1/ingress
spec:
  port: 0
---
kind: io.statefun.playground.v1/egress
spec:
  port: 0
  topics: [counts, ttl, greetings]
"""


def endpoint(functions: str, url: str, extra: str = "") -> str:
    return f"""
---
kind: io.statefun.endpoints.v2/http
spec:
  functions: {functions}
  urlPathTemplate: {url}
{extra}"""


async def put(
    session: aiohttp.ClientSession, port: int, path: str, body: str, typename: str | None = "test/text"
) -> int:
    headers = {"Content-Type": f"application/vnd.{typename}"} if typename else {}
    async with session.put(f"http://127.0.0.1:{port}/{path}", data=body.encode(), headers=headers) as response:
        return response.status


async def take(
    session: aiohttp.ClientSession, port: int, topic: str, expected: int, timeout: float = 30.0
) -> list[str]:
    """Pop ``expected`` records from an egress topic, waiting for them at most ``timeout`` seconds."""
    found: list[str] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(found) < expected and loop.time() < deadline:
        async with session.get(f"http://127.0.0.1:{port}/{topic}") as response:
            if response.status == 200:
                found.append((await response.read()).decode())
                continue
            assert response.status == 404
        await asyncio.sleep(0.02)
    return found
