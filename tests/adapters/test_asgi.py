"""The ASGI app under a real uvicorn server on loopback, over real HTTP."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn

from statefun_faas.adapters.asgi import Message, StatefunASGIApp, asgi_app
from statefun_faas.adapters.edge import DEFAULT_MAX_INVOCATIONS
from tests.adapters.conformance import GOOD, MAX_BODY, MAX_INVOCATIONS, TOKENS, Case, flood
from tests.adapters.support import (
    ALL_CASES,
    FUNCTIONS,
    MIB,
    answer_while_sending,
    call,
    chunk,
    run_conformance,
    send_rest,
)


@contextmanager
def serving(app: StatefunASGIApp) -> Iterator[int]:
    """``app`` under uvicorn on a loopback port, in a thread, for the block."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # so asyncio sets TCP_NODELAY
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="on", log_level="critical", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting (lifespan answered?)"
        assert time.monotonic() < deadline, "uvicorn did not start in 10 s"
        time.sleep(0.01)
    try:
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()
    assert not thread.is_alive(), "uvicorn did not shut down (lifespan shutdown answered?)"


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with serving(asgi_app(FUNCTIONS, tokens=TOKENS, max_body_bytes=MAX_BODY, max_invocations=MAX_INVOCATIONS)) as port:
        yield port


def test_conformance_under_uvicorn(port: int) -> None:
    run_conformance(port)


def test_chunked_body_without_length_is_limited_while_streaming(port: int) -> None:
    small = ALL_CASES[0]
    assert call(port, small, chunked=True)[0] == 200
    big = Case("chunked too large", "POST", "/statefun", f"token={GOOD}", b"\x00" * (MAX_BODY + 1), 413)
    status, _, body = call(port, big, chunked=True)
    assert status == 413
    assert b"over the limit" in body


def _send_headers_only(port: int, request_line: str, length: int) -> bytes:
    """Declare a huge body but send none: only an early answer can come back."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(f"{request_line}\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode())
        return client.recv(4096)


def test_token_and_declared_length_are_checked_before_the_body(port: int) -> None:
    assert _send_headers_only(port, "POST /statefun?token=wrong HTTP/1.1", 10**9).startswith(b"HTTP/1.1 401")
    assert _send_headers_only(port, f"POST /statefun?token={GOOD} HTTP/1.1", 10**9).startswith(b"HTTP/1.1 413")


@pytest.mark.parametrize(
    ("query", "framing", "status"),
    [("token=wrong", "length", 401), (f"token={GOOD}", "chunked", 413)],
    ids=["unauthenticated", "chunked too large"],
)
def test_a_refused_body_is_answered_while_it_is_still_being_sent(
    port: int, query: str, framing: str, status: int
) -> None:
    framed = f"Content-Length: {200 * MIB}" if framing == "length" else "Transfer-Encoding: chunked"
    first = b"\x00" * (MAX_BODY + 4096)
    head = f"POST /statefun?{query} HTTP/1.1\r\nHost: x\r\n{framed}\r\n\r\n"
    answer, client = answer_while_sending(port, head, chunk(first) if framing == "chunked" else first)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]
    send_rest(client, 16 * MIB, chunked=framing == "chunked")
    assert call(port, ALL_CASES[0])[2] == ALL_CASES[0].expect


def test_millions_of_empty_invocations_are_refused_by_the_default_bound() -> None:
    """8 MB of empty invocations (two bytes each) once kept the server's loop busy for seconds."""
    app = asgi_app(FUNCTIONS, tokens=(), max_body_bytes=16 * MIB)
    assert app.edge.max_invocations == DEFAULT_MAX_INVOCATIONS
    flooded = Case("4M empty invocations", "POST", "/statefun", "", flood(4_000_000), 413)
    with serving(app) as port:
        status, _, body = call(port, flooded, timeout=60)
        assert status == 413, body[:200]
        assert (
            body
            == (
                f"the request carries 4000000 invocations, over the limit of {DEFAULT_MAX_INVOCATIONS} per request; "
                "lower maxNumBatchRequests in module.yaml or raise STATEFUN_FAAS_MAX_INVOCATIONS\n"
            ).encode()
        )
        assert call(port, ALL_CASES[0])[2] == ALL_CASES[0].expect  # no token set: the query's token is ignored


def test_exact_content_type_header(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        case = ALL_CASES[0]
        head = f"POST /statefun?token={GOOD} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(case.body)}\r\n\r\n"
        client.sendall(head.encode() + case.body)
        answer = client.recv(65536)
    assert b"\r\ncontent-type: application/octet-stream\r\n" in answer.lower()


def test_lifespan_and_disconnect_without_a_server() -> None:
    app = asgi_app(FUNCTIONS, tokens=(), max_body_bytes=MAX_BODY)
    sent: list[Message] = []

    async def drive() -> None:
        events = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

        async def receive() -> Message:
            return next(events)

        async def send(message: Message) -> None:
            sent.append(message)

        await app({"type": "lifespan"}, receive, send)
        gone = iter([{"type": "http.disconnect"}])

        async def receive_gone() -> Message:
            return next(gone)

        scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": []}
        await app(scope, receive_gone, send)

    asyncio.run(drive())
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_invalid_content_length_is_a_bad_request() -> None:
    sent: list[Message] = []
    app = asgi_app(FUNCTIONS, tokens=(), max_body_bytes=MAX_BODY)

    async def receive() -> Message:
        raise AssertionError("the body must not be read")

    async def send(message: Message) -> None:
        sent.append(message)

    headers = [(b"content-length", b"12x")]
    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": headers}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400
