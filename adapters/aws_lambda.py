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

The URL tokens come from the ``tokens`` argument, else from ``STATEFUN_FAAS_TOKENS``, else
from the Secrets Manager secret ``STATEFUN_FAAS_TOKENS_SECRET`` names or the SSM parameter
``STATEFUN_FAAS_TOKENS_PARAMETER`` names (see ``_aws_secrets``; the templates in deploy/aws set
the secret's ARN). Such a reference is read once per execution environment, when
:func:`lambda_handler` runs: at module load, in Lambda's init phase, which is a cold start's
anyway, which provisioned concurrency and SnapStart run before any request arrives, and where
``STATEFUN_FAAS_TOKENS`` is read too. When that read fails, the error goes to the log (naming
the reference and the permission the role needs) and every request is answered 503 with a
short text, while a new read is tried at most every 10 s: the environment keeps running, and
serves as soon as the secret is readable, instead of failing its init again on each request.
A secret changed later is read by new execution environments only: see docs/security.md for
rotation.

The request body is base64-decoded (400 when that fails), handed to the shared HTTP edge
(token check first, then the size limit, default 6 MiB, then the protocol core) and the
protocol answer goes back base64-encoded with ``Content-Type: application/octet-stream``
exactly. Each call runs synchronously: no event loop is created per call (async functions
run on one loop kept per thread). An event of any other kind raises
:class:`UnsupportedEventError`, which Lambda reports as the invocation's error.

One JSON line per request goes to stderr, which Lambda sends to CloudWatch
(``STATEFUN_FAAS_REQUEST_LOG``: ``stderr`` by default, ``stdout``, ``logging`` for the
logger ``statefun_faas.requests`` at INFO, or ``off``). With
``STATEFUN_FAAS_REQUEST_LOG_FORMAT=emf`` the line is in the CloudWatch Embedded Metric Format:
CloudWatch Logs makes metrics of it (Duration, BatchSize, RequestBytes, ResponseBytes,
ClientErrors, ServerErrors by FunctionType, in the namespace ``STATEFUN_FAAS_EMF_NAMESPACE``,
default ``statefun-faas``), with no agent and no API call. ``observe=`` hands each request to a
callable of your own (see ``edge.RequestObserver``).

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
import logging
import time
from binascii import a2b_base64, b2a_base64
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from statefun_faas.adapters._aws_secrets import TokenReadError, TokenReference, read_tokens, token_reference
from statefun_faas.adapters._lambda_events import (
    HttpV2,
    Shape,
    UnsupportedEventError,
    malformed,
    shape_of,
    text_field,
)
from statefun_faas.adapters.edge import OCTET_STREAM, TEXT, Edge, EdgeResponse, RequestObserver, text

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

logger = logging.getLogger(__name__)
#: Seconds between two tries to read the tokens while they can not be read.
RETRY_SECONDS = 10.0
UNAVAILABLE = "the function's URL tokens can not be read; see the function's log\n"

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
    observe: RequestObserver | None = None,
) -> LambdaHandler:
    """A Lambda handler serving ``functions_or_handler``.

    ``tokens`` default to ``STATEFUN_FAAS_TOKENS``, or to what the secret or parameter
    ``STATEFUN_FAAS_TOKENS_SECRET`` / ``STATEFUN_FAAS_TOKENS_PARAMETER`` names holds, read here;
    ``max_body_bytes`` to ``STATEFUN_FAAS_MAX_BODY_BYTES``, then to Lambda's own 6 MiB request cap;
    ``max_invocations`` (per request) to ``STATEFUN_FAAS_MAX_INVOCATIONS``, then 100,000.
    ``observe`` is told of every request (see :class:`~statefun_faas.adapters.edge.RequestObserver`).
    """
    reference = token_reference() if tokens is None else None
    edge = Edge.create(
        functions_or_handler,
        "aws",
        tokens=() if reference is not None else tokens,
        max_body_bytes=max_body_bytes,
        max_invocations=max_invocations,
        observe=observe,
    )
    if reference is None:
        return _handler(edge)
    pending = _PendingTokens(edge, reference)
    ready = pending.read()
    return _handler(ready) if ready is not None else _handler_awaiting_tokens(pending)


def _handler(edge: Edge) -> LambdaHandler:
    def handler(event: Mapping[str, Any], context: LambdaContext | None = None) -> LambdaResponse:
        shape: Shape = HttpV2
        reply = _serve_v2(edge, event)
        if reply is None:  # not the common case: every shape, read the general way
            shape = shape_of(event)
            reply = _serve(edge, shape, *_request(shape, event))
        if isinstance(reply, EdgeResponse):  # the edge's own answers are text
            return shape.respond(event, reply.status, reply.content_type, reply.body.decode("utf-8"), False)
        return shape.respond(event, 200, OCTET_STREAM, b2a_base64(reply, newline=False).decode("ascii"), True)

    return handler


