"""The runtime's HTTP/1.1 client against real loopback servers that answer byte for byte as scripted."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from statefun_faas.runtime.http.client import Answer, HttpClient, HttpFramingError, Target
from tests.runtime.isolated import run_isolated

Reply = Callable[[bytes], bytes | None]  # request bytes -> answer bytes (None: hang), connection stays open
HEADERS = {"Content-Type": "application/octet-stream"}


class Scripted:
    """A server that reads whole requests (Content-Length framed) and writes the scripted answers."""

    def __init__(self, *replies: Reply, close_after: int | None = None) -> None:
        self.replies, self.close_after = list(replies), close_after
        self.connections = 0
        self.requests: list[bytes] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                answer = self.replies.pop(0)(request)
                if answer is None:
                    await reader.read()  # hang until the client gives up and closes
                    return
                writer.write(answer)
                served += 1
                if self.close_after is not None and served >= self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @asynccontextmanager
    async def url(self, path: str = "/fn") -> AsyncIterator[str]:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}{path}"
        finally:
            server.close()


def fixed(answer: bytes) -> Reply:
    return lambda _: answer


def ok(body: bytes, *headers: str) -> Reply:
    lines = ["HTTP/1.1 200 OK", "Content-Type: application/octet-stream", f"Content-Length: {len(body)}", *headers]
    return fixed("\r\n".join(lines).encode() + b"\r\n\r\n" + body)


async def post(client: HttpClient, url: str, body: bytes = b"ask", budget: float = 5.0) -> Answer:
    return await client.post(Target.of(url, HEADERS), body, budget, 2.0, budget)


def run(scenario: Callable[[HttpClient], object]) -> None:
    async def go() -> None:
        client = HttpClient()
        try:
            await scenario(client)  # type: ignore[misc]
        finally:
            await client.close()

    asyncio.run(go())


def test_keeps_the_connection_for_the_next_request() -> None:
    server = Scripted(ok(b"one"), ok(b"two"), ok(b"three"))

    async def scenario(client: HttpClient) -> None:
        async with server.url() as url:
            bodies = [(await post(client, url, f"ask{i}".encode())).body for i in range(3)]
        assert bodies == [b"one", b"two", b"three"]

    run(scenario)
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /fn HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"Content-Type: application/octet-stream\r\nContent-Length: 4\r\n\r\nask0" in first


def test_chunked_gzip_and_informational_answers() -> None:
    packed = gzip.compress(b"inflated body")
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (packed[:5], packed[5:])) + b"0\r\n\r\n"
    server = Scripted(
        fixed(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"),
        fixed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n" + chunked),
    )

    async def scenario(client: HttpClient) -> None:
        async with server.url() as url:
            assert (await post(client, url)).body == b"hi"
            answer = await post(client, url)
        assert (answer.status, answer.body, answer.keep_alive) == (200, b"inflated body", True)

    run(scenario)
    assert server.connections == 1


def test_an_answer_running_to_the_end_of_the_connection() -> None:
    server = Scripted(fixed(b"HTTP/1.0 503 Busy\r\nContent-Type: text/plain\r\n\r\ncome back later"), close_after=1)

    async def scenario(client: HttpClient) -> None:
        async with server.url() as url:
            answer = await post(client, url)
        assert (answer.status, answer.headers["content-type"], answer.body) == (503, "text/plain", b"come back later")
        assert not answer.keep_alive

    run(scenario)


def test_a_kept_connection_the_server_closed_is_replaced_and_the_request_sent_again() -> None:
    server = Scripted(ok(b"first"), ok(b"second"), close_after=1)

    async def scenario(client: HttpClient) -> None:
        async with server.url() as url:
            assert (await post(client, url)).body == b"first"
            await asyncio.sleep(0.05)  # the server has closed the kept connection by now
            assert (await post(client, url)).body == b"second"

    run(scenario)
    assert server.connections == 2


def test_failures_raise_the_errors_the_invoker_reports() -> None:
    cut = Scripted(fixed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf"), close_after=1)
    garbled = Scripted(fixed(b"SMTP ready\r\n\r\n"))
    silent = Scripted(lambda _: None)

    async def scenario(client: HttpClient) -> None:
        async with cut.url() as url:
            with pytest.raises(ConnectionResetError, match="closed before the answer was complete"):
                await post(client, url)
        async with garbled.url() as url:
            with pytest.raises(HttpFramingError, match=r"malformed HTTP/1\.1 answer: Expected HTTP/"):
                await post(client, url)
        async with silent.url() as url:
            with pytest.raises(TimeoutError):
                await post(client, url, budget=0.2)
        with pytest.raises(ConnectionRefusedError):
            await post(client, url)  # the server is gone

    run(scenario)


def test_unix_socket_urls_and_target_heads(tmp_path: Path) -> None:
    path = tmp_path / "functions.sock"

    async def scenario(client: HttpClient) -> None:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"ask")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nunix")
            await writer.drain()
            writer.close()

        server = await asyncio.start_unix_server(serve, str(path))
        try:
            assert (await post(client, f"http+unix://{path}/fn")).body == b"unix"
        finally:
            server.close()

    run(scenario)
    target = Target.of(f"http+unix://{path}/statefun/fn", {})
    assert (target.socket, target.head) == (
        str(path),
        b"POST /statefun/fn HTTP/1.1\r\nHost: localhost\r\nContent-Length: ",
    )
    secured = Target.of("https://user:p%40ss@example.com/fn?code=k", {})
    assert secured.head.startswith(b"POST /fn?code=k HTTP/1.1\r\nHost: example.com\r\nAuthorization: Basic ")
    assert (secured.scheme, secured.port) == ("https", 443)
    with pytest.raises(ValueError, match="invalid function URL"):
        Target.of("ftp://example.com/fn", {})


def test_a_hostile_chunk_size_in_an_answer_fails_the_call_and_the_client_goes_on() -> None:
    # Once, a function (or a proxy in front of one) answering this wedged the runtime's event loop.
    printed = run_isolated(
        """
        import asyncio
        from statefun_faas.runtime.http.client import HttpClient, HttpFramingError, Target

        HOSTILE = b"HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n-6\\r\\n"
        GOOD = b"HTTP/1.1 200 OK\\r\\nContent-Length: 4\\r\\n\\r\\ngood"

        async def main():
            answers = [HOSTILE, GOOD]

            async def serve(reader, writer):
                await reader.readuntil(b"ask")
                writer.write(answers.pop(0))
                await writer.drain()

            server = await asyncio.start_server(serve, "127.0.0.1", 0)
            url = "http://127.0.0.1:%d/fn" % server.sockets[0].getsockname()[1]
            client = HttpClient()
            try:
                await client.post(Target.of(url, {}), b"ask", 5, 2, 5)
            except HttpFramingError as error:
                print(error)
            print((await client.post(Target.of(url, {}), b"ask", 5, 2, 5)).body)
            await client.close()
            server.close()

        asyncio.run(main())
        """
    )
    assert printed.splitlines() == ["malformed HTTP/1.1 answer: Invalid character in chunk size", "b'good'"]
