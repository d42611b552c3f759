"""Google Cloud Functions (gen2): an HTTP function for functions-framework.

In the function's ``main.py``::

    from statefun_faas.adapters.gcp import http_function
    from my_functions import functions

    statefun = http_function(functions)

deploy with ``gcloud functions deploy ... --gen2 --runtime python313 --trigger-http
--entry-point statefun`` (locally: ``functions-framework --target statefun``). The
framework serves the function with gunicorn threads; the handler is safe for that
(``async def`` functions run on an event loop kept per thread).

A refused request (401, 413, ...) is answered without reading its body. functions-framework
reads the whole body of every request after the function returned (an ``after_request`` hook),
except for streamed responses, so every answer goes back as a streamed response (its body an
iterator, with ``Content-Length`` set): an unauthenticated 200 MiB POST gets its 401 while it is
still being sent, and the server discards the rest as it arrives instead of holding it in memory.

Cloud Run (a container, no functions-framework) serves the plain ASGI app instead::

    app = statefun_faas.adapters.asgi.asgi_app(functions)   # uvicorn main:app --port $PORT
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from statefun_faas.adapters._extras import import_extra
from statefun_faas.adapters._http import read_limited
from statefun_faas.adapters.edge import Edge, EdgeResponse, RequestObserver
from statefun_faas.functions import StatefulFunctions
from statefun_faas.handler import RequestReplyHandler

if TYPE_CHECKING:
    import flask

EXTRA = "gcp"


def http_function(
    functions: StatefulFunctions | RequestReplyHandler,
    *,
    tokens: Sequence[str] | None = None,
    max_body_bytes: int | None = None,
    max_invocations: int | None = None,
    observe: RequestObserver | None = None,
) -> Callable[[flask.Request], flask.Response]:
    """A functions-framework HTTP function: ``fn(request: flask.Request) -> flask.Response``.

    ``tokens`` default to ``STATEFUN_FAAS_TOKENS``; ``max_body_bytes`` to
    ``STATEFUN_FAAS_MAX_BODY_BYTES``, then 32 MiB (the gen2 request cap); ``max_invocations``
    (per request) to ``STATEFUN_FAAS_MAX_INVOCATIONS``, then 100,000.
    ``observe`` is told of every request (see :class:`~statefun_faas.adapters.edge.RequestObserver`).
    """
    flask_module = import_extra("flask", EXTRA)
    response_class: type[flask.Response] = flask_module.Response
    edge = Edge.create(
        functions,
        EXTRA,
        tokens=tokens,
        max_body_bytes=max_body_bytes,
        max_invocations=max_invocations,
        observe=observe,
    )

    def statefun(request: flask.Request) -> flask.Response:
        answer = _answer(edge, request)
        # Streamed (an iterator has no len()): the framework's after_request hook then leaves
        # the unread part of the body alone, instead of reading all of it into memory.
        return response_class(
            iter((answer.body,)),
            status=answer.status,
            content_type=answer.content_type,
            headers={"Content-Length": str(len(answer.body))},
        )

    return statefun


def _answer(edge: Edge, request: flask.Request) -> EdgeResponse:
    query = request.query_string.decode("latin-1")
    early = edge.precheck(request.method, request.path, query, request.content_length)
    if early is not None:
        return early
    body = read_limited(edge, request.stream.read, request.content_length)
    if isinstance(body, EdgeResponse):
        return body
    return edge.handle_body(body)