class _PendingTokens:
    """An edge whose tokens are still to be read from ``reference``."""

    def __init__(self, edge: Edge, reference: TokenReference) -> None:
        self.edge = edge
        self.reference = reference
        self.next_read = 0.0

    def read(self) -> Edge | None:
        """The edge with the tokens read, or None: the read failed now (said in the log) or less than
        RETRY_SECONDS ago."""
        now = time.monotonic()
        if now < self.next_read:
            return None
        self.next_read = now + RETRY_SECONDS
        try:
            tokens = read_tokens(self.reference)
        except TokenReadError as error:
            logger.error(
                "%s. Every request is answered 503 until the tokens are read (tried again in %g s)",
                error,
                RETRY_SECONDS,
            )
            return None
        return self.edge.with_tokens(tokens)


def _handler_awaiting_tokens(pending: _PendingTokens) -> LambdaHandler:
    """A handler answering 503 until ``pending`` reads the tokens, then serving like :func:`_handler`."""
    serving: LambdaHandler | None = None

    def handler(event: Mapping[str, Any], context: LambdaContext | None = None) -> LambdaResponse:
        nonlocal serving
        if serving is None:
            ready = pending.read()
            if ready is None:
                return shape_of(event).respond(event, 503, TEXT, UNAVAILABLE, False)
            serving = _handler(ready)
        return serving(event, context)

    return handler


def _serve_v2(edge: Edge, event: Mapping[str, Any]) -> bytes | EdgeResponse | None:
    """:func:`_serve` for a function URL / HTTP API 2.0 event whose fields all have their usual types.

    The fast path of the common case: it reads only the fields it needs, straight from the
    runtime's dicts, and builds nothing on the way; the rules are :func:`_serve`'s, the same for
    every shape. None for anything else (other shapes, missing fields or unusual types), which
    :func:`_request` then reads, or refuses with a clear error.
    """
    if event.__class__ is not dict or event.get("version") != "2.0":  # no exception for the other shapes
        return None
    try:
        method = event["requestContext"]["http"]["method"]
        path, query, raw, is_base64 = event["rawPath"], event["rawQueryString"], event["body"], event["isBase64Encoded"]
    except (KeyError, TypeError):  # not there, or not a JSON object where one is expected
        return None
    if (
        method.__class__ is not str
        or path.__class__ is not str
        or not path  # the general way falls back to requestContext.http.path
        or query.__class__ is not str
        or raw.__class__ is not str
        or is_base64.__class__ is not bool
    ):
        return None
    return _serve(edge, HttpV2, method, path, query, raw, is_base64)


def _request(shape: Shape, event: Mapping[str, Any]) -> tuple[str, str, str | Mapping[str, str], str, bool]:
    """Method, path, query, body as sent and whether it is base64; a field of the wrong type is a clear error."""
    raw = text_field(shape, "body", event.get("body"))
    is_base64 = event.get("isBase64Encoded", False)
    if not isinstance(is_base64, bool):
        raise malformed(shape, "isBase64Encoded", is_base64, "true or false")
    return shape.method(event), shape.path(event), shape.query(event), raw, is_base64


def _serve(
    edge: Edge, shape: Shape, method: str, path: str, query: str | Mapping[str, str], raw: str, is_base64: bool
) -> bytes | EdgeResponse:
    """Run one request through the edge: its checks before the body, then decode, then the core.

    The protocol reply, else the answer to give (as :meth:`Edge.answer`).
    """
    size = len(raw)
    if is_base64:
        size = size * 3 // 4  # the decoded size, or at most 2 over it: made exact where the limit is in question
        if size > edge.max_body_bytes:
            size = _decoded_size(raw)
    early = edge.precheck(method, path, query, size)
    if early is not None:
        return early
    if raw and not is_base64:
        return text(415, f"the request body arrived as text, not as binary; {shape.text_hint}")
    try:
        body = a2b_base64(raw, strict_mode=True)
    except (binascii.Error, ValueError):
        return text(400, "the request body is marked base64 but is not valid base64")
    return edge.answer(body)


def _decoded_size(encoded: str) -> int:
    """The length base64 text decodes to, known before decoding it."""
    padding = 2 if encoded.endswith("==") else 1 if encoded.endswith("=") else 0
    return len(encoded) * 3 // 4 - padding
