"""The runtime's HTTP/1.1 server, spoken to byte for byte over a real loopback socket."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path

import pytest

from statefun_faas.runtime.http.server import HttpLimits, HttpServer, Request, Response
from tests.runtime.isolated import run_isolated

#: The 413 status line: the standard library's phrase, which Python 3.13 changed to "Content Too Large".
TOO_LARGE = f"HTTP/1.1 413 {HTTPStatus(413).phrase}\r\n".encode()


async def echo(request: Request) -> Response:
    """Answers with what it understood of the request."""
    await asyncio.sleep(0)
    text = f"{request.method} {request.path} {request.headers.get('content-type')} {request.body.decode()}"
    return Response(200, text.encode(), "text/plain")


def exchange(*chunks: bytes, pause: float = 0.0) -> bytes:
    """Send the chunks to a fresh server, then read until it closes or goes quiet."""

    async def go() -> bytes:
        server = HttpServer(echo, HttpLimits(max_body=64))
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
    assert too_large.startswith(TOO_LARGE)
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


def test_a_hostile_chunk_size_gets_400_and_the_port_keeps_answering() -> None:
    # Once, this 60-byte request wedged the event loop for good: no port answered again.
    printed = run_isolated(
        """
        import asyncio, socket
        from statefun_faas.runtime.http.server import HttpServer, Response

        async def ok(request):
            return Response(200, b"served " + request.path.encode())

        async def ask(port, request):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            answer = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            return answer

        async def main():
            server = HttpServer(ok)
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            await server.start(sock)
            port = sock.getsockname()[1]
            hostile = b"PUT /a/b/c HTTP/1.1\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n-6\\r\\n"
            print((await ask(port, hostile)).split(b"\\r\\n")[0])
            print((await ask(port, b"GET /after HTTP/1.1\\r\\nConnection: close\\r\\n\\r\\n")).split(b"\\r\\n")[-1])
            await server.stop()

        asyncio.run(main())
        """
    )
    assert printed.splitlines() == ["b'HTTP/1.1 400 Bad Request'", "b'served /after'"]


def test_a_huge_chunk_is_refused_once_the_body_passes_the_limit() -> None:
    async def go() -> tuple[bytes, int]:
        async with serving(echo, HttpLimits(max_body=1024 * 1024)) as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n7fffffff\r\n")
            sent = 0
            answer = asyncio.ensure_future(reader.read())
            try:
                while not answer.done() and sent < 64 * 1024 * 1024:
                    writer.write(b"x" * 65536)
                    await writer.drain()
                    sent += 65536
            except ConnectionError:
                pass  # refused and closed while we were still sending
            received = await asyncio.wait_for(answer, 5)
            writer.close()
            return received, sent

    received, sent = asyncio.run(go())
    assert received.startswith(TOO_LARGE)
    assert received.endswith(b"request body larger than 1048576 bytes\n")
    assert sent < 16 * 1024 * 1024


@asynccontextmanager
async def serving(
    handler: Callable[[Request], Awaitable[Response]], limits: HttpLimits | None = None
) -> AsyncIterator[int]:
    server = HttpServer(handler, limits)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await server.start(sock)
    try:
        yield sock.getsockname()[1]
    finally:
        await server.stop()


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """What the server sends until it closes the connection; fails if it has not closed it by ``seconds``."""
    return await asyncio.wait_for(reader.read(), seconds)


SHORT = HttpLimits(header_timeout=0.3, idle_timeout=0.5)


def test_a_slow_head_or_body_is_answered_408_and_closed() -> None:
    async def go() -> list[bytes]:
        answers = []
        async with serving(echo, SHORT) as port:
            for start in (b"GET / HTTP/1.1\r\nHost: slo", b"PUT / HTTP/1.1\r\nContent-Length: 9\r\n\r\nabc", b""):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(start)
                answers.append(await closed_within(reader, 3))
                writer.close()
        return answers

    head, body, nothing = asyncio.run(go())
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert head.endswith(b"the request's head did not arrive within 0.3s\n")
    assert body.endswith(b"the request's body did not arrive within 0.3s\n")
    assert nothing == b""  # connected and never sent a byte: closed without an answer


def test_an_idle_kept_connection_is_closed_and_a_busy_one_is_not() -> None:
    async def go() -> tuple[list[bytes], bytes]:
        async with serving(echo, SHORT) as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            answers = []
            for i in range(8):  # 1.6 s of requests 0.2 s apart: longer than both timeouts together
                writer.write(b"GET /%d HTTP/1.1\r\n\r\n" % i)
                answers.append(await reader.readuntil(b"GET /%d None " % i))
                await asyncio.sleep(0.2)
            rest = await closed_within(reader, 3)  # then idle: closed after 0.5 s
            writer.close()
            return answers, rest

    answers, rest = asyncio.run(go())
    assert len(answers) == 8
    assert rest == b""


def test_connections_over_the_cap_are_refused_while_the_others_keep_working() -> None:
    async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: bytes) -> bytes:
        writer.write(b"GET /" + path + b" HTTP/1.1\r\n\r\n")
        return await asyncio.wait_for(reader.readuntil(b"GET /" + path + b" None "), 3)

    async def go() -> None:
        async with serving(echo, HttpLimits(max_connections=3)) as port:
            kept = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
            for number, (reader, writer) in enumerate(kept):
                await ask(reader, writer, b"%d" % number)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                refused = await closed_within(reader, 3)
            except ConnectionResetError:
                refused = b"reset"  # the kernel may reset a closed connection that had unread bytes
            writer.close()
            assert refused == b"reset" or refused.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), refused
            assert refused == b"reset" or refused.endswith(b"too many connections to this port (at most 3); retry\n")
            for number, (reader, writer) in enumerate(kept):
                await ask(reader, writer, b"again%d" % number)  # the three still served
            kept[0][1].close()
            for _ in range(50):  # the closed one is freed as soon as the server sees it go
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /new HTTP/1.1\r\nConnection: close\r\n\r\n")
                try:
                    answer = await closed_within(reader, 3)
                except ConnectionResetError:
                    answer = b""
                writer.close()
                if answer.endswith(b"GET /new None "):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("no new connection was served after one of the three left")
            for _, writer in kept[1:]:
                writer.close()

    asyncio.run(go())


def test_limits_that_are_not_positive_are_refused_naming_the_flag() -> None:
    with pytest.raises(ValueError, match=r"^--header-timeout must be a positive number, got 0$"):
        HttpLimits(header_timeout=0)
    with pytest.raises(ValueError, match=r"^--max-connections must be a positive number, got -1$"):
        HttpLimits(max_connections=-1)
    with pytest.raises(ValueError, match=r"^--idle-timeout must be a positive number, got nan$"):
        HttpLimits(idle_timeout=float("nan"))


OUT_OF_DESCRIPTORS = """
import asyncio, logging, resource, socket, sys

resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
from statefun_faas.runtime.http.server import HttpServer, Response


async def ok(request):
    return Response(200, b"ok")


async def main():
    server = HttpServer(ok)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await server.start(sock)
    print(sock.getsockname()[1], flush=True)
    await asyncio.Event().wait()


if sys.argv[1] == "uvloop":
    import uvloop

    uvloop.run(main())
else:
    asyncio.run(main())
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def answered(connection: socket.socket) -> bool:
    try:
        return connection.recv(65536, socket.MSG_PEEK).startswith(b"HTTP/1.1 200 OK")
    except BlockingIOError:
        return False


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_running_out_of_descriptors_pauses_accepting_logs_once_and_recovers(loop: str, tmp_path: Path) -> None:
    log = tmp_path / "stderr"
    with log.open("wb") as sink:
        command = [sys.executable, "-c", OUT_OF_DESCRIPTORS, loop]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=sink)
    connections: list[socket.socket] = []
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        for _ in range(100):  # more than the server's 64 descriptors
            connection = socket.create_connection(("127.0.0.1", port))
            connection.sendall(b"GET / HTTP/1.1\r\n\r\n")
            connection.setblocking(False)
            connections.append(connection)
        time.sleep(1.0)
        served = [connection for connection in connections if answered(connection)]
        assert 10 < len(served) < 64, len(served)
        cpu = cpu_seconds(server.pid)
        time.sleep(2.0)
        assert cpu_seconds(server.pid) - cpu < 1.0, "the server spins while it can not accept"
        for connection in served:  # descriptors come free: the waiting connections are served
            connection.close()
        waiting = [connection for connection in connections if connection not in served]
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not all(answered(connection) for connection in waiting):
            time.sleep(0.1)
        assert all(answered(connection) for connection in waiting)
        for connection in waiting:
            connection.close()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as late:
            late.sendall(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            assert late.recv(65536).startswith(b"HTTP/1.1 200 OK")
        assert server.poll() is None
    finally:
        for connection in connections:
            connection.close()
        server.kill()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()
    lines = [line for line in log.read_text().splitlines() if "accept" in line.lower()]
    assert len(lines) == 1, lines
    assert "can not accept connections (Too many open files); pausing 0.1s and retrying" in lines[0]


def test_answers_are_not_held_back_by_nagle() -> None:
    async def go() -> int:
        server = HttpServer(echo)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await server.start(sock)
        reader, writer = await asyncio.open_connection(*sock.getsockname())
        writer.write(b"GET /x HTTP/1.1\r\n\r\n")
        await reader.readuntil(b"GET /x None ")
        [connection] = server.connections
        assert connection.transport is not None
        nodelay = int(connection.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()
        await server.stop()
        return nodelay

    assert asyncio.run(go()) == 1  # asyncio's connect_accepted_socket leaves it 0
