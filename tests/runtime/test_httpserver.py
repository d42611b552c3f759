"""The runtime's HTTP/1.1 server, spoken to byte for byte over a real loopback socket."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from statefun_faas.runtime.httpserver import HttpServer, Request, Response


async def echo(request: Request) -> Response:
    """Answers with what it understood of the request."""
    await asyncio.sleep(0)
    text = f"{request.method} {request.path} {request.headers.get('content-type')} {request.body.decode()}"
    return Response(200, text.encode(), "text/plain")


def exchange(*chunks: bytes, pause: float = 0.0) -> bytes:
    """Send the chunks to a fresh server, then read until it closes or goes quiet."""

    async def go() -> bytes:
        server = HttpServer(echo, max_body=64)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await server.start(sock)
        reader, writer = await asyncio.open_connection(*sock.getsockname())
        try:
            for chunk in chunks:
                writer.write(chunk)
                await writer.drain()
                await asyncio.sleep(pause)
            return await read_all(reader)
        finally:
            writer.close()
            await server.stop()

    return asyncio.run(go())


async def read_all(reader: asyncio.StreamReader) -> bytes:
    received = b""
    try:
        while chunk := await asyncio.wait_for(reader.read(65536), 0.2):
            received += chunk
    except TimeoutError:
        pass
    return received


def test_keep_alive_and_pipelined_requests_are_answered_in_order() -> None:
    one = b"PUT /a/b/c%20d?x=1 HTTP/1.1\r\nContent-Type: application/vnd.t/x\r\nContent-Length: 2\r\n\r\nhi"
    two = b"GET /e HTTP/1.1\r\nConnection: close\r\n\r\n"
    answer = exchange(one + two)
    first, second = answer.split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert first.endswith(b"\r\n\r\nPUT /a/b/c d application/vnd.t/x hi")
    assert b"Connection: close" in second
    assert second.endswith(b"GET /e None ")


def test_chunked_bodies_expect_continue_and_head() -> None:
    chunked = b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
    assert exchange(chunked).endswith(b"POST /c None abcde")
    head = b"PUT /k HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
    answer = exchange(head, b"body", pause=0.1)
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert answer.endswith(b"PUT /k None body")
    answer = exchange(b"HEAD /h HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answer.endswith(b"Content-Length: 13\r\n\r\n")  # the length of "HEAD /h None ", but no body


def test_malformed_and_oversized_requests_are_refused_and_the_connection_closed() -> None:
    assert exchange(b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert exchange(b"GET / HTTP/1.1\r\nbad header\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    too_large = exchange(b"PUT /x HTTP/1.1\r\nContent-Length: 65\r\n\r\n")
    assert too_large.startswith(b"HTTP/1.1 413 Payload Too Large\r\n")
    assert too_large.endswith(b"request body larger than 64 bytes\n")
    chunk = b"20\r\n" + b"x" * 32 + b"\r\n"
    assert exchange(b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk * 3).startswith(b"HTTP/1.1 413 ")


def test_a_failing_handler_answers_500_and_the_server_keeps_serving() -> None:
    calls = 0

    async def flaky(request: Request) -> Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("boom")
        return await echo(request)

    async def go(handler: Callable[[Request], Awaitable[Response]]) -> bytes:
        server = HttpServer(handler)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await server.start(sock)
        reader, writer = await asyncio.open_connection(*sock.getsockname())
        writer.write(b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")
        answer = await read_all(reader)
        writer.close()
        await server.stop()
        return answer

    answer = asyncio.run(go(flaky))
    assert answer.startswith(b"HTTP/1.1 500 ")
    assert answer.endswith(b"GET /2 None ")
