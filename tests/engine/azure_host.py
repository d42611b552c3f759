"""An Azure Function App behind a small HTTP front that does the host's and the Python worker's part.

The Functions host (.NET, Core Tools) does not run here, so this front plays it: it indexes the
``FunctionApp`` as the worker does (``get_functions()``: each function's binding JSON and user
function), routes ``/api/<route>`` (the default route prefix, matched case-insensitively) and
the trigger's methods to it, answers 404 when no route matches, checks the function key of
``authLevel`` FUNCTION or ADMIN (``?code=`` or the ``x-functions-key`` header) with 401 when it
is missing or wrong, and builds the REAL ``azure.functions.HttpRequest`` with the library's
own trigger converter (``HttpRequestConverter.decode``, what the worker calls); the user
function's ``HttpResponse`` goes back through the library's ``HttpResponseConverter.encode``
(which sets the Content-Type the worker reports) and becomes the HTTP answer.

Emulated: the host (routing, keys, HTTPS, its 100 MB limit which is not enforced, route
templates with parameters which are not supported) and the gRPC hop to the worker. Real: the
app, its registration, the request and response objects and their conversion.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import azure.functions as func
from azure.functions.http import HttpRequestConverter, HttpResponseConverter
from azure.functions.meta import Datum

from tests.engine.http_front import Answer, Incoming, Served, serving

ROUTE_PREFIX = "/api/"
KEYED_LEVELS = ("function", "admin")


@dataclass(frozen=True)
class Route:
    """One HTTP-triggered function as the host indexes it."""

    path: str  # /api/<route>, lower-case
    methods: tuple[str, ...]
    keyed: bool
    parameter: str  # the trigger binding's name: the user function's argument
    user_function: Callable[..., Any]


def index(app: func.FunctionApp) -> list[Route]:
    """The HTTP routes of ``app``, from the binding JSON the host would read."""
    routes = []
    for function in app.get_functions():
        bindings = json.loads(function.get_function_json())["bindings"]
        trigger = next(binding for binding in bindings if binding["type"] == "httpTrigger")
        route = trigger.get("route") or str(function.get_function_name())
        routes.append(
            Route(
                path=(ROUTE_PREFIX + route).lower(),
                methods=tuple(method.upper() for method in trigger.get("methods") or ()),
                keyed=str(trigger.get("authLevel", "function")).lower() in KEYED_LEVELS,
                parameter=trigger["name"],
                user_function=function.get_user_function(),
            )
        )
    return routes


def _text(status: int, message: str) -> Answer:
    return Answer(status, {"Content-Type": "text/plain; charset=utf-8"}, message.encode("utf-8"))


def _key_ok(request: Incoming, keys: Sequence[str]) -> bool:
    offered = [value for name, value in parse_qsl(request.query, keep_blank_values=True) if name == "code"]
    offered += [request.header("x-functions-key") or ""]
    return any(hmac.compare_digest(value.encode(), key.encode()) for value in offered for key in keys)


def _request_datum(request: Incoming, url: str) -> Datum:
    """The trigger data the worker receives from the host for ``request``."""
    headers = {name.lower(): request.header(name) or "" for name, _ in request.headers}
    query = dict(parse_qsl(request.query, keep_blank_values=True))
    return Datum(
        type="http",
        value={
            "method": Datum(request.method, "string"),
            "url": Datum(url, "string"),
            "headers": {name: Datum(value, "string") for name, value in headers.items()},
            "query": {name: Datum(value, "string") for name, value in query.items()},
            "params": {},
            "body": Datum(request.body, "bytes"),
        },
    )


async def _call(route: Route, request: func.HttpRequest) -> Any:
    """Call the user function as the worker does: async ones on its loop, sync ones on a thread."""
    if inspect.iscoroutinefunction(route.user_function):
        return await route.user_function(**{route.parameter: request})
    return await asyncio.to_thread(route.user_function, **{route.parameter: request})


def _http_answer(response: Any) -> Answer:
    datum = HttpResponseConverter.encode(response, expected_type=None).value
    headers = {name: value.value for name, value in datum["headers"].items()}
    return Answer(int(datum["status_code"].value), headers, datum["body"].value or b"")


@contextmanager
def azure_host(app: func.FunctionApp, keys: Sequence[str]) -> Iterator[Served]:
    """Serve ``app`` on loopback the way the Functions host would, with function keys ``keys``."""
    routes = index(app)

    async def answer(request: Incoming) -> Answer:
        path = request.path.lower()
        route = next((r for r in routes if r.path == path and request.method in r.methods), None)
        if route is None:
            return _text(404, "no function route matches")
        if route.keyed and not _key_ok(request, keys):
            return _text(401, "")
        url = f"http://{request.header('host')}{request.target}"  # the URL as the caller wrote it
        trigger = HttpRequestConverter.decode(_request_datum(request, url), trigger_metadata=None)
        return _http_answer(await _call(route, trigger))

    with serving(answer) as served:
        yield served
