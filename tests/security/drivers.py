"""One request, ``(method, path, query, body)``, sent through the edge or any adapter.

Every driver serves the fuzz registry with the conformance tokens and body limit, through the
same request path as tests/fuzz (Lambda events, ASGI calls, WSGI environs, Flask request
contexts, azure.functions requests), and answers ``(status, content type, body)``.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable

from statefun_faas.adapters.edge import Edge
from tests.adapters.conformance import MAX_BODY, TOKENS
from tests.adapters.lambda_events import event_for, unpack
from tests.fuzz import test_asgi, test_azure, test_gcp, test_lambda, test_wsgi
from tests.fuzz.registry import FUNCTIONS

Answer = tuple[int, str | None, bytes]
Driver = Callable[[str, str, str, bytes], Answer]

EDGE = Edge.create(FUNCTIONS, "test", tokens=TOKENS, max_body_bytes=MAX_BODY)


def edge(method: str, path: str, query: str, body: bytes) -> Answer:
    response = EDGE.handle(method, path, query, body)
    return response.status, response.content_type, response.body


def aws(shape: str) -> Driver:
    def driver(method: str, path: str, query: str, body: bytes) -> Answer:
        return unpack(test_lambda.HANDLER(event_for(shape, method, path, query, body), None))

    return driver


def asgi(method: str, path: str, query: str, body: bytes) -> Answer:
    scope = {"type": "http", "method": method, "path": path, "query_string": query.encode(), "headers": []}
    loop = asyncio.new_event_loop()
    try:
        return test_asgi.answer(test_asgi.serve(loop, scope, test_asgi.chunks_of(body, [])))
    finally:
        loop.close()


def wsgi(method: str, path: str, query: str, body: bytes) -> Answer:
    return test_wsgi.call(test_wsgi.environ_for(method, path, query, str(len(body)), io.BytesIO(body), False))


def gcp(method: str, path: str, query: str, body: bytes) -> Answer:
    return test_gcp.call(method, path, query, body, {"CONTENT_LENGTH": str(len(body))})


def azure(method: str, path: str, query: str, body: bytes) -> Answer:
    request = test_azure.request(method, path, query, {"Content-Length": str(len(body))}, body)
    loop = asyncio.new_event_loop()
    try:
        return test_azure.call(loop, request)
    finally:
        loop.close()


DRIVERS: dict[str, Driver] = {
    "edge": edge,
    "lambda function URL": aws("function_url"),
    "lambda REST": aws("rest_v1"),
    "lambda ALB": aws("alb"),
    "lambda ALB multi-value": aws("alb_multi_value"),
    "asgi": asgi,
    "wsgi": wsgi,
    "gcp": gcp,
    "azure": azure,
}
#: Drivers where a token may also come as a path prefix (Azure routes by path: query only).
PATH_TOKEN_DRIVERS = [name for name in DRIVERS if name != "azure"]
