"""Google: the real functions-framework server (gunicorn threads) on loopback, over real HTTP."""

from __future__ import annotations

import http.client
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adapters.conformance import GOOD, MAX_BODY, Case, check
from tests.adapters.support import (
    ALL_CASES,
    MIB,
    Server,
    answer_while_sending,
    call,
    children,
    chunk,
    free_port,
    hammer,
    peak_rss,
    run_conformance,
    running,
    send_rest,
)

MAIN = Path(__file__).with_name("gcp_main.py")
FRAMEWORK = Path(sys.executable).with_name("functions-framework")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Server]]:
    port = free_port()
    log = tmp_path_factory.mktemp("gcp") / "functions-framework.log"
    command = [str(FRAMEWORK), "--target", "statefun", "--source", str(MAIN), "--host", "127.0.0.1"]
    with running([*command, "--port", str(port)], log) as server:
        server.wait_for_port(port)
        yield port, server
        assert server.process.poll() is None, f"the server died:\n{server.output()[-3000:]}"


@pytest.fixture(scope="module")
def port(served: tuple[int, Server]) -> int:
    return served[0]


def test_conformance_under_functions_framework(port: int) -> None:
    run_conformance(port)


def test_eight_concurrent_clients_with_an_async_function(port: int) -> None:
    assert hammer(port, threads=8, requests=50) == []


def test_chunked_body_is_limited_while_streaming(port: int) -> None:
    assert call(port, ALL_CASES[0], chunked=True)[2] == ALL_CASES[0].expect
    big = Case("chunked too large", "POST", "/statefun", f"token={GOOD}", b"\x00" * (MAX_BODY + 1), 413)
    assert call(port, big, chunked=True)[0] == 413


BIG = 200 * MIB
FIRST = MAX_BODY + 4096  # sent before the client waits: over the limit, less than socket buffers hold


@pytest.mark.parametrize(
    ("query", "framing", "status"),
    [("token=wrong", "length", 401), (f"token={GOOD}", "length", 413), (f"token={GOOD}", "chunked", 413)],
    ids=["unauthenticated", "declared too large", "chunked too large"],
)
def test_a_refused_body_is_answered_before_the_framework_reads_it(
    served: tuple[int, Server], query: str, framing: str, status: int
) -> None:
    """functions-framework reads the whole body after the function returned (its after_request hook).

    A 200 MiB body must get its 401 or 413 while the client is still sending, and the worker's
    memory must not grow by the body; the server keeps serving after.
    """
    port, server = served
    (worker,) = children(server.process.pid)
    before = peak_rss(worker)
    framed = f"Content-Length: {BIG}" if framing == "length" else "Transfer-Encoding: chunked"
    head = f"POST /statefun?{query} HTTP/1.1\r\nHost: x\r\n{framed}\r\n\r\n"
    first = b"\x00" * FIRST
    answer, client = answer_while_sending(port, head, chunk(first) if framing == "chunked" else first)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:200]
    send_rest(client, BIG - FIRST, chunked=framing == "chunked")
    assert peak_rss(worker) - before < 50 * MIB, f"the worker's peak memory grew by {peak_rss(worker) - before} bytes"
    assert call(port, ALL_CASES[0])[2] == ALL_CASES[0].expect


@pytest.mark.parametrize("case", [ALL_CASES[0], next(c for c in ALL_CASES if c.status == 401)], ids=["200", "401"])
def test_answers_are_plain_on_the_wire(port: int, case: Case) -> None:
    """Streamed inside Flask, but sent with a Content-Length, never chunked (a limit of its own on Google)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", f"/statefun?{case.query}", body=case.body)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    assert response.getheader("Transfer-Encoding") is None
    assert response.getheader("Content-Length") == str(len(body))
    check(case, response.status, response.getheader("Content-Type"), body)


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from statefun_faas.adapters.gcp import http_function
    from tests.adapters.support import FUNCTIONS

    monkeypatch.setitem(sys.modules, "flask", None)
    with pytest.raises(ImportError, match=r"pip install 'statefun-faas\[gcp\]'"):
        http_function(FUNCTIONS)
