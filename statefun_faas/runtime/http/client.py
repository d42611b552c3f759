"""A small HTTP/1.1 client for function calls: POST bytes, read one answer, keep the connection for the next.

The runtime's calls are all alike (a POST with a protobuf body, one answer), so this client does only that,
at a fraction of a general client's CPU cost: one write per request, answers framed by Content-Length,
chunked transfer encoding or the end of the connection, gzip/deflate bodies inflated, keep-alive
connections pooled per host, ``https`` through the standard ssl module. Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from dataclasses import dataclass
from typing import cast
from urllib.parse import unquote, urlsplit

from statefun_faas.redact import redact_url
from statefun_faas.runtime.http.answers import Answer, AnswerParser
from statefun_faas.runtime.http.framing import AnswerTooLargeError, HttpFramingError

__all__ = ["Answer", "AnswerTooLargeError", "HttpClient", "HttpFramingError", "Target"]


@dataclass(frozen=True)
class Target:
    """Where one URL's requests go (``socket`` for ``http+unix``), and the first bytes of each request."""

    scheme: str
    host: str
    port: int
    head: bytes  # request line and fixed headers, up to "Content-Length: "
    socket: str | None = None
    tls: ssl.SSLContext | None = None  # None: the system's trust store
    max_answer: int | None = None  # bytes of an answer's body; None: no limit

    @classmethod
    def of(
        cls, url: str, headers: dict[str, str], tls: ssl.SSLContext | None = None, max_answer: int | None = None
    ) -> Target:
        """``http``/``https`` URLs, and StateFun's ``http+unix:///path/to/file.sock/path`` form."""
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        socket = None
        if parts.scheme in ("http+unix", "https+unix"):
            socket, sock, path = path.partition(".sock")
            socket, path = socket + sock, path or "/"
        elif parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"invalid function URL {redact_url(url)!r}: expected http://HOST[:PORT]/PATH or https://..."
            )
        scheme = parts.scheme.removesuffix("+unix")
        port = parts.port or (443 if scheme == "https" else 80)
        host = parts.hostname or "localhost"
        authority = f"[{host}]" if ":" in host else host
        if port != (443 if scheme == "https" else 80):
            authority += f":{port}"
        lines = [f"POST {path} HTTP/1.1", f"Host: {authority}", *(f"{k}: {v}" for k, v in headers.items())]
        if parts.username is not None:
            user = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            lines.append("Authorization: Basic " + base64.b64encode(user.encode()).decode("ascii"))
        head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")
        return cls(scheme, host, port, head, socket, tls, max_answer)

    @property
    def pool(self) -> tuple[object, ...]:
        """Which kept connections this target may reuse."""
        return (self.scheme, self.host, self.port, self.socket, self.tls)


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection; at most one request on it at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = AnswerParser()
        self.answer: asyncio.Future[Answer] | None = None
        self.closed = False
        self.received = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses

    def data_received(self, data: bytes) -> None:
        self.received += len(data)
        answer = self.answer
        if answer is None or answer.done():
            self.close()  # bytes nobody asked for: the connection is out of step
            return
        try:
            done = self.parser.feed(data)
        except HttpFramingError as error:
            answer.set_exception(error)
            self.close()
            return
        if done is not None:
            answer.set_result(done)

    def eof_received(self) -> bool:
        self._ended()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended()

    def _ended(self) -> None:
        self.closed = True
        answer = self.answer
        if answer is None or answer.done():
            return
        try:
            done = self.parser.feed_eof()  # an answer framed by the end of the connection is complete now
        except HttpFramingError as error:
            answer.set_exception(error)
            return
        if done is None:
            answer.set_exception(ConnectionResetError("the connection closed before the answer was complete"))
        else:
            answer.set_result(done)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def send(self, request: bytes, max_answer: int | None) -> asyncio.Future[Answer]:
        assert self.transport is not None
        if self.closed or self.transport.is_closing():
            raise ConnectionResetError("the kept connection was closed by the server")
        self.parser = AnswerParser(max_answer)
        self.received = 0
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.answer


class HttpClient:
    """Keep-alive connections per host, at most ``limit`` in use at once."""

    def __init__(self, limit: int = 256, keep_idle: int = 256) -> None:
        self._idle: dict[tuple[object, ...], list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._slots = asyncio.Semaphore(limit)
        self._keep_idle = keep_idle
        self._ssl: ssl.SSLContext | None = None

    async def post(self, target: Target, body: bytes, budget: float, connect: float, read: float) -> Answer:
        """One request within ``budget`` seconds, connecting within ``connect`` and answered within ``read``.

        Raises OSError (connection), TimeoutError, or HttpFramingError (a garbled answer). A kept connection
        the server closed meanwhile is replaced at once: the request is sent again only when not one byte of
        an answer came back (a function call changes nothing until the runtime applies its answer).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        request = target.head + b"%d\r\n\r\n" % len(body) + body
        async with self._slots:
            connection = self._take_idle(target)
            if connection is not None:
                try:
                    return await self._exchange(target, connection, request, min(deadline, loop.time() + read))
                except ConnectionError:
                    if connection.received:
                        raise
            connection = await self._connect(target, min(deadline, loop.time() + connect))
            return await self._exchange(target, connection, request, min(deadline, loop.time() + read))

    async def _exchange(self, target: Target, connection: _Connection, request: bytes, until: float) -> Answer:
        timer = None  # a bare timer on the answer: a fraction of what asyncio.timeout costs per call
        try:
            answer = connection.send(request, target.max_answer)
            timer = asyncio.get_running_loop().call_at(until, _time_out, answer)
            result = await answer
        except BaseException:
            connection.close()
            self._open.discard(connection)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if result.keep_alive and not connection.closed:
            self._put_idle(target, connection)
        else:
            connection.close()
            self._open.discard(connection)
        return result

    def _take_idle(self, target: Target) -> _Connection | None:
        idle = self._idle.get(target.pool)
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
            self._open.discard(connection)
        return None

    def _put_idle(self, target: Target, connection: _Connection) -> None:
        connection.answer, connection.received = None, 0
        idle = self._idle.setdefault(target.pool, [])
        if len(idle) < self._keep_idle:
            idle.append(connection)
        else:
            connection.close()
            self._open.discard(connection)

    async def _connect(self, target: Target, until: float) -> _Connection:
        loop = asyncio.get_running_loop()
        context = (target.tls or self._tls()) if target.scheme == "https" else None
        hostname = target.host if context else None
        async with asyncio.timeout_at(until):
            if target.socket is not None:
                _, connection = await loop.create_unix_connection(
                    _Connection, target.socket, ssl=context, server_hostname=hostname
                )
            else:
                _, connection = await loop.create_connection(
                    _Connection, target.host, target.port, ssl=context, server_hostname=hostname
                )
        self._open.add(connection)
        return connection

    def _tls(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    async def close(self) -> None:
        for connection in self._open:
            connection.close()
        self._open.clear()
        self._idle.clear()
        await asyncio.sleep(0)  # let the transports finish closing


def _time_out(answer: asyncio.Future[Answer]) -> None:
    if not answer.done():
        answer.set_exception(TimeoutError())
