"""Helpers for adapter tests: a registry with an async function, real HTTP calls, servers."""

from __future__ import annotations

import asyncio
import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from statefun_faas import Context, IntType, Message, RequestReplyHandler, StatefulFunctions, ValueSpec
from tests.adapters.conformance import CASES, GOOD, Case, check
from tests.adapters.conformance_functions import make_functions
from tests.builders import Request, typed

ROOT = Path(__file__).resolve().parents[2]
ASYNC_TYPENAME = "conformance/async-counter"


def functions_with_async() -> StatefulFunctions:
    """The conformance registry plus an ``async def`` function (the case that breaks naive loops)."""
    functions = make_functions()

    @functions.bind(ASYNC_TYPENAME, specs=[ValueSpec("count", IntType)])
    async def async_counter(context: Context, message: Message) -> None:
        await asyncio.sleep(0)
        context.storage.count = (context.storage.count or 0) + (message.as_int() or 0)

    return functions


FUNCTIONS = functions_with_async()


def async_case(value: int = 5) -> Case:
    body = (
        Request(ASYNC_TYPENAME, f"id{value}").state("count", typed(IntType, 1)).message(typed(IntType, value)).bytes()
    )
    expected = RequestReplyHandler(FUNCTIONS).handle_sync(body)
    return Case(f"async function {value}", "POST", "/statefun", f"token={GOOD}", body, 200, expected)


ALL_CASES = [*CASES, async_case()]


def call(port: int, case: Case, *, chunked: bool = False, timeout: float = 10.0) -> tuple[int, str | None, bytes]:
    """Send ``case`` over real HTTP to 127.0.0.1:port; answer (status, content type, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        target = case.path + (f"?{case.query}" if case.query else "")
        body = case.body if case.method != "GET" else None
        headers = dict(case.headers)
        if chunked:
            connection.request(case.method, target, body=iter([body or b""]), headers=headers, encode_chunked=True)
        else:
            connection.request(case.method, target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


def run_conformance(port: int) -> None:
    """Every case through the server on ``port``; the server keeps serving after each error row."""
    for case in ALL_CASES:
        check(case, *call(port, case))
        check(ALL_CASES[0], *call(port, ALL_CASES[0]))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """A child process serving on loopback, its output going to a log file (never a full pipe)."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process, self.log = process, log

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, predicate: Callable[[str], bool], what: str, timeout: float = 30.0) -> str:
        """Poll the output until ``predicate`` holds; fail with the output if the process ends first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            output = self.output()
            if predicate(output):
                return output
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode} before {what}:\n{output[-3000:]}")
            time.sleep(0.05)
        raise AssertionError(f"no {what} after {timeout} s:\n{self.output()[-3000:]}")

    def wait_for_port(self, port: int, timeout: float = 30.0) -> None:
        def listening(_: str) -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return True
            except OSError:
                return False

        self.wait_for(listening, f"listener on port {port}", timeout)


def subprocess_env() -> dict[str, str]:
    """The environment for child processes: tokens and limits unset, output unbuffered for the logs."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("STATEFUN_FAAS_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextmanager
def running(command: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path = ROOT) -> Iterator[Server]:
    """A child process (in ``cwd``) that is stopped (terminate, then kill) when the block ends."""
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=cwd, env=env or subprocess_env(), stdout=sink, stderr=sink)
    try:
        yield Server(process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


PYTHON = sys.executable


def hammer(port: int, *, threads: int = 8, requests: int = 40) -> list[str]:
    """``threads`` clients each sending ``requests`` calls (sync and async functions mixed).

    Every answer must be the handler's own; the problems found are returned (none expected).
    """
    cases = [ALL_CASES[0], *(async_case(value) for value in range(threads))]
    problems: list[str] = []

    def client(number: int) -> None:
        for index in range(requests):
            case = cases[(number + index) % len(cases)]
            try:
                check(case, *call(port, case))
            except Exception as error:  # collected and reported by the test
                problems.append(f"client {number} request {index}: {error!r}")

    workers = [threading.Thread(target=client, args=(number,)) for number in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return problems


MIB = 1024 * 1024


def answer_while_sending(port: int, head: str, first: bytes, *, wait: float = 10.0) -> tuple[bytes, socket.socket]:
    """Send a request head and only the first piece of its body; the answer that comes back anyway.

    Fails when no answer arrives within ``wait`` seconds: the server is waiting for the rest of
    the body, so it reads a body before refusing it. The connection is returned open, for the
    caller to send the rest (or close it).
    """
    client = socket.create_connection(("127.0.0.1", port), timeout=wait)
    try:
        client.sendall(head.encode("latin-1") + first)
        answer = client.recv(65536)
    except TimeoutError:
        client.close()
        raise AssertionError(f"no answer within {wait} s while the body was still being sent") from None
    return answer, client


def chunk(data: bytes) -> bytes:
    """``data`` framed as one HTTP/1.1 chunk."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def send_rest(client: socket.socket, size: int, *, chunked: bool = False) -> int:
    """Send ``size`` more body bytes (zeros, 1 MiB at a time, then the last chunk if ``chunked``).

    Returns how many body bytes went out before the server closed the connection, if it did.
    """
    piece, sent = b"\x00" * MIB, 0
    with client:
        try:
            while sent < size:
                data = piece[: size - sent]
                client.sendall(chunk(data) if chunked else data)
                sent += len(data)
            if chunked:
                client.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
    return sent


def peak_rss(pid: int) -> int:
    """The peak resident memory of process ``pid`` (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (a pre-forking server's workers)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.extend(int(child) for child in (task / "children").read_text().split())
    return found
