"""The HTTP edge every adapter shares: routes, token check, size limit, status codes, logs, metrics.

An adapter turns its platform's request into ``method, path, query, body`` and the
:class:`EdgeResponse` back into the platform's response. Nothing else.

Every request answered here is told to an optional :class:`RequestObserver` (each adapter's factory
takes one as ``observe=``): the function type, the status, the seconds it took and the sizes of both
bodies, so an application can feed its own metrics (a Prometheus histogram, StatsD, ...). The
per-request log line is JSON, or in the CloudWatch Embedded Metric Format with
``STATEFUN_FAAS_REQUEST_LOG_FORMAT=emf`` (CloudWatch Logs then makes metrics of it; see
docs/observability.md).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from time import monotonic, perf_counter_ns
from typing import Protocol
from urllib.parse import parse_qs

from statefun_faas.adapters._request_log import (
    EMF_NAMESPACE_ENV,
    REQUEST_LOG_ENV,
    REQUEST_LOG_FORMAT_ENV,
    LineSink,
    RequestLine,
    emf_namespace,
    request_log_sink,
)
from statefun_faas.adapters._request_log import write as write_line
from statefun_faas.errors import (
    BadRequestError,
    FunctionInvocationError,
    StatefunFaasError,
    StateTypeMismatchError,
    TooManyInvocationsError,
    UnknownFunctionError,
    clip,
)
from statefun_faas.functions import StatefulFunctions
from statefun_faas.handler import RequestReplyHandler, RequestTrace
from statefun_faas.redact import redact_url as redact_url  # re-exported: adapters and the runtime log URLs

logger = logging.getLogger("statefun_faas.adapters.edge")

OCTET_STREAM = "application/octet-stream"
TEXT = "text/plain; charset=utf-8"
HEALTH_PATH = "/healthz"
TOKENS_ENV = "STATEFUN_FAAS_TOKENS"
MAX_BODY_ENV = "STATEFUN_FAAS_MAX_BODY_BYTES"
MAX_INVOCATIONS_ENV = "STATEFUN_FAAS_MAX_INVOCATIONS"
MIB = 1024 * 1024
#: a function that raises the same exception again within this many seconds is logged in one line, not with its
#: traceback again
TRACEBACK_EVERY_S = 60.0
AGAIN = f"the same as before: its traceback was logged in the last {TRACEBACK_EVERY_S:g} s"

#: Body limits per platform, in bytes: the platform's own request cap, or StateFun's
#: default payload_max_bytes (32 MiB) where the platform allows more.
DEFAULT_MAX_BODY = {
    "aws": 6 * MIB,
    "gcp": 32 * MIB,
    "azure": 100 * MIB,
    "asgi": 32 * MIB,
    "wsgi": 32 * MIB,
}

#: Invocations (and state values) one request may carry. StateFun puts ``maxNumBatchRequests``
#: messages in a batch (default 1,000; its own examples use 10,000), and can go past it when one
#: answer sends many messages to an address whose batch is full: 100,000 leaves room for that,
#: while a body of millions of two-byte empty invocations is refused before any of them runs.
DEFAULT_MAX_INVOCATIONS = 100_000


class EdgeResponse:
    """What to answer: a status, a body and its content type."""

    __slots__ = ("status", "body", "content_type")

    def __init__(self, status: int, body: bytes, content_type: str = TEXT) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type

    def __repr__(self) -> str:
        return f"EdgeResponse({self.status}, {self.body[:60]!r}, {self.content_type!r})"

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Type": self.content_type, "Content-Length": str(len(self.body))}


def text(status: int, message: str) -> EdgeResponse:
    """A short plain-text answer, for every status but a protocol success."""
    return EdgeResponse(status, (message + "\n").encode("utf-8", "replace"))  # echoed text may hold lone surrogates


def parse_tokens(raw: str | None, source: str = TOKENS_ENV) -> tuple[str, ...]:
    """The accepted tokens from ``STATEFUN_FAAS_TOKENS`` (or the ``source`` named): one, or two while rotating.

    An Azure app setting whose Key Vault reference the platform could not resolve holds the
    reference's own text, which names the secret but is no secret: refused, never a token.
    """
    if (raw or "").lstrip().startswith("@Microsoft.KeyVault("):
        raise ValueError(
            f"{source} is an unresolved Key Vault reference: the Function App's identity can not read the "
            "secret; give it the Key Vault Secrets User role on the secret (deploy/azure/terraform does), "
            "then restart the app"
        )
    tokens = tuple(token.strip() for token in (raw or "").split(",") if token.strip())
    if len(tokens) > 2:
        raise ValueError(f"{source} holds {len(tokens)} tokens; give one, or two while rotating")
    return tokens


def _limit_setting(name: str, default: int) -> int:
    """A positive limit from the environment variable ``name``, else ``default``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if raw.isascii() and raw.isdigit() and int(raw) > 0:
        return int(raw)
    raise ValueError(f"{name}={raw!r}: give a positive whole number, or leave it unset for {default}")


