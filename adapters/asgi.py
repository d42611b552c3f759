"""A plain ASGI 3 application serving StateFun functions, with no web framework.

Run it under any ASGI server, for example on Cloud Run (which sets ``$PORT``)::

    # main.py
    from statefun_faas.adapters.asgi import asgi_app
    from my_functions import functions

    app = asgi_app(functions)

    # uvicorn main:app --host 0.0.0.0 --port $PORT

The method, token and declared ``Content-Length`` are checked before any byte of the body
is read; the body is then read chunk by chunk and refused with 413 as soon as it passes the
limit. Functions run on the server's event loop (``async def`` functions are awaited there).
Behind AWS Lambda use ``Mangum(asgi_app(functions), lifespan="off")``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, MutableMapping, Sequence
from typing import Any, Literal, Protocol, TypedDict, cast

from statefun_faas.adapters._http import declared_length
from statefun_faas.adapters.edge import Edge, EdgeResponse, RequestObserver
from statefun_faas.functions import StatefulFunctions
from statefun_faas.handler import RequestReplyHandler

#: What servers pass around: the generic ASGI shapes (compatible with uvicorn, mangum, starlette).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


class Receive(Protocol):
    """``await receive()`` returns the next event: an ``http.request`` chunk, a disconnect, ..."""

    def __call__(self) -> Awaitable[Message]: ...


class Send(Protocol):
    """``await send(event)`` sends a response start, a body chunk or a lifespan answer."""

    def __call__(self, message: Message, /) -> Awaitable[None]: ...


class HTTPScope(TypedDict):
    """The keys of an ``http`` scope this app reads."""

    type: Literal["http"]
    method: str
    path: str
    query_string: bytes
    headers: Iterable[tuple[bytes, bytes]]


class LifespanScope(TypedDict):
    type: Literal["lifespan"]


class HTTPRequestEvent(TypedDict):
    """One chunk of the request body; ``more_body`` is False on the last one."""

    type: Literal["http.request"]
    body: bytes
    more_body: bool


class HTTPResponseStartEvent(TypedDict):
    type: Literal["http.response.start"]
    status: int
    headers: list[tuple[bytes, bytes]]


class HTTPResponseBodyEvent(TypedDict):
    type: Literal["http.response.body"]
    body: bytes


class LifespanEvent(TypedDict):
    type: Literal["lifespan.startup.complete", "lifespan.shutdown.complete"]


SendEvent = HTTPResponseStartEvent | HTTPResponseBodyEvent | LifespanEvent


class StatefunASGIApp:
    """The ASGI 3 callable; build it with :func:`asgi_app`."""

    __slots__ = ("edge",)

    def __init__(self, edge: Edge) -> None:
        self.edge = edge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "http":
            await self._http(cast(HTTPScope, scope), receive, send)
        elif kind == "lifespan":
            await _lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1003})
        else:
            raise ValueError(f"unsupported ASGI scope type {kind!r}: this app serves HTTP only")

    async def _http(self, scope: HTTPScope, receive: Receive, send: Send) -> None:
        length = declared_length(_header(scope, b"content-length"))
        if isinstance(length, EdgeResponse):
            await _respond(send, length)
            return
        query = scope.get("query_string", b"").decode("latin-1")
        early = self.edge.precheck(scope["method"], scope["path"], query, length)
        if early is not None:
            await _respond(send, early)
            return
        body = await self._read(receive)
        if body is None:
            return  # the client went away; nobody is left to answer
        if isinstance(body, EdgeResponse):
            await _respond(send, body)
            return
        await _respond(send, await self.edge.handle_body_async(body))

    async def _read(self, receive: Receive) -> bytes | EdgeResponse | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            event = await receive()
            if event["type"] == "http.disconnect":
                return None
            chunk = cast(HTTPRequestEvent, event).get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > self.edge.max_body_bytes:
                return self.edge.too_large(size)
            if not event.get("more_body", False):
                return b"".join(chunks)


def asgi_app(
    functions_or_handler: StatefulFunctions | RequestReplyHandler,
    *,
    tokens: Sequence[str] | None = None,
    max_body_bytes: int | None = None,
    max_invocations: int | None = None,
    observe: RequestObserver | None = None,
) -> StatefunASGIApp:
    """An ASGI 3 app for a registry (or a ready handler).

    ``tokens`` default to ``STATEFUN_FAAS_TOKENS`` (none: no token check); ``max_body_bytes``
    to ``STATEFUN_FAAS_MAX_BODY_BYTES``, then 32 MiB; ``max_invocations`` (per request) to
    ``STATEFUN_FAAS_MAX_INVOCATIONS``, then 100,000.
    ``observe`` is told of every request (see :class:`~statefun_faas.adapters.edge.RequestObserver`).
    """
    edge = Edge.create(
        functions_or_handler,
        "asgi",
        tokens=tokens,
        max_body_bytes=max_body_bytes,
        max_invocations=max_invocations,
        observe=observe,
    )
    return StatefunASGIApp(edge)


def _header(scope: HTTPScope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value
    return None


async def _emit(send: Send, event: SendEvent) -> None:
    await send(cast(Message, event))


async def _respond(send: Send, response: EdgeResponse) -> None:
    headers = [
        (b"content-type", response.content_type.encode("latin-1")),
        (b"content-length", b"%d" % len(response.body)),
    ]
    await _emit(send, HTTPResponseStartEvent(type="http.response.start", status=response.status, headers=headers))
    await _emit(send, HTTPResponseBodyEvent(type="http.response.body", body=response.body))


async def _lifespan(receive: Receive, send: Send) -> None:
    """Nothing to start or stop: acknowledge both phases so servers run lifespan cleanly."""
    while True:
        event = await receive()
        if event["type"] == "lifespan.startup":
            await _emit(send, LifespanEvent(type="lifespan.startup.complete"))
        elif event["type"] == "lifespan.shutdown":
            await _emit(send, LifespanEvent(type="lifespan.shutdown.complete"))
            return
