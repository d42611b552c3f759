"""AWS Lambda: a plain ``handler(event, context)`` for StateFun remote functions.

Usage, in the module the Lambda configuration names (``app.handler``)::

    from statefun_faas.adapters.aws_lambda import lambda_handler
    from my_functions import functions

    handler = lambda_handler(functions)

The handler understands the three HTTP front doors of Lambda and answers each in its own
form (see ``_lambda_events``):

* a Lambda function URL, or an API Gateway HTTP API (payload format 2.0);
* an API Gateway REST API proxy integration (payload format 1.0). Its ``binaryMediaTypes``
  must contain ``application/octet-stream``: without it API Gateway hands the protobuf body
  over as text, damaged beyond repair, and the handler answers 415 saying so;
* an Application Load Balancer target group, with or without multi-value headers (the
  answer uses the same header form as the event). The load balancer caps bodies at 1 MB.

The request body is base64-decoded (400 when that fails), handed to the shared HTTP edge
(token check first, then the size limit, default 6 MiB, then the protocol core) and the
protocol answer goes back base64-encoded with ``Content-Type: application/octet-stream``
exactly. Each call runs synchronously: no event loop is created per call (async functions
run on one loop kept per thread). An event of any other kind raises
:class:`UnsupportedEventError`, which Lambda reports as the invocation's error.

One JSON line per request goes to stderr, which Lambda sends to CloudWatch
(``STATEFUN_FAAS_REQUEST_LOG``: ``stderr`` by default, ``stdout``, ``logging`` for the
logger ``statefun_faas.requests`` at INFO, or ``off``).

Already on mangum? The ASGI app works behind it too, as long as lifespan is off (otherwise
mangum runs ASGI startup and shutdown around every call)::

    from mangum import Mangum
    from statefun_faas.adapters.asgi import asgi_app

    handler = Mangum(asgi_app(functions), lifespan="off")

The thin handler here is still the recommended one: it imports less (faster cold start),
answers 415 for the REST-without-binary case instead of passing garbage on, and does not
depend on the thread's current event loop.
"""

from __future__ import annotations

import binascii
from binascii import a2b_base64, b2a_base64
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from statefun_faas.adapters._lambda_events import (
    HttpV2,
    Shape,
    UnsupportedEventError,
    malformed,
    shape_of,
    text_field,
)
from statefun_faas.adapters.edge import OCTET_STREAM, Edge, EdgeResponse, text

if TYPE_CHECKING:
    from statefun_faas.adapters._lambda_types import (
        AlbEvent,
        HttpV2Event,
        LambdaContext,
        LambdaEvent,
        LambdaResponse,
        RestV1Event,
    )
    from statefun_faas.functions import StatefulFunctions
    from statefun_faas.handler import RequestReplyHandler

__all__ = [
    "AlbEvent",
    "HttpV2Event",
    "LambdaContext",
    "LambdaEvent",
    "LambdaHandler",
    "LambdaResponse",
    "RestV1Event",
    "UnsupportedEventError",
    "lambda_handler",
]

LambdaHandler = Callable[[Mapping[str, Any], "LambdaContext | None"], "LambdaResponse"]

_TYPES = frozenset({"AlbEvent", "HttpV2Event", "LambdaContext", "LambdaEvent", "LambdaResponse", "RestV1Event"})


