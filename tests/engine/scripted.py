"""A function server whose answers a test scripts, to watch what the StateFun runtime does with each: a status
for an address's first N calls (or until healed), a slow answer, or no listener at all.

It serves real functions (our handler behind the shared Edge, as every adapter does) on loopback from a
thread of its own and logs every call: its path, when it arrived (wall clock, comparable with Flink's
timestamps), what it was answered, the batch's target id and arguments. A call's path is
``/<endpoint>/<function name>``, as module.yaml's ``{function.name}`` templates write it.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiohttp import web

from statefun_faas import _wire
from statefun_faas.adapters.edge import Edge
from statefun_faas.functions import StatefulFunctions


@dataclass
class Plan:
    """The first ``times`` calls to an address (None: every call until healed) answer ``status``, or, with
    ``status`` 0, are answered right but only after ``delay`` seconds."""

    status: int = 0
    times: int | None = None
    delay: float = 0.0
    healed: bool = False


@dataclass(frozen=True)
class Call:
    path: str
    id: str  # the batch's target id (a request carries one address)
    at: float  # time.time() when the request arrived
    status: int  # what it was answered
    values: tuple[bytes, ...]  # the batch's arguments, in order


@dataclass
class Scripted:
    functions: StatefulFunctions
    plans: dict[tuple[str, str], Plan] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    port: int = 0
    #: ports reserved for endpoints that are dead (nothing listens) until :meth:`revive`
    dead_ports: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.edge = Edge.create(self.functions, "asgi", tokens=())
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, path: str, ident: str, status: int = 0, times: int | None = None, delay: float = 0.0) -> None:
        self.plans[(path, ident)] = Plan(status, times, delay)

    def heal(self, path: str, ident: str) -> None:
        self.plans[(path, ident)].healed = True

    def calls_to(self, path: str, ident: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if (call.path, call.id) == (path, ident)]

    async def _handle(self, request: web.Request) -> web.Response:
        arrived, body, path = time.time(), await request.read(), request.path.strip("/")
        batch = _wire.ToFunction.FromString(body).invocation
        ident, values = batch.target.id, tuple(invocation.argument.value for invocation in batch.invocations)
        plan = self.plans.get((path, ident)) or Plan()
        scripted = not plan.healed and (plan.times is None or len(self.calls_to(path, ident)) < plan.times)
        if scripted and plan.status:
            self._log(Call(path, ident, arrived, plan.status, values))
            return web.Response(status=plan.status, body=f"scripted {plan.status}".encode())
        if scripted and plan.delay:
            self._log(Call(path, ident, arrived, 0, values))  # logged on arrival: the caller may give up first
            await asyncio.sleep(plan.delay)
        answer = await self.edge.handle_body_async(body)
        if not (scripted and plan.delay):
            self._log(Call(path, ident, arrived, answer.status, values))
        return web.Response(status=answer.status, body=answer.body, headers={"Content-Type": answer.content_type})

    def _log(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def revive(self, port: int) -> None:
        """Start listening on ``port`` (one of ``dead_ports``) too: the dead endpoint comes to life."""
        if self._loop is None or self._runner is None:
            raise RuntimeError("revive() works while serving()")
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        asyncio.run_coroutine_threadsafe(site.start(), self._loop).result(10)

    @contextmanager
    def serving(self, dead: int = 0) -> Iterator[Scripted]:
        """Serve from a background thread (the runtime under test is another process); reserve ``dead``
        ports that nothing listens on until revived."""
        spares = [socket.socket() for _ in range(dead)]
        for spare in spares:
            spare.bind(("127.0.0.1", 0))
        self.dead_ports = [spare.getsockname()[1] for spare in spares]
        for spare in spares:
            spare.close()
        loop = self._loop = asyncio.new_event_loop()
        started, stop = threading.Event(), asyncio.Event()

        async def serve() -> None:
            app = web.Application(client_max_size=64 * 1024 * 1024)
            app.router.add_route("POST", "/{tail:.*}", self._handle)
            runner = self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
            await web.SockSite(runner, sock).start()
            started.set()
            try:
                await stop.wait()
            finally:
                await runner.cleanup()

        thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
        thread.start()
        if not started.wait(30):
            raise RuntimeError("the scripted function server did not start")
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(stop.set)
            thread.join(30)
            loop.close()
