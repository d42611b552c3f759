"""Tokens are checked before any body byte is read, and size limits hold before anything is parsed.

Each adapter gets a body source that fails the test when touched: a WSGI input stream, an
ASGI receive(), a Flask request's stream, an Azure request's get_body(), a Lambda body's
base64 decoding. Streams without a declared length are read only up to the limit.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import azure.functions as func
import pytest
from hypothesis import given
from hypothesis import strategies as st

from statefun_faas import RequestReplyHandler
from statefun_faas.adapters import aws_lambda
from statefun_faas.adapters._http import CHUNK
from statefun_faas.adapters.edge import Edge
from tests.adapters.conformance import GOOD, MAX_BODY, TOKENS
from tests.adapters.lambda_events import event_for, unpack
from tests.fuzz import test_asgi, test_azure, test_gcp, test_lambda, test_wsgi
from tests.fuzz.profiles import fuzz
from tests.fuzz.registry import FUNCTIONS
from tests.fuzz.requests import lengths, methods, queries

#: Requests that must be answered without reading the body: wrong method, token, or declared size.
REFUSED = [
    ("PUT", f"token={GOOD}", str(10), 405),
    ("POST", "token=wrong", str(10), 401),
    ("POST", "", str(10), 401),
    ("POST", f"token={GOOD}", str(MAX_BODY + 1), 413),
]


class Untouchable(io.RawIOBase):
    """A body stream that fails the test when read."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the body was read before the checks that must come first")


class Counting(test_wsgi.Endless):
    """An endless body stream that counts what was read from it."""

    read_bytes = 0

    def readinto(self, buffer: Any) -> int:
        self.read_bytes += len(buffer)
        return super().readinto(buffer)


class UntouchableAzureRequest(func.HttpRequest):
    def get_body(self) -> bytes:
        raise AssertionError("the Azure body was taken before the checks that must come first")


class NeverParses(RequestReplyHandler):
    """A handler that fails the test if a request reaches the protocol parser."""

    def handle_sync(self, request_bytes: Any, trace: Any = None, max_invocations: Any = None) -> bytes:
        raise AssertionError("a body over the limit reached the protocol core")

    async def handle_async(self, request_bytes: Any, trace: Any = None, max_invocations: Any = None) -> bytes:
        raise AssertionError("a body over the limit reached the protocol core")


def refused_case(method: str, query: str, length: str) -> bool:
    """Whether the edge must answer without the body: by the same rules the table states."""
    declared = length.strip()
    too_large = declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY
    token_ok = query in (f"token={GOOD}", f"token={TOKENS[1]}&token=x") or query.startswith(f"token={GOOD}&")
    return method.upper() != "POST" or not token_ok or too_large


@pytest.mark.parametrize(("method", "query", "length", "status"), REFUSED)
def test_wsgi_answers_before_reading(method: str, query: str, length: str, status: int) -> None:
    environ = test_wsgi.environ_for(method, "/", query, length, Untouchable(), True)
    assert test_wsgi.call(environ)[0] == status


@pytest.mark.parametrize(("method", "query", "length", "status"), REFUSED)
def test_asgi_answers_before_receiving(method: str, query: str, length: str, status: int) -> None:
    async def receive() -> dict[str, Any]:
        raise AssertionError("receive() was called before the checks that must come first")

    sent: list[dict[str, Any]] = []

    async def send(event: Any) -> None:
        sent.append(dict(event))

    headers = [(b"content-length", length.encode())]
    scope = {"type": "http", "method": method, "path": "/", "query_string": query.encode(), "headers": headers}
    asyncio.run(test_asgi.APP(scope, receive, send))
    assert test_asgi.answer(sent)[0] == status


@pytest.mark.parametrize(("method", "query", "length", "status"), REFUSED)
def test_gcp_answers_before_reading(method: str, query: str, length: str, status: int) -> None:
    assert test_gcp.call(method, "/", query, Untouchable(), {"CONTENT_LENGTH": length})[0] == status


@pytest.mark.parametrize(("method", "query", "length", "status"), REFUSED)
def test_azure_answers_before_taking_the_body(method: str, query: str, length: str, status: int) -> None:
    params = dict(pair.split("=", 1) for pair in query.split("&") if "=" in pair)
    url = f"{test_azure.BASE}/statefun?{query}"
    request = UntouchableAzureRequest(method, url, headers={"Content-Length": length}, params=params, body=b"")
    loop = asyncio.new_event_loop()
    try:
        assert test_azure.call(loop, request)[0] == status
    finally:
        loop.close()


@pytest.mark.parametrize(("method", "query", "length", "status"), REFUSED)
def test_lambda_answers_before_decoding(
    method: str, query: str, length: str, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def untouchable(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("the Lambda body was base64-decoded before the checks that must come first")

    event = event_for("function_url", method, "/", query, b"\x01" * int(length))
    monkeypatch.setattr(aws_lambda, "a2b_base64", untouchable)  # the name the adapter calls
    assert unpack(test_lambda.HANDLER(event, None))[0] == status


@pytest.mark.parametrize("async_", [False, True])
def test_a_body_over_the_limit_never_reaches_the_parser(async_: bool) -> None:
    edge = Edge.create(NeverParses(FUNCTIONS), "test", tokens=(), max_body_bytes=100, request_log=lambda line: None)
    body = b"\x00" * 101
    response = asyncio.run(edge.handle_body_async(body)) if async_ else edge.handle_body(body)
    assert response.status == 413


@pytest.mark.parametrize("adapter", ["wsgi", "gcp"])
def test_an_endless_body_without_a_length_is_read_only_to_the_limit(adapter: str) -> None:
    stream = Counting()
    if adapter == "wsgi":
        status = test_wsgi.call(test_wsgi.environ_for("POST", "/", f"token={GOOD}", None, stream, True))[0]
    else:
        status = test_gcp.call("POST", "/", f"token={GOOD}", stream, {"wsgi.input_terminated": True})[0]
    assert status == 413
    assert stream.read_bytes <= MAX_BODY + CHUNK


def test_an_endless_asgi_body_is_received_only_to_the_limit() -> None:
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1000
        return {"type": "http.request", "body": b"\x00" * 1000, "more_body": True}

    sent: list[dict[str, Any]] = []

    async def send(event: Any) -> None:
        sent.append(dict(event))

    scope = {"type": "http", "method": "POST", "path": "/", "query_string": f"token={GOOD}".encode(), "headers": []}
    asyncio.run(test_asgi.APP(scope, receive, send))
    assert test_asgi.answer(sent)[0] == 413
    assert received <= MAX_BODY + 1000


@fuzz
@given(methods, queries, lengths.filter(lambda length: length is not None))
def test_wsgi_reads_the_body_only_after_every_check_passed(method: str, query: str, length: str) -> None:
    """Fuzzed methods, queries and lengths: whenever the table says refuse, the stream is never read."""
    refused = refused_case(method, query, length)
    stream: Any = Untouchable() if refused else io.BytesIO(b"")
    status = test_wsgi.call(test_wsgi.environ_for(method, "/", query, length, stream, False))[0]
    if refused:
        assert status in (400, 401, 405, 413)


@fuzz
@given(st.integers(MAX_BODY + 1, 10**15))
def test_declared_lengths_over_the_limit_are_413_everywhere(length: int) -> None:
    environ = test_wsgi.environ_for("POST", "/", f"token={GOOD}", str(length), Untouchable(), False)
    assert test_wsgi.call(environ)[0] == 413
    assert test_gcp.call("POST", "/", f"token={GOOD}", Untouchable(), {"CONTENT_LENGTH": str(length)})[0] == 413
