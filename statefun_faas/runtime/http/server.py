"""A small HTTP/1.1 server for the runtime's local ports (playground ingress and egress, local topics).

Requests on one connection are answered in order, one at a time (pipelined ones wait); keep-alive,
``Expect: 100-continue``, Content-Length and chunked bodies. Malformed requests get 400, bodies or heads
over the limits 413, and the connection is closed after either. Every port is bounded by
:class:`HttpLimits`: a request's head must arrive within ``header_timeout`` (and its body may not pause
longer than that), a kept-alive connection waiting for its next request is closed after ``idle_timeout``,
and at most ``max_connections`` are open at once (more are answered 503 and closed; see listener.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import cast

from statefun_faas.runtime.http.framing import HttpFramingError, Request, RequestParser, RequestTooLargeError
from statefun_faas.runtime.http.listener import Listener

__all__ = ["HttpLimits", "HttpServer", "Request", "Response"]

logger = logging.getLogger("statefun_faas.runtime")
MAX_BODY = 1024 * 1024
LINGER = 2.0  # seconds a refused connection is read from before it is closed


@dataclass(frozen=True)
class HttpLimits:
    """The bounds of every listening port; ``run`` and ``dev`` take them as ``--header-timeout``,
    ``--idle-timeout`` and ``--max-connections``."""

    header_timeout: float = 10.0  # seconds for a request's head, and the longest pause inside its body
    idle_timeout: float = 60.0  # seconds a kept-alive connection may wait for its next request
    max_connections: int = 256  # open connections per port
    max_body: int = MAX_BODY  # bytes of a request's body

    def __post_init__(self) -> None:
        for name in ("header_timeout", "idle_timeout", "max_connections", "max_body"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                flag = name.replace("_", "-")
                raise ValueError(f"--{flag} must be a positive number, got {value!r}")


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/octet-stream"
    headers: tuple[tuple[str, str], ...] = ()  # more header lines; names and values ASCII without CR or LF


Handler = Callable[[Request], Awaitable[Response]]


def encode(response: Response, keep_alive: bool, head_only: bool = False) -> bytes:
    reason = HTTPStatus(response.status).phrase
    closing = "" if keep_alive else "Connection: close\r\n"
    more = "".join(f"{name}: {value}\r\n" for name, value in response.headers) if response.headers else ""
    head = (
        f"HTTP/1.1 {response.status} {reason}\r\nContent-Type: {response.content_type}\r\n"
        f"Content-Length: {len(response.body)}\r\n{more}{closing}\r\n"
    ).encode("latin-1")
    return head if head_only else head + response.body


def text(status: int, message: str) -> Response:
    return Response(status, f"{message}\n".encode(), "text/plain; charset=utf-8")


class _Connection(asyncio.Protocol):
    def __init__(self, server: HttpServer) -> None:
        self.server, self.limits = server, server.limits
        self.parser = RequestParser(server.limits.max_body)
        self.transport: asyncio.Transport | None = None
        self.busy = False  # a request is being handled
        self.served = False  # a response was sent: between requests the connection is idle
        self.since = 0.0  # when the wait the timeouts measure began
        self.continued = False
        self.writable = True
        self.paused = False  # reading is paused while pipelined requests wait
        self.lingering = False  # refused: what the client still sends is read and dropped for a while

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        self.since = self.server.loop.time()
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.transport = None

    def pause_writing(self) -> None:
        self.writable = False  # the client does not read its answers: pipelined requests wait

    def resume_writing(self) -> None:
        self.writable = True
        self._next()

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return
        parser = self.parser
        if not parser.started or parser.in_body:  # a request begins, or its body goes on
            self.since = self.server.loop.time()
        parser.feed(data)
        if not self.busy:
            self._next()
        elif parser.ready and self.transport is not None and not self.paused:
            self.paused = True  # pipelined requests wait until this one is answered
            self.transport.pause_reading()

    def _next(self) -> None:
        transport = self.transport
        if transport is None or self.busy or not self.writable:
            return
        try:
            request = self.parser.next()
        except RequestTooLargeError as error:
            return self._refuse(413, str(error))
        except HttpFramingError as error:
            return self._refuse(400, str(error))
        if request is None:
            if self.parser.expects_continue and not self.continued:
                self.continued = True
                transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            if self.paused:
                self.paused = False
                transport.resume_reading()
            return
        self.busy, self.continued = True, False
        task = self.server.loop.create_task(self._handle(request))
        self.server.tasks.add(task)
        task.add_done_callback(self.server.tasks.discard)

    async def _handle(self, request: Request) -> None:
        try:
            response = await self.server.handler(request)
        except Exception:
            logger.exception("%s %s failed", request.method, request.path)
            response = text(500, "internal error, see the runtime's log")
        self.busy, self.served = False, True
        if self.transport is None:
            return
        self.transport.write(encode(response, request.keep_alive, request.method == "HEAD"))
        if not request.keep_alive:
            self.transport.close()
            return
        self.since = self.server.loop.time()
        self._next()

    def _refuse(self, status: int, reason: str) -> None:
        """Answer and close; a client still sending gets the answer, not a reset, so its rest is read first."""
        assert self.transport is not None
        self.transport.write(encode(text(status, reason), False))
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.lingering, self.since = True, self.server.loop.time()
        else:
            self.transport.close()

    def check_time(self, now: float) -> None:
        """Close the connection if what it waits for took too long."""
        if self.busy or self.transport is None:
            return
        waiting = now - self.since
        if self.lingering:
            if waiting > LINGER:
                self.transport.close()
        elif self.parser.started or not self.served:
            if waiting > self.limits.header_timeout:
                if self.parser.started:
                    what = "body" if self.parser.in_body else "head"
                    self._refuse(408, f"the request's {what} did not arrive within {self.limits.header_timeout:g}s")
                else:
                    self.transport.close()
        elif waiting > self.limits.idle_timeout:
            self.transport.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class HttpServer:
    """Serves ``handler`` on an already bound socket until :meth:`stop`."""

    def __init__(self, handler: Handler, limits: HttpLimits | None = None) -> None:
        self.handler, self.limits = handler, limits or HttpLimits()
        self.connections: set[_Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self._listener: Listener | None = None
        self._clock: asyncio.TimerHandle | None = None

    async def start(self, sock: socket.socket) -> None:
        self.loop = asyncio.get_running_loop()
        cap = self.limits.max_connections
        refusal = encode(text(503, f"too many connections to this port (at most {cap}); retry"), False)
        self._listener = Listener(sock, lambda: _Connection(self), self.connections.__len__, cap, refusal)
        self._listener.start()
        self._tick()

    def _tick(self) -> None:
        now = self.loop.time()
        for connection in list(self.connections):
            connection.check_time(now)
        period = min(1.0, self.limits.header_timeout / 4, self.limits.idle_timeout / 4)
        self._clock = self.loop.call_later(period, self._tick)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop listening, let requests in progress finish (at most ``grace`` seconds), close every connection."""
        if self._clock is not None:
            self._clock.cancel()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=grace)
        for connection in list(self.connections):
            connection.close()
        await asyncio.sleep(0)  # let the transports finish closing
