"""The protocol core and the shared HTTP edge under hostile bodies, methods, paths and queries."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statefun_faas import RequestReplyHandler, StatefunFaasError, _wire
from statefun_faas.adapters.edge import Edge, EdgeResponse
from tests.adapters.conformance import TOKENS
from tests.fuzz.answers import PROBE, PROBE_ANSWER, check_edge, check_scoped, parses
from tests.fuzz.profiles import fuzz
from tests.fuzz.registry import FUNCTIONS, KNOWN_TYPENAMES
from tests.fuzz.wire import any_body

HANDLER = RequestReplyHandler(FUNCTIONS)
EDGE = Edge.create(HANDLER, "test", tokens=TOKENS, max_body_bytes=4 * 1024 * 1024)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def expected_statuses(body: bytes) -> frozenset[int]:
    """The statuses the table allows for ``body``, judged by a parser of our own."""
    if not parses(body):
        return frozenset({400})
    request = _wire.ToFunction.FromString(body)
    if not request.HasField("invocation"):
        return frozenset({400})
    target = request.invocation.target
    if not target.namespace or not target.type:
        return frozenset({400})
    if f"{target.namespace}/{target.type}" not in KNOWN_TYPENAMES:
        return frozenset({404})
    return frozenset({200, 400, 500})


def check_body_answer(body: bytes, response: EdgeResponse) -> None:
    check_edge(response, allowed=expected_statuses(body))
    if response.status == 200:
        check_scoped(body, response.body)
    assert EDGE.handle_body(PROBE).body == PROBE_ANSWER, "the edge stopped serving after that input"


@fuzz
@given(any_body)
def test_handler_raises_only_its_own_errors(body: bytes) -> None:
    try:
        reply = HANDLER.handle_sync(body)
    except StatefunFaasError:
        return
    check_scoped(body, reply)


@fuzz
@given(any_body)
def test_handler_async_raises_only_its_own_errors(loop: asyncio.AbstractEventLoop, body: bytes) -> None:
    try:
        reply = loop.run_until_complete(HANDLER.handle_async(body))
    except StatefunFaasError:
        return
    check_scoped(body, reply)


@fuzz
@given(any_body)
def test_edge_answers_every_body_from_the_table(body: bytes) -> None:
    check_body_answer(body, EDGE.handle_body(body))


@fuzz
@given(any_body)
def test_edge_answers_every_body_from_the_table_async(loop: asyncio.AbstractEventLoop, body: bytes) -> None:
    check_body_answer(body, loop.run_until_complete(EDGE.handle_body_async(body)))


methods = st.one_of(st.sampled_from(["POST", "GET", "PUT", "post", "HEAD", ""]), st.text(max_size=10))
paths = st.one_of(
    st.sampled_from(["/", "/healthz", "/t/", f"/t/{TOKENS[0]}", f"/t/{TOKENS[1]}/healthz", "//t/x/"]),
    st.text(max_size=40),
    st.text(max_size=20).map(lambda rest: f"/t/{TOKENS[0]}/{rest}"),
)
queries = st.one_of(
    st.just(""),
    st.text(max_size=40),
    st.sampled_from([f"token={TOKENS[0]}", f"token={TOKENS[1]}&token=x", "token=", "token", "%ff=%fe&token=%00"]),
    st.dictionaries(st.text(max_size=8), st.text(max_size=40), max_size=3),
)


@fuzz
@given(methods, paths, queries, any_body)
def test_edge_answers_every_request_from_the_table(method: str, path: str, query: str, body: bytes) -> None:
    response = EDGE.handle(method, path, query, body)
    check_edge(response)
    if response.status == 200 and method.upper() == "POST":
        check_scoped(body, response.body)
    assert EDGE.handle("POST", "/", f"token={TOKENS[1]}", PROBE).body == PROBE_ANSWER


surrogate_text = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=30)


@fuzz
@given(surrogate_text, surrogate_text, surrogate_text)
def test_methods_paths_and_queries_with_lone_surrogates(method: str, path: str, query: str) -> None:
    """Servers and Lambda's JSON hand over decoded text; text that is not encodable gets table answers too."""
    check_edge(EDGE.handle(method, path, query, PROBE))
    check_edge(EDGE.handle("POST", "/t/" + path, {"token": query}, PROBE))
