"""Azure Functions, Python v2 programming model: a POST route on a ``FunctionApp``.

In the app's ``function_app.py``::

    import azure.functions as func
    from statefun_faas.adapters.azure import register
    from my_functions import functions

    app = func.FunctionApp()
    register(app, functions)            # POST /api/statefun, auth level FUNCTION

    # or, in one line: app = statefun_faas.adapters.azure.function_app(functions)

In ``module.yaml`` point StateFun at ``https://<app>.azurewebsites.net/api/statefun?code=<function key>``:
the host checks the ``code`` key before our code runs (StateFun can not send headers, but it
keeps the query string), so our own token check is off unless ``tokens`` are given
(``tokens=None`` reads ``STATEFUN_FAAS_TOKENS`` like the other adapters). A GET health route
(``/api/healthz``, anonymous) answers ``ok`` for probes; ``health_route=None`` leaves it out.

Works with azure-functions 1.x (Python 3.11, 3.12) and 2.x (Python 3.13+).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from statefun_faas.adapters._extras import import_extra
from statefun_faas.adapters._http import declared_length
from statefun_faas.adapters.edge import HEALTH_PATH, Edge, EdgeResponse, RequestObserver
from statefun_faas.functions import StatefulFunctions
from statefun_faas.handler import RequestReplyHandler

if TYPE_CHECKING:
    import azure.functions as func

EXTRA = "azure"
AzureHandler = Callable[["func.HttpRequest"], Awaitable["func.HttpResponse"]]


def register(
    app: func.FunctionApp,
    functions: StatefulFunctions | RequestReplyHandler,
    *,
    route: str = "statefun",
    name: str = "statefun",
    auth_level: func.AuthLevel | str | None = None,
    health_route: str | None = "healthz",
    tokens: Sequence[str] | None = (),
    max_body_bytes: int | None = None,
    max_invocations: int | None = None,
    observe: RequestObserver | None = None,
) -> AzureHandler:
    """Add the StateFun POST route (and a GET health route) to ``app``; returns the handler.

    ``auth_level`` defaults to FUNCTION, so the host demands a function key (``?code=``).
    ``max_body_bytes`` defaults to ``STATEFUN_FAAS_MAX_BODY_BYTES``, then 100 MiB (the host's cap);
    ``max_invocations`` (per request) to ``STATEFUN_FAAS_MAX_INVOCATIONS``, then 100,000.
    ``observe`` is told of every request (see :class:`~statefun_faas.adapters.edge.RequestObserver`).
    """
    azf = import_extra("azure.functions", EXTRA)
    edge = Edge.create(
        functions,
        EXTRA,
        tokens=tokens,
        max_body_bytes=max_body_bytes,
        max_invocations=max_invocations,
        observe=observe,
    )
    handler = _handler(edge, azf, _answer)
    level = azf.AuthLevel.FUNCTION if auth_level is None else auth_level
    route_decorator = app.route(route=route, methods=[azf.HttpMethod.POST], auth_level=level)
    app.function_name(name=name)(route_decorator(handler))
    if health_route is not None:
        health_decorator = app.route(
            route=health_route, methods=[azf.HttpMethod.GET], auth_level=azf.AuthLevel.ANONYMOUS
        )
        app.function_name(name=f"{name}_health")(health_decorator(_handler(edge, azf, _health)))
    return handler


def function_app(functions: StatefulFunctions | RequestReplyHandler, **options: Any) -> func.FunctionApp:
    """A new ``FunctionApp`` (auth level FUNCTION) with :func:`register` applied; same options."""
    azf = import_extra("azure.functions", EXTRA)
    app: func.FunctionApp = azf.FunctionApp(http_auth_level=azf.AuthLevel.FUNCTION)
    register(app, functions, **options)
    return app


Answer = Callable[[Edge, "func.HttpRequest"], Awaitable[EdgeResponse]]


def _handler(edge: Edge, azf: ModuleType, answer_for: Answer) -> AzureHandler:
    response_class: type[func.HttpResponse] = azf.HttpResponse

    async def statefun(req: func.HttpRequest) -> func.HttpResponse:
        answer = await answer_for(edge, req)
        mimetype, _, charset = answer.content_type.partition("; charset=")
        return response_class(answer.body, status_code=answer.status, mimetype=mimetype, charset=charset or "utf-8")

    # The worker reads the binding types with typing.get_type_hints: give it the real classes.
    statefun.__annotations__ = {"req": azf.HttpRequest, "return": azf.HttpResponse}
    return statefun


async def _answer(edge: Edge, req: func.HttpRequest) -> EdgeResponse:
    length = declared_length(req.headers.get("content-length"))
    if isinstance(length, EdgeResponse):
        return length
    early = edge.precheck(req.method, urlsplit(req.url).path or "/", dict(req.params), length)
    if early is not None:
        return early
    return await edge.handle_body_async(req.get_body())


async def _health(edge: Edge, req: func.HttpRequest) -> EdgeResponse:
    """The health route's answer: whatever the edge answers to ``GET /healthz``."""
    return edge.precheck("GET", HEALTH_PATH, {}) or EdgeResponse(200, b"ok\n")
