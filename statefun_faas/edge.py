"""The HTTP edge every adapter shares: routes, token check, size limit, status codes, logs.

An adapter turns its platform's request into ``method, path, query, body`` and the
:class:`EdgeResponse` back into the platform's response. Nothing else.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from json.encoder import encode_basestring_ascii as _json_string
from urllib.parse import parse_qs

from statefun_faas.errors import (
    BadRequestError,
    FunctionInvocationError,
    StatefunFaasError,
    StateTypeMismatchError,
    UnknownFunctionError,
    clip,
)
from statefun_faas.functions import StatefulFunctions
from statefun_faas.handler import RequestReplyHandler, RequestTrace

logger = logging.getLogger("statefun_faas.edge")
request_logger = logging.getLogger("statefun_faas.requests")

OCTET_STREAM = "application/octet-stream"
TEXT = "text/plain; charset=utf-8"
HEALTH_PATH = "/healthz"
TOKENS_ENV = "STATEFUN_FAAS_TOKENS"
MAX_BODY_ENV = "STATEFUN_FAAS_MAX_BODY_BYTES"
REQUEST_LOG_ENV = "STATEFUN_FAAS_REQUEST_LOG"
MIB = 1024 * 1024

#: Body limits per platform, in bytes: the platform's own request cap, or StateFun's
#: default payload_max_bytes (32 MiB) where the platform allows more.
DEFAULT_MAX_BODY = {
    "aws": 6 * MIB,
    "gcp": 32 * MIB,
    "azure": 100 * MIB,
    "asgi": 32 * MIB,
    "wsgi": 32 * MIB,
}


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


def parse_tokens(raw: str | None) -> tuple[str, ...]:
    """The accepted tokens from ``STATEFUN_FAAS_TOKENS``: one, or two while rotating."""
    tokens = tuple(token.strip() for token in (raw or "").split(",") if token.strip())
    if len(tokens) > 2:
        raise ValueError(f"{TOKENS_ENV} holds {len(tokens)} tokens; give one, or two while rotating")
    return tokens


class _Cold:
    """True for the first request this process serves."""

    first = True

    def take(self) -> bool:
        first, self.first = self.first, False
        return first


_cold = _Cold()


LineSink = Callable[[str], object]


def _write_line(fd: int) -> LineSink:
    def write(line: str) -> None:
        os.write(fd, (line + "\n").encode("utf-8"))  # one unbuffered write: lines never interleave

    return write


def request_log_sink(setting: str | None) -> LineSink | None:
    """Where the per-request JSON lines go, from ``STATEFUN_FAAS_REQUEST_LOG``.

    ``stderr`` (default) and ``stdout`` write each line straight to the stream, which every
    FaaS platform collects as one log entry, without the cost of the logging machinery on the
    hot path; ``logging`` hands them to the logger ``statefun_faas.requests`` at INFO; ``off``.
    """
    mode = (setting or "stderr").strip().lower()
    if mode == "off":
        return None
    if mode in ("stderr", "stdout"):
        return _write_line(2 if mode == "stderr" else 1)
    if mode == "logging":
        return request_logger.info
    raise ValueError(f"{REQUEST_LOG_ENV}={setting!r}: use stderr, stdout, logging or off")


class Edge:
    """The platform-free HTTP behaviour of a function endpoint."""

    def __init__(
        self,
        handler: RequestReplyHandler,
        platform: str,
        tokens: tuple[str, ...] = (),
        max_body_bytes: int = 32 * MIB,
        request_log: LineSink | None = None,
    ) -> None:
        self.handler = handler
        self.platform = platform
        self.tokens = tokens
        self.max_body_bytes = max_body_bytes
        self.request_log = request_log
        self._platform_json = _json_string(platform)
        self._token_bytes = tuple(token.encode("utf-8", "surrogatepass") for token in tokens)

    @classmethod
    def create(
        cls,
        functions: StatefulFunctions | RequestReplyHandler,
        platform: str,
        *,
        tokens: Sequence[str] | None = None,
        max_body_bytes: int | None = None,
        request_log: LineSink | None = None,
    ) -> Edge:
        """An edge for ``platform``; tokens, limit and request log default to the environment."""
        handler = functions if isinstance(functions, RequestReplyHandler) else RequestReplyHandler(functions)
        if tokens is None:
            tokens = parse_tokens(os.environ.get(TOKENS_ENV))
        if max_body_bytes is None:
            raw = os.environ.get(MAX_BODY_ENV)
            max_body_bytes = int(raw) if raw else DEFAULT_MAX_BODY.get(platform, 32 * MIB)
        if request_log is None:
            request_log = request_log_sink(os.environ.get(REQUEST_LOG_ENV))
        return cls(handler, platform, tuple(tokens), max_body_bytes, request_log)

    # -- checks made before the body is read --------------------------------------------------

    def precheck(
        self, method: str, path: str, query: str | Mapping[str, str], content_length: int | None = None
    ) -> EdgeResponse | None:
        """The answer for a request that must not reach the handler, else None."""
        method = method.upper()
        if method == "GET" and _strip_token_prefix(path) == HEALTH_PATH:
            return EdgeResponse(200, b"ok\n")
        if method != "POST":
            return text(405, f"method {clip(method)} not allowed: StateFun functions are called with POST")
        if self._token_bytes and not self._token_ok(path, query):
            return text(401, "unauthorized")
        if content_length is not None and content_length > self.max_body_bytes:
            return self.too_large(content_length)
        return None

    def too_large(self, size: int) -> EdgeResponse:
        return text(
            413,
            f"request body of {size} bytes is over the limit of {self.max_body_bytes} bytes; "
            f"lower maxNumBatchRequests in module.yaml or raise {MAX_BODY_ENV}",
        )

    def _token_ok(self, path: str, query: str | Mapping[str, str]) -> bool:
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
        if len(body) > self.max_body_bytes:
            return self.too_large(len(body))
        trace, started = RequestTrace(), time.perf_counter()
        try:
            return self._log(EdgeResponse(200, self.handler.handle_sync(body, trace), OCTET_STREAM), trace, started)
        except Exception as error:  # every failure becomes an answer; the process keeps serving
            return self._log(_failure(error), trace, started)

    async def handle_body_async(self, body: bytes) -> EdgeResponse:
        """:meth:`handle_body` for hosts with a running event loop."""
        if len(body) > self.max_body_bytes:
            return self.too_large(len(body))
        trace, started = RequestTrace(), time.perf_counter()
        try:
            reply = await self.handler.handle_async(body, trace)
            return self._log(EdgeResponse(200, reply, OCTET_STREAM), trace, started)
        except Exception as error:
            return self._log(_failure(error), trace, started)

    async def handle_async(
        self, method: str, path: str, query: str | Mapping[str, str], body: Callable[[], Awaitable[bytes]]
    ) -> EdgeResponse:
        early = self.precheck(method, path, query)
        if early is not None:
            return early
        return await self.handle_body_async(await body())

    def _log(self, response: EdgeResponse, trace: RequestTrace, started: float) -> EdgeResponse:
        cold = _cold.take()
        if self.request_log is not None:
            # Formatted by hand (only the two strings from the request need JSON escaping):
            # several times cheaper than json.dumps of a dict, on every request.
            self.request_log(
                _REQUEST_LINE
                % (
                    self._platform_json,
                    response.status,
                    _json_string(trace.typename),
                    _json_string(trace.id),
                    trace.batch_size,
                    (time.perf_counter() - started) * 1000.0,
                    "true" if cold else "false",
                )
            )
        return response


_REQUEST_LINE = (
    '{"platform": %s, "status": %d, "typename": %s, "id": %s, "batch": %d, "duration_ms": %.3f, "cold_start": %s}'
)


def _failure(error: Exception) -> EdgeResponse:
    """Map an error from the handler to the status table of the HTTP edge."""
    if isinstance(error, BadRequestError):
        return text(400, f"bad request: {error}")
    if isinstance(error, UnknownFunctionError):
        return text(404, f"unknown function {clip(error.typename)}")
    if isinstance(error, StateTypeMismatchError):
        logger.error("%s", error)
        return text(500, f"state type mismatch: {error}")
    if isinstance(error, FunctionInvocationError):
        logger.error("%s", error, exc_info=error.original)
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


_CREDENTIAL_PARAMS = ("token", "code")


def redact_url(url: str) -> str:
    """``url`` with its credentials (``/t/<token>/``, ``?token=``, Azure's ``?code=``) replaced by ``***``.

    For logs and error texts: a function URL in module.yaml may carry a secret.
    """
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    path = parts.path
    token = _path_token(path)
    if token is not None:
        path = "/t/***" + path[len("/t/") + len(token) :]
    query = "&".join(
        f"{name}=***" if name in _CREDENTIAL_PARAMS else pair
        for pair in parts.query.split("&")
        for name in [pair.partition("=")[0]]
    )
    return urlunsplit((parts.scheme, parts.netloc, path, query if parts.query else "", parts.fragment))
