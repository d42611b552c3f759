"""A small HTTP/1.1 server for the runtime's local ports (playground ingress and egress, local topics).

Requests on one connection are answered in order, one at a time (pipelined ones wait in the buffer);
keep-alive, ``Expect: 100-continue``, Content-Length and chunked bodies. Malformed requests get 400,
bodies over ``max_body`` 413, and the connection is closed after either.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

from statefun_faas.runtime.http11 import HttpFramingError, Request, RequestParser, RequestTooLargeError

__all__ = ["HttpServer", "Request", "Response"]

logger = logging.getLogger("statefun_faas.runtime")
MAX_BODY = 1024 * 1024
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large"}


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/octet-stream"


Handler = Callable[[Request], Awaitable[Response]]


def encode(response: Response, keep_alive: bool, head_only: bool = False) -> bytes:
    reason = REASONS.get(response.status, "Status")
    closing = "" if keep_alive else "Connection: close\r\n"
    head = (
        f"HTTP/1.1 {response.status} {reason}\r\nContent-Type: {response.content_type}\r\n"
        f"Content-Length: {len(response.body)}\r\n{closing}\r\n"
    ).encode("latin-1")
    return head if head_only else head + response.body


class _Connection(asyncio.Protocol):
    def __init__(self, server: HttpServer) -> None:
        self.server = server
        self.parser = RequestParser(server.max_body)
        self.transport: asyncio.Transport | None = None
        self.busy = False  # a request is being handled
        self.continued = False
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.parser.feed(data)
        if not self.busy:
            self._next()
        elif len(self.parser.buffer) > self.server.max_body and self.transport is not None:
            self.paused = True  # pipelined requests pile up: read on once this one is answered
            self.transport.pause_reading()

    def _next(self) -> None:
        transport = self.transport
        if transport is None:
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
            return
        self.busy, self.continued = True, False
        task = asyncio.get_running_loop().create_task(self._handle(request))
        self.server.tasks.add(task)
        task.add_done_callback(self.server.tasks.discard)

    async def _handle(self, request: Request) -> None:
        try:
            response = await self.server.handler(request)
        except Exception:
            logger.exception("%s %s failed", request.method, request.path)
            response = Response(500, b"internal error, see the runtime's log\n", "text/plain; charset=utf-8")
        self.busy = False
        if self.transport is None:
            return
        self.transport.write(encode(response, request.keep_alive, request.method == "HEAD"))
        if not request.keep_alive:
            self.transport.close()
            return
        if self.paused:
            self.paused = False
            self.transport.resume_reading()
        self._next()

    def _refuse(self, status: int, reason: str) -> None:
        assert self.transport is not None
        self.transport.write(encode(Response(status, f"{reason}\n".encode(), "text/plain; charset=utf-8"), False))
        self.transport.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class HttpServer:
    """Serves ``handler`` on an already bound socket until :meth:`stop`."""

    def __init__(self, handler: Handler, max_body: int = MAX_BODY) -> None:
        self.handler, self.max_body = handler, max_body
        self.connections: set[_Connection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), sock=sock)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop listening, let requests in progress finish (at most ``grace`` seconds), close every connection."""
        if self._server is not None:
            self._server.close()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=grace)
        for connection in list(self.connections):
            connection.close()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