def __getattr__(name: str) -> Any:
    """The event and context types, loaded on first use: building them costs cold-start time."""
    if name in _TYPES:
        from statefun_faas.adapters import _lambda_types

        return getattr(_lambda_types, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def lambda_handler(
    functions_or_handler: StatefulFunctions | RequestReplyHandler,
    *,
    tokens: Sequence[str] | None = None,
    max_body_bytes: int | None = None,
    max_invocations: int | None = None,
) -> LambdaHandler:
    """A Lambda handler serving ``functions_or_handler``.

    ``tokens`` default to ``STATEFUN_FAAS_TOKENS`` and ``max_body_bytes`` to
    ``STATEFUN_FAAS_MAX_BODY_BYTES``, then to Lambda's own 6 MiB request cap;
    ``max_invocations`` (per request) to ``STATEFUN_FAAS_MAX_INVOCATIONS``, then 100,000.
    """
    edge = Edge.create(
        functions_or_handler, "aws", tokens=tokens, max_body_bytes=max_body_bytes, max_invocations=max_invocations
    )

    def handler(event: Mapping[str, Any], context: LambdaContext | None = None) -> LambdaResponse:
        body = _v2_body(edge, event)
        if body is None:  # not the common case: every shape, check and answer the general way
            shape = shape_of(event)
            return _answer(shape, event, _serve(edge, shape, event))
        reply = edge.answer(body)
        if isinstance(reply, EdgeResponse):
            return _answer(HttpV2, event, reply)
        encoded = b2a_base64(reply, newline=False).decode("ascii")
        return {"statusCode": 200, "headers": {"Content-Type": OCTET_STREAM}, "body": encoded, "isBase64Encoded": True}

    return handler


def _v2_body(edge: Edge, event: Mapping[str, Any]) -> bytes | None:
    """The decoded body of a plain function URL / HTTP API 2.0 POST that passes the edge's checks.

    The fast path of the common case: it reads only the fields it needs, straight from the
    runtime's dicts, and builds nothing on the way. None for anything else (other shapes and
    methods, missing fields or unusual types, a failed check, bad base64), which then takes
    the general path of :func:`_serve` and gets its answer or its error there.
    """
    if event.__class__ is not dict or event.get("version") != "2.0":  # no exception for the other shapes
        return None
    try:
        if event["requestContext"]["http"]["method"] != "POST":
            return None
        raw, path, query = event["body"], event["rawPath"], event["rawQueryString"]
        plain = event["isBase64Encoded"] is not True
    except (KeyError, TypeError):  # not there, or not a JSON object where one is expected
        return None
    if (
        plain
        or raw.__class__ is not str
        or path.__class__ is not str
        or not path
        or query.__class__ is not str
        or len(raw) * 3 // 4 > edge.max_body_bytes  # never less than the decoded size
        or (edge.tokens and not edge.token_ok(path, query))
    ):
        return None
    try:
        return a2b_base64(raw, strict_mode=True)
    except (binascii.Error, ValueError):
        return None


def _serve(edge: Edge, shape: Shape, event: Mapping[str, Any]) -> EdgeResponse:
    """Run one event through the edge: checks before the body, then decode, then the core."""
    raw = text_field(shape, "body", event.get("body"))
    is_base64 = event.get("isBase64Encoded", False)
    if not isinstance(is_base64, bool):
        raise malformed(shape, "isBase64Encoded", is_base64, "true or false")
    size = _decoded_size(raw) if is_base64 else len(raw)
    early = edge.precheck(shape.method(event), shape.path(event), shape.query(event), size)
    if early is not None:
        return early
    if raw and not is_base64:
        return text(415, f"the request body arrived as text, not as binary; {shape.text_hint}")
    try:
        body = a2b_base64(raw, strict_mode=True)
    except (binascii.Error, ValueError):
        return text(400, "the request body is marked base64 but is not valid base64")
    return edge.handle_body(body)


def _answer(shape: Shape, event: Mapping[str, Any], response: EdgeResponse) -> LambdaResponse:
    if response.content_type == OCTET_STREAM:
        encoded = b2a_base64(response.body, newline=False).decode("ascii")
        return shape.respond(event, response, encoded, True)
    return shape.respond(event, response, response.body.decode("utf-8"), False)


def _decoded_size(encoded: str) -> int:
    """The length base64 text decodes to, known before decoding it."""
    padding = 2 if encoded.endswith("==") else 1 if encoded.endswith("=") else 0
    return len(encoded) * 3 // 4 - padding
