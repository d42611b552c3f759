"""A plain WSGI (PEP 3333) application serving StateFun functions.

Run it under any WSGI server, threaded or not, for example::

    # main.py
    from statefun_faas.adapters.wsgi import wsgi_app
    from my_functions import functions

    app = wsgi_app(functions)

    # gunicorn --threads 8 --bind 0.0.0.0:$PORT main:app

The method, token and declared ``CONTENT_LENGTH`` are checked before the body is read, and
the body is read in chunks up to the limit. It is safe for many threads at once:
``async def`` functions run on an event loop kept per thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol

from statefun_faas.adapters._http import declared_length, read_limited
from statefun_faas.adapters.edge import Edge, EdgeResponse, RequestObserver
from statefun_faas.functions import StatefulFunctions
from statefun_faas.handler import RequestReplyHandler

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
else:
    StartResponse = Callable[..., Any]
    WSGIEnvironment = dict[str, Any]


class _Input(Protocol):
    def read(self, size: int, /) -> bytes: ...


class StatefunWSGIApp:
    """The WSGI callable; build it with :func:`wsgi_app`."""

    __slots__ = ("edge",)

    def __init__(self, edge: Edge) -> None:
        self.edge = edge

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = self.answer(environ)
        status = f"{response.status} {HTTPStatus(response.status).phrase}"
        start_response(status, list(response.headers.items()))
        return [response.body]

    def answer(self, environ: WSGIEnvironment) -> EdgeResponse:
        length = declared_length(environ.get("CONTENT_LENGTH"))
        if isinstance(length, EdgeResponse):
            return length
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/") or "/"
        early = self.edge.precheck(method, path, environ.get("QUERY_STRING", ""), length)
        if early is not None:
            return early
        stream: _Input = environ["wsgi.input"]
        if length is None and not environ.get("wsgi.input_terminated", False):
            length = 0  # PEP 3333: without CONTENT_LENGTH (and no terminated input) there is no body
        body = read_limited(self.edge, stream.read, length)
        if isinstance(body, EdgeResponse):
            return body
        return self.edge.handle_body(body)


def wsgi_app(
    functions_or_handler: StatefulFunctions | RequestReplyHandler,
    *,
    tokens: Sequence[str] | None = None,
    max_body_bytes: int | None = None,
    max_invocations: int | None = None,
    observe: RequestObserver | None = None,
) -> StatefunWSGIApp:
    """A WSGI app for a registry (or a ready handler).

    ``tokens`` default to ``STATEFUN_FAAS_TOKENS`` (none: no token check); ``max_body_bytes``
    to ``STATEFUN_FAAS_MAX_BODY_BYTES``, then 32 MiB; ``max_invocations`` (per request) to
    ``STATEFUN_FAAS_MAX_INVOCATIONS``, then 100,000.
    ``observe`` is told of every request (see :class:`~statefun_faas.adapters.edge.RequestObserver`).
    """
    edge = Edge.create(
        functions_or_handler,
        "wsgi",
        tokens=tokens,
        max_body_bytes=max_body_bytes,
        max_invocations=max_invocations,
        observe=observe,
    )
    return StatefunWSGIApp(edge)
