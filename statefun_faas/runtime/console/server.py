"""The console's port: the runtime's own HTTP/1.1 server, the access checks, and which page answers which path.

Every page is plain HTML built on the server (no script; a page may refresh itself with a meta refresh). The
pages read the runtime's store on its event loop, each with a few keyset-paged queries of at most
:data:`~statefun_faas.runtime.console.params.MOST_PER_PAGE` rows, between the router's transactions.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from http import HTTPStatus
from pathlib import Path

from statefun_faas.runtime.console import addresses, letters, overview
from statefun_faas.runtime.console.access import Access, require_token
from statefun_faas.runtime.console.layout import page, tag
from statefun_faas.runtime.console.params import Asked, BadParameterError, Params
from statefun_faas.runtime.console.source import Observed
from statefun_faas.runtime.console.values import Decoder
from statefun_faas.runtime.defaults import CONSOLE_PORT
from statefun_faas.runtime.http.server import HttpLimits, HttpServer, Request, Response

logger = logging.getLogger("statefun_faas.runtime")

DEFAULT_PORT = CONSOLE_PORT
HTML = "text/html; charset=utf-8"
MOST_BODY = 64 * 1024  # bytes of a form the console takes
MOST_CONNECTIONS = 64
SECURITY_HEADERS = (
    # no script, no frames, no foreign forms; inline style only
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
)


@dataclass(frozen=True)
class ConsoleOptions:
    """``port`` None: :data:`DEFAULT_PORT`, or any free port when that one is taken (said in the log); 0: any
    free port. ``tokens``: the accepted tokens (``STATEFUN_FAAS_TOKENS``), required off loopback.
    ``proto_descriptors``: a FileDescriptorSet file for showing protobuf values."""

    host: str = "127.0.0.1"
    port: int | None = None
    tokens: tuple[str, ...] = ()
    proto_descriptors: str | Path | None = None


#: a page: (the console, what it is asked) -> HTML or a whole response
Page = Callable[["Console", Asked], Awaitable[bytes | Response]]
GET_PAGES: dict[str, Page] = {
    "/": overview.overview,
    "/functions": overview.functions,
    "/addresses": addresses.addresses,
    "/address/": addresses.address,
    "/messages/": addresses.message,
    "/dead-letters": letters.dead_letters,
    "/metrics": overview.metrics,
}
POST_PAGES: dict[str, Page] = {"/dead-letters": letters.act}


class Console:
    """The console of ``runtime``: :meth:`start` binds its port (see :class:`ConsoleOptions`), :meth:`stop`."""

    def __init__(self, runtime: Observed, options: ConsoleOptions, limits: HttpLimits | None = None) -> None:
        require_token(options.host, options.tokens)
        self.runtime, self.options = runtime, options
        self.decoder = Decoder.with_descriptors(options.proto_descriptors)
        limits = limits or HttpLimits()
        self._server = HttpServer(
            self.handle,
            replace(limits, max_body=MOST_BODY, max_connections=min(limits.max_connections, MOST_CONNECTIONS)),
        )
        self.port = 0
        self.access = Access(options.tokens, 0)

    @property
    def url(self) -> str:
        host = f"[{self.options.host}]" if ":" in self.options.host else self.options.host
        return f"http://{host}:{self.port}/"

    async def start(self) -> None:
        sock = self._bind()
        self.port = sock.getsockname()[1]
        self.access = Access(self.options.tokens, self.port)
        await self._server.start(sock)

    def _bind(self) -> socket.socket:
        host, port = self.options.host, self.options.port
        try:
            return _listen(host, DEFAULT_PORT if port is None else port)
        except OSError as error:
            if port is not None:
                raise OSError(
                    f"can not listen on {host}:{port} for the console ({error.strerror}); change --console-port "
                    "(0 picks a free one) or turn it off with --no-console"
                ) from None
            # not a problem (no port was asked for): said at INFO, beside the line that gives the console's address
            logger.info("console port %d is taken (%s); the console takes a free port", DEFAULT_PORT, error.strerror)
            return _listen(host, 0)

    async def stop(self) -> None:
        await self._server.stop()

    async def handle(self, request: Request) -> Response:
        # a scraper keeps no cookie: /metrics (or /t/<token>/metrics) is served at once, not redirected
        verdict = self.access.check(request, redirect_token=not request.path.endswith("/metrics"))
        if not verdict.allowed:
            if verdict.redirect is not None:
                headers = (("Location", verdict.redirect), ("Set-Cookie", verdict.cookie or ""))
                return Response(303, b"", HTML, (*headers, *SECURITY_HEADERS))
            return _error(verdict.status, verdict.reason)
        path = verdict.path or request.path
        pages = POST_PAGES if request.method == "POST" else GET_PAGES if request.method in ("GET", "HEAD") else None
        if pages is None:
            return _error(405, f"method {request.method[:20]} not allowed: the console takes GET, and POST for actions")
        found = _page(pages, path)
        if found is None:
            return _error(404, f"no page at {path[:200]}")
        render, rest = found
        try:
            body = request.body.decode("ascii") if request.method == "POST" else request.query
            result = await render(self, Asked(Params(body), rest, request.headers))
        except (BadParameterError, UnicodeDecodeError) as error:
            return _error(400, str(error))
        return result if isinstance(result, Response) else Response(200, result, HTML, SECURITY_HEADERS)


def _page(pages: dict[str, Page], path: str) -> tuple[Page, str] | None:
    """The page for ``path``: its own path, or a prefix ending in ``/`` with the rest of the path."""
    if path in pages:
        return pages[path], ""
    for prefix, render in pages.items():
        if prefix.endswith("/") and prefix != "/" and path.startswith(prefix):
            return render, path[len(prefix) :]
    return None


def _error(status: int, message: str) -> Response:
    body = page(f"{status} {HTTPStatus(status).phrase}", tag("p", message, class_="notice"))
    return Response(status, body, HTML, SECURITY_HEADERS)


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
