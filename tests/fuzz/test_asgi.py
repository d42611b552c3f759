"""ASGI: the app driven directly as an ASGI callable with arbitrary scopes, headers and chunking."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statefun_faas.adapters.asgi import asgi_app
from tests.adapters.conformance import MAX_BODY, TOKENS
from tests.fuzz.answers import PROBE, PROBE_ANSWER, PROBE_QUERY, check
from tests.fuzz.profiles import fuzz
from tests.fuzz.registry import FUNCTIONS
from tests.fuzz.requests import bodies, lengths, methods, paths, queries

APP = asgi_app(FUNCTIONS, tokens=TOKENS, max_body_bytes=MAX_BODY)

header_names = st.one_of(
    st.sampled_from([b"content-length", b"Content-Length", b"content-type"]), st.binary(max_size=8)
)
extra_headers = st.lists(st.tuples(header_names, st.binary(max_size=12)), max_size=4)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def serve(loop: asyncio.AbstractEventLoop, scope: dict[str, Any], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run one request; ``events`` are what receive() hands out (then a disconnect, forever)."""
    sent: list[dict[str, Any]] = []
    pending = iter(events)

    async def receive() -> dict[str, Any]:
        return next(pending, {"type": "http.disconnect"})

    async def send(event: Any) -> None:
        sent.append(dict(event))

    loop.run_until_complete(APP(scope, receive, send))
    return sent


def answer(sent: list[dict[str, Any]]) -> tuple[int, str | None, bytes]:
    """The one response in ``sent``: a start, then a single body event; headers as the app gave them."""
    assert [event["type"] for event in sent] == ["http.response.start", "http.response.body"], sent
    headers = dict(sent[0]["headers"])
    body: bytes = sent[1]["body"]
    assert headers[b"content-length"] == str(len(body)).encode()
    return sent[0]["status"], headers[b"content-type"].decode("latin-1"), body


def chunks_of(body: bytes, cuts: list[int]) -> list[dict[str, Any]]:
    points = sorted({min(cut, len(body)) for cut in cuts})
    pieces = [body[start:end] for start, end in zip([0, *points], [*points, len(body)], strict=True)]
    events = [{"type": "http.request", "body": piece, "more_body": True} for piece in pieces]
    events[-1]["more_body"] = False
    return events


def probe(loop: asyncio.AbstractEventLoop) -> None:
    scope = {"type": "http", "method": "POST", "path": "/", "query_string": PROBE_QUERY.encode(), "headers": []}
    assert answer(serve(loop, scope, chunks_of(PROBE, [])))[2] == PROBE_ANSWER


@fuzz
@given(methods, paths, queries, extra_headers, lengths, bodies, st.lists(st.integers(0, 300), max_size=4))
def test_any_request_gets_one_table_answer(
    loop: asyncio.AbstractEventLoop,
    method: str,
    path: str,
    query: str,
    headers: list[tuple[bytes, bytes]],
    length: str | None,
    body: bytes,
    cuts: list[int],
) -> None:
    if length is not None:
        headers = [(b"content-length", length.encode("latin-1", "replace")), *headers]
    scope = {"type": "http", "method": method, "path": path, "query_string": query.encode(), "headers": headers}
    check(*answer(serve(loop, scope, chunks_of(body, cuts))))
    probe(loop)


@fuzz
@given(st.lists(st.one_of(st.binary(max_size=50), st.just(b"\x00" * 30_000)), min_size=1, max_size=6))
def test_a_client_that_goes_away_gets_no_answer_and_the_app_keeps_serving(
    loop: asyncio.AbstractEventLoop, pieces: list[bytes]
) -> None:
    scope = {"type": "http", "method": "POST", "path": "/", "query_string": PROBE_QUERY.encode(), "headers": []}
    events = [{"type": "http.request", "body": piece, "more_body": True} for piece in pieces]
    sent = serve(loop, scope, events)  # the body never ends: receive() says the client disconnected
    assert sent == [] or answer(sent)[0] == 413
    probe(loop)