_cold_start = True  # until the process has served its first request


class RequestObserver(Protocol):
    """Told of every request the edge answered, once it is answered (``observe=`` of each adapter's factory).

    ``function_type`` is the typename of the batch's target, ``""`` when the request was answered before its
    body was read (401, 405, 413) or could not be parsed; ``seconds`` is the time the handler took (0.0 for
    those); ``request_bytes`` the body's size (as declared, or 0 when unknown, for those). It runs on the
    request's thread or event loop, so it should be quick; what it raises is logged, never answered."""

    def __call__(
        self, function_type: str, status: int, seconds: float, request_bytes: int, response_bytes: int
    ) -> object: ...


class Edge:
    """The platform-free HTTP behaviour of a function endpoint."""

    def __init__(
        self,
        handler: RequestReplyHandler,
        platform: str,
        tokens: tuple[str, ...] = (),
        max_body_bytes: int = 32 * MIB,
        request_log: LineSink | None = None,
        max_invocations: int = DEFAULT_MAX_INVOCATIONS,
        observe: RequestObserver | None = None,
        emf_namespace: str | None = None,
    ) -> None:
        self.handler = handler
        self.platform = platform
        self.tokens = tokens
        self.max_body_bytes = max_body_bytes
        self.request_log = request_log
        self.max_invocations = max_invocations
        self.observe = observe
        self.emf_namespace = emf_namespace  # request lines in the Embedded Metric Format, in this namespace
        self._line = RequestLine(platform, emf_namespace)
        self._token_bytes = tuple(token.encode("utf-8", "surrogatepass") for token in tokens)
        self._tracebacks: dict[tuple[str, str, str], float] = {}  # (type, exception, text) -> when last logged

    def with_tokens(self, tokens: Sequence[str]) -> Edge:
        """The same edge with other tokens (read after it was made, as the Lambda adapter does)."""
        return Edge(
            *(self.handler, self.platform, tuple(tokens), self.max_body_bytes, self.request_log, self.max_invocations),
            *(self.observe, self.emf_namespace),
        )

    @classmethod
    def create(
        cls,
        functions: StatefulFunctions | RequestReplyHandler,
        platform: str,
        *,
        tokens: Sequence[str] | None = None,
        max_body_bytes: int | None = None,
        request_log: LineSink | None = None,
        max_invocations: int | None = None,
        observe: RequestObserver | None = None,
    ) -> Edge:
        """An edge for ``platform``; tokens, limits and request log (where and in which format) default to the
        environment. ``observe`` is told of every request (:class:`RequestObserver`)."""
        handler = functions if isinstance(functions, RequestReplyHandler) else RequestReplyHandler(functions)
        if tokens is None:
            tokens = parse_tokens(os.environ.get(TOKENS_ENV))
        if max_body_bytes is None:
            max_body_bytes = _limit_setting(MAX_BODY_ENV, DEFAULT_MAX_BODY.get(platform, 32 * MIB))
        if max_invocations is None:
            max_invocations = _limit_setting(MAX_INVOCATIONS_ENV, DEFAULT_MAX_INVOCATIONS)
        if request_log is None:
            request_log = request_log_sink(os.environ.get(REQUEST_LOG_ENV))
        namespace = emf_namespace(os.environ.get(REQUEST_LOG_FORMAT_ENV), os.environ.get(EMF_NAMESPACE_ENV))
        return cls(handler, platform, tuple(tokens), max_body_bytes, request_log, max_invocations, observe, namespace)

    # -- checks made before the body is read --------------------------------------------------

    def precheck(
        self, method: str, path: str, query: str | Mapping[str, str], content_length: int | None = None
    ) -> EdgeResponse | None:
        """The answer for a request that must not reach the handler, else None."""
        if method != "POST":  # the common case needs no upper()
            method = method.upper()
            if method == "GET" and _strip_token_prefix(path) == HEALTH_PATH:
                return EdgeResponse(200, b"ok\n")
            if method != "POST":
                refused = text(405, f"method {clip(method)} not allowed: StateFun functions are called with POST")
                return self._observed(refused, content_length or 0)
        if self._token_bytes and not self.token_ok(path, query):
            return self._observed(text(401, "unauthorized"), content_length or 0)
        if content_length is not None and content_length > self.max_body_bytes:
            return self._observed(self.too_large(content_length), content_length)
        return None

    def _observed(self, response: EdgeResponse, request_bytes: int) -> EdgeResponse:
        """An answer given before the body was read or parsed, told to the observer."""
        if self.observe is not None:
            _tell(self.observe, "", response.status, 0.0, request_bytes, len(response.body))
        return response

    def too_large(self, size: int) -> EdgeResponse:
        return text(
            413,
            f"request body of {size} bytes is over the limit of {self.max_body_bytes} bytes; "
            f"lower maxNumBatchRequests in module.yaml or raise {MAX_BODY_ENV}",
        )

    def token_ok(self, path: str, query: str | Mapping[str, str]) -> bool:
        """Whether the URL carries an accepted token: True when no tokens are set."""
        if not self._token_bytes:
            return True
        import hmac  # here, not at the top: it loads OpenSSL, ~4 ms of cold start for endpoints without tokens

        offered = [_path_token(path)]
        if isinstance(query, str):
            offered.extend(parse_qs(query).get("token", []))
        elif query.get("token") is not None:
            offered.append(query["token"])
        ok = False
        for candidate in offered:
            if candidate is None:
                continue
            data = candidate.encode("utf-8", "surrogatepass")  # decoded URLs may carry lone surrogates
            for token in self._token_bytes:
                ok |= hmac.compare_digest(data, token)
        return ok

    # -- the request itself ---------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: str | Mapping[str, str], body: bytes | Callable[[], bytes]
    ) -> EdgeResponse:
        """Answer a whole request; ``body`` may be a callable so it is read only after the checks."""
        early = self.precheck(method, path, query)
        if early is not None:
            return early
        data = body() if callable(body) else body
        return self.handle_body(data)

    def handle_body(self, body: bytes) -> EdgeResponse:
        """Answer a POST whose method, token and declared length already passed :meth:`precheck`."""
        reply = self.answer(body)
        return reply if isinstance(reply, EdgeResponse) else EdgeResponse(200, reply, OCTET_STREAM)

    def answer(self, body: bytes) -> bytes | EdgeResponse:
        """:meth:`handle_body` with a success left bare: the protocol reply, else the answer to give.

        For adapters that turn the reply into their platform's response directly.
        """
        if len(body) > self.max_body_bytes:
            return self._observed(self.too_large(len(body)), len(body))
        trace, started = RequestTrace(), perf_counter_ns()
        try:
            reply = self.handler.handle_sync(body, trace, self.max_invocations)
        except Exception as error:  # every failure becomes an answer; the process keeps serving
            return self._failed(error, trace, started, len(body))
        self._done(200, trace, started, len(body), len(reply))
        return reply

    async def handle_body_async(self, body: bytes) -> EdgeResponse:
        """:meth:`handle_body` for hosts with a running event loop."""
        if len(body) > self.max_body_bytes:
            return self._observed(self.too_large(len(body)), len(body))
        trace, started = RequestTrace(), perf_counter_ns()
        try:
            reply = await self.handler.handle_async(body, trace, self.max_invocations)
        except Exception as error:
            return self._failed(error, trace, started, len(body))
        self._done(200, trace, started, len(body), len(reply))
        return EdgeResponse(200, reply, OCTET_STREAM)

    async def handle_async(
        self, method: str, path: str, query: str | Mapping[str, str], body: Callable[[], Awaitable[bytes]]
    ) -> EdgeResponse:
        """:meth:`handle` for hosts with a running event loop; ``body`` is awaited only after the checks."""
        early = self.precheck(method, path, query)
        if early is not None:
            return early
        return await self.handle_body_async(await body())

    def _failed(self, error: Exception, trace: RequestTrace, started: int, request_bytes: int) -> EdgeResponse:
        response = _failure(error, not isinstance(error, FunctionInvocationError) or self._traceback_due(error))
        self._done(response.status, trace, started, request_bytes, len(response.body))
        return response

    def _traceback_due(self, error: FunctionInvocationError) -> bool:
        """Whether this failure's traceback is to be logged: not when the same function raised the same exception
        (type and text) within TRACEBACK_EVERY_S, as a batch with a poison message does again and again while
        the runtime retries it and delivers it again by halves."""
        key = (error.typename, type(error.original).__name__, str(error.original))
        now, said = monotonic(), self._tracebacks
        if now - said.get(key, -TRACEBACK_EVERY_S) < TRACEBACK_EVERY_S:
            return False
        if len(said) >= 1000:  # bounded however many distinct failures come
            said.clear()
        said[key] = now
        return True

    def _done(self, status: int, trace: RequestTrace, started: int, request_bytes: int, response_bytes: int) -> None:
        """A request the handler answered: told to the observer, and its line to the request log."""
        global _cold_start
        cold, _cold_start = _cold_start, False
        nanos = perf_counter_ns() - started
        if self.observe is not None:
            _tell(self.observe, trace.typename, status, nanos / 1e9, request_bytes, response_bytes)
        sink = self.request_log
        if sink is not None:
            line = self._line(
                status, trace.typename, trace.id, trace.batch_size, nanos, cold, request_bytes, response_bytes
            )
            write_line(sink, line)


