"""Azure Functions: real azure.functions.HttpRequest objects through the registered handler."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from urllib.parse import parse_qsl, quote

import azure.functions as func
import pytest
from hypothesis import given
from hypothesis import strategies as st

from statefun_faas.adapters.azure import register
from tests.adapters.conformance import MAX_BODY, TOKENS
from tests.fuzz.answers import PROBE, PROBE_ANSWER, PROBE_QUERY, check
from tests.fuzz.profiles import fuzz
from tests.fuzz.registry import FUNCTIONS
from tests.fuzz.requests import bodies, lengths, methods, paths, queries

HANDLER = register(func.FunctionApp(), FUNCTIONS, tokens=TOKENS, max_body_bytes=MAX_BODY)
BASE = "https://fuzz.azurewebsites.net/api"


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def request(method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> func.HttpRequest:
    url = BASE + quote(path, safe="/%") + (f"?{query}" if query else "")
    params = dict(parse_qsl(query, keep_blank_values=True))
    return func.HttpRequest(method=method, url=url, headers=headers, params=params, body=body)


def call(loop: asyncio.AbstractEventLoop, req: func.HttpRequest) -> tuple[int, str | None, bytes]:
    response = loop.run_until_complete(HANDLER(req))
    # The worker writes the Content-Type header from mimetype and charset.
    content_type = response.mimetype + (
        f"; charset={response.charset}" if response.mimetype.startswith("text/") else ""
    )
    return response.status_code, content_type, response.get_body()


def probe(loop: asyncio.AbstractEventLoop) -> None:
    req = request("POST", "/statefun", PROBE_QUERY, {"Content-Length": str(len(PROBE))}, PROBE)
    assert call(loop, req)[2] == PROBE_ANSWER


@fuzz
@given(
    methods,
    paths,
    queries,
    lengths,
    st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3),
    bodies,
)
def test_any_request_gets_a_table_answer(
    loop: asyncio.AbstractEventLoop,
    method: str,
    path: str,
    query: str,
    length: str | None,
    headers: dict[str, str],
    body: bytes,
) -> None:
    if length is not None:
        headers = {**headers, "Content-Length": length}
    check(*call(loop, request(method, path, query, headers, body)))
    probe(loop)
