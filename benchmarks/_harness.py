"""What benchmarks/runtime.py and its Restate peer (benchmarks/_restate.py) both use: free ports, a process's
CPU time, the environment of helper processes, the load generator's connection and the event loop it runs on."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

HAS_UVLOOP = importlib.util.find_spec("uvloop") is not None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_cpu(pid: int) -> float:
    """User plus system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_environment() -> dict[str, str]:
    """Helper processes use the installed package even when PYTHONPATH points the runtime elsewhere."""
    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


class Connection(asyncio.Protocol):
    """A kept HTTP/1.1 client connection, one request in flight: the load generator's, lean so that it leaves
    the CPU to what is measured (asyncio streams cost about twice as much per request)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.answer: asyncio.Future[tuple[bytes, bytes]] | None = None

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        _, connection = await asyncio.get_running_loop().create_connection(cls, host, port)
        return connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n") + 4
        if end < 4:
            return
        head = bytes(self.buffer[:end])
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        if len(self.buffer) >= end + length and self.answer is not None:
            body = bytes(self.buffer[end : end + length])
            del self.buffer[: end + length]
            self.answer.set_result((head, body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionError(f"the server closed the connection ({exc})"))

    async def exchange(self, head: str, due_ns: int = 0) -> tuple[bytes, bytes, bytes]:
        """One request, ``head`` (request line and headers) with the send time (monotonic ns; ``due_ns`` when
        given) as its body; returns that body, the answer's head and the answer's body."""
        assert self.transport is not None
        stamp = str(due_ns or time.monotonic_ns()).encode()
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(head.encode() + b"Content-Length: %d\r\n\r\n" % len(stamp) + stamp)
        answer, body = await self.answer
        return stamp, answer, body

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def run_loop(main: Coroutine[Any, Any, None], on_uvloop: bool = HAS_UVLOOP) -> None:
    """Run ``main`` on uvloop (by default when it is installed, as ``statefun-faas run`` does), else asyncio."""
    if on_uvloop:
        import uvloop

        uvloop.run(main)
    else:
        asyncio.run(main)