def _tell(
    observe: RequestObserver, function_type: str, status: int, seconds: float, request_bytes: int, response_bytes: int
) -> None:
    try:
        observe(function_type, status, seconds, request_bytes, response_bytes)
    except Exception:  # the answer stands; the observer's failure is the log's
        logger.exception("the request observer failed")


def _failure(error: Exception, traceback: bool = True) -> EdgeResponse:
    """Map an error from the handler to the status table of the HTTP edge; a function that raised is logged with
    its traceback, or in one line when ``traceback`` is False."""
    if isinstance(error, TooManyInvocationsError):
        return text(413, f"{error}; lower maxNumBatchRequests in module.yaml or raise {MAX_INVOCATIONS_ENV}")
    if isinstance(error, BadRequestError):
        return text(400, f"bad request: {error}")
    if isinstance(error, UnknownFunctionError):
        return text(404, f"unknown function {clip(error.typename)}")
    if isinstance(error, StateTypeMismatchError):
        logger.error("%s", error)
        return text(500, f"state type mismatch: {error}")
    if isinstance(error, FunctionInvocationError):
        if traceback:
            logger.error("%s", error, exc_info=error.original)
        else:
            logger.error("%s (%s)", error, AGAIN)
        return text(500, f"function {error.typename} (id {clip(error.function_id)}) raised; see the function's logs")
    logger.error("request failed: %s", error, exc_info=error)
    if isinstance(error, StatefunFaasError):
        return text(500, f"function error: {error}")
    return text(500, "internal error; see the function's logs")


def _path_token(path: str) -> str | None:
    parts = path.split("/", 3)
    if len(parts) >= 3 and parts[0] == "" and parts[1] == "t" and parts[2]:
        return parts[2]
    return None


def _strip_token_prefix(path: str) -> str:
    if _path_token(path) is None:
        return path
    rest = path.split("/", 3)
    return "/" + (rest[3] if len(rest) > 3 else "")
