"""``statefun-faas serve TARGET --host --port``: serve a registry over HTTP on this machine (``$PORT`` when no
--port is given, as on Cloud Run).

Uses uvicorn with the ASGI app when uvicorn is installed, else the standard library's
threaded WSGI server with the WSGI app. Tokens and the body limit come from
``STATEFUN_FAAS_TOKENS`` and ``STATEFUN_FAAS_MAX_BODY_BYTES`` as on every platform.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import socket
import sys
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from statefun_faas.cli import parsers
from statefun_faas.cli.target import load_functions
from statefun_faas.errors import ConfigurationError
from statefun_faas.functions import StatefulFunctions


def main(options: argparse.Namespace) -> int:
    """Serve ``options.target`` on ``options.host``, port ``--port`` or ``$PORT``, until interrupted."""
    try:
        port = _port(options.port)
        functions = load_functions(options.target)
    except ConfigurationError as error:
        if getattr(options, "debug", False):
            raise
        print(f"{getattr(error, 'user_traceback', '')}statefun-faas serve: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    try:
        import uvicorn  # noqa: F401 (only probing whether it is installed)
    except ImportError:
        return _serve_wsgiref(functions, options.host, port)
    return _serve_uvicorn(functions, options.host, port)


def _port(given: int | None) -> int:
    """--port, else ``$PORT``, which Cloud Run and other container hosts set (functions-framework reads it too),
    else parsers.SERVE_PORT."""
    if given is not None:
        return given
    value = os.environ.get("PORT")
    if not value:
        return parsers.SERVE_PORT
    try:
        return parsers.port(value)
    except argparse.ArgumentTypeError as error:
        raise ConfigurationError(f"$PORT: {error}") from None


@contextlib.contextmanager
def _listening(host: str, port: int) -> Iterator[None]:
    """Turns a failed bind (port taken, no such host, port out of range) into one line and exit code 2."""
    try:
        yield
    except (OSError, OverflowError) as error:
        reason = getattr(error, "strerror", None) or error
        print(
            f"statefun-faas serve: can not listen on {host}:{port} ({reason}); "
            "free the port or pick another with --port (0 picks a free one), or check --host",
            file=sys.stderr,
        )
        raise SystemExit(2) from None


def _announce(functions: StatefulFunctions, host: str, port: int, server: str) -> None:
    shown = f"[{host}]" if ":" in host else host
    print(f"statefun-faas: serving {len(functions)} function(s) with {server}", flush=True)
    for typename in functions.typenames:
        print(f"  {typename}", flush=True)
    print(f"statefun-faas: listening on http://{shown}:{port}/ (Ctrl+C to stop)", flush=True)


def _serve_uvicorn(functions: StatefulFunctions, host: str, port: int) -> int:
    import uvicorn

    from statefun_faas.adapters.asgi import asgi_app

    # IPPROTO_TCP given explicitly: asyncio sets TCP_NODELAY only on sockets that name it, and
    # without it every answer waits ~40 ms for a delayed ACK (Nagle).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    with _listening(host, port):
        listener.bind((host, port))
    listener.listen(2048)  # connections wait in the backlog until uvicorn accepts them
    _announce(functions, host, listener.getsockname()[1], "uvicorn")
    config = uvicorn.Config(asgi_app(functions), lifespan="on", access_log=False, log_level="warning")
    uvicorn.Server(config).run(sockets=[listener])
    return 0


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Handler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass  # the edge writes one JSON line per request already


def _serve_wsgiref(functions: StatefulFunctions, host: str, port: int) -> int:
    from statefun_faas.adapters.wsgi import wsgi_app

    with _listening(host, port):
        made = make_server(host, port, wsgi_app(functions), _ThreadingServer, _Handler)
    with made as server:
        _announce(functions, host, server.server_port, "wsgiref (uvicorn is not installed: the [asgi] extra has it)")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    return 0
