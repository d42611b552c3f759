"""The WSGI app under a real WSGI server (the standard library's, threaded) on loopback."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from statefun_faas.adapters.wsgi import wsgi_app
from tests.adapters.conformance import GOOD, MAX_BODY, MAX_INVOCATIONS, TOKENS
from tests.adapters.support import ALL_CASES, FUNCTIONS, hammer, run_conformance


class ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
        pass


APP = wsgi_app(FUNCTIONS, tokens=TOKENS, max_body_bytes=MAX_BODY, max_invocations=MAX_INVOCATIONS)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = make_server("127.0.0.1", 0, APP, server_class=ThreadingServer, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_conformance_under_wsgiref(port: int) -> None:
    run_conformance(port)


def test_eight_concurrent_clients_with_an_async_function(port: int) -> None:
    assert hammer(port, threads=8, requests=30) == []


def _environ(body: bytes, **extra: Any) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/statefun",
        "QUERY_STRING": f"token={GOOD}",
        "wsgi.input": io.BytesIO(body),
    }
    environ.update(extra)
    return environ


class Unreadable(io.RawIOBase):
    def read(self, size: int = -1, /) -> bytes:
        raise AssertionError("the body was read before the checks")


def test_checks_come_before_the_body() -> None:
    assert APP.answer(_environ(b"", QUERY_STRING="token=no", **{"wsgi.input": Unreadable()})).status == 401
    huge = _environ(b"", CONTENT_LENGTH=str(10**9), **{"wsgi.input": Unreadable()})
    assert APP.answer(huge).status == 413
    assert APP.answer(_environ(b"", CONTENT_LENGTH="-1")).status == 400


def test_terminated_input_without_length_is_read_up_to_the_limit() -> None:
    case = ALL_CASES[0]
    assert APP.answer(_environ(case.body, **{"wsgi.input_terminated": True})).body == case.expect
    too_big = _environ(b"\x00" * (MAX_BODY * 3), **{"wsgi.input_terminated": True})
    assert APP.answer(too_big).status == 413
