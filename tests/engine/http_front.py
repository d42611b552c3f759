"""An aiohttp server on loopback, on a thread of its own: the HTTP side of the fronts that stand in
for a platform's front door (the Lambda Function URL, the Azure Functions host).

Each front gives one coroutine, ``answer(request) -> Answer``; this module serves it and records
every request as it arrived (method, raw target, headers), which is how the tests see what a
caller such as the StateFun runtime really sends.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiohttp import web

#: Requests bigger than this are refused by the server (413) before a front sees them.
MAX_REQUEST_BYTES = 128 * 2**20


@dataclass(frozen=True)
class Incoming:
    """One HTTP request as the front door received it."""

    method: str
    target: str  # the raw path and query, exactly as sent
    headers: tuple[tuple[str, str], ...]  # in order, names as sent
    body: bytes
    peer: str

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        return self.target.partition("?")[2]

    def header(self, name: str) -> str | None:
        """The values of header ``name`` (any case) joined with commas, as proxies merge them; None if absent."""
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ",".join(values) if values else None


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


Front = Callable[[Incoming], Awaitable[Answer]]


@dataclass
class Served:
    """A front being served: its base URL and what it received so far."""

    url: str
    received: list[Incoming] = field(default_factory=list)


@contextmanager
def serving(front: Front) -> Iterator[Served]:
    """Serve ``front`` on 127.0.0.1 and a free port until the block ends."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="http-front", daemon=True)
    thread.start()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    served = Served(f"http://127.0.0.1:{listener.getsockname()[1]}")

    async def handle(request: web.Request) -> web.Response:
        incoming = Incoming(
            request.method,
            request.raw_path,
            tuple((key.decode("latin-1"), value.decode("latin-1")) for key, value in request.raw_headers),
            await request.read(),
            request.remote or "",
        )
        served.received.append(incoming)
        answer = await front(incoming)
        return web.Response(status=answer.status, headers=dict(answer.headers), body=answer.body)

    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    try:
        asyncio.run_coroutine_threadsafe(_start(runner, listener), loop).result(timeout=30)
        yield served
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
        listener.close()


async def _start(runner: web.AppRunner, listener: socket.socket) -> None:
    await runner.setup()
    await web.SockSite(runner, listener).start()
