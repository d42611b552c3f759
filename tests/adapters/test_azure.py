"""Azure: real ``azure.functions`` requests through the functions registered on a real FunctionApp.

The Functions host itself (.NET, Core Tools) can not run offline, so these tests take what
the host would index (``app.get_functions()``: binding JSON and user function) and call the
user function with real ``HttpRequest`` objects, as the Python worker does. Runs on
azure-functions 1.x (Python 3.11) and, from .ci/run, on 2.x (Python 3.13).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
import typing
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import azure.functions as func
import pytest
from azure.functions.decorators.function_app import FunctionRegister

from statefun_faas import StringType
from statefun_faas.adapters.azure import function_app, register
from tests.adapters.conformance import MAX_BODY, MAX_INVOCATIONS, TOKENS, Case, check
from tests.adapters.support import ALL_CASES, FUNCTIONS
from tests.builders import Request, decode, typed

BASE = "https://example.azurewebsites.net"
APP_FILE = Path(__file__).with_name("azure_app") / "function_app.py"


def _functions(app: func.FunctionApp) -> dict[str, Any]:
    return {str(function.get_function_name()): function for function in app.get_functions()}


def _bindings(function: Any) -> dict[str, dict[str, Any]]:
    document = json.loads(function.get_function_json())
    return {binding["type"]: binding for binding in document["bindings"]}


def _request(case: Case, query: str | None = None) -> func.HttpRequest:
    query = case.query if query is None else query
    headers = {**case.headers, "Content-Length": str(len(case.body))} if case.method == "POST" else {}
    return func.HttpRequest(
        method=case.method,
        url=BASE + case.path + (f"?{query}" if query else ""),
        headers=headers,
        params=dict(parse_qsl(query)),
        body=case.body if case.method == "POST" else b"",
    )


async def _call(function: Any, request: func.HttpRequest) -> func.HttpResponse:
    response: func.HttpResponse = await function.get_user_function()(request)
    return response


def test_bindings_are_what_the_host_indexes() -> None:
    app = func.FunctionApp()
    register(app, FUNCTIONS)
    functions = _functions(app)
    assert set(functions) == {"statefun", "statefun_health"}
    trigger = _bindings(functions["statefun"])["httpTrigger"]
    assert trigger["methods"] == ["POST"]
    assert str(trigger["authLevel"]).lower() == "function"
    assert trigger["route"] == "statefun"
    assert trigger["name"] == "req"
    assert _bindings(functions["statefun"])["http"]["name"] == "$return"
    health = _bindings(functions["statefun_health"])["httpTrigger"]
    assert (health["methods"], str(health["authLevel"]).lower(), health["route"]) == (["GET"], "anonymous", "healthz")
    hints = typing.get_type_hints(functions["statefun"].get_user_function())
    assert hints == {"req": func.HttpRequest, "return": func.HttpResponse}


def test_conformance_through_the_registered_functions() -> None:
    app = function_app(FUNCTIONS, tokens=TOKENS, max_body_bytes=MAX_BODY, max_invocations=MAX_INVOCATIONS)
    functions = _functions(app)

    async def run_all() -> None:
        for case in ALL_CASES:
            function = functions["statefun_health" if case.path == "/healthz" else "statefun"]
            response = await _call(function, _request(case))
            check(case, response.status_code, response.mimetype, response.get_body())
            again = await _call(functions["statefun"], _request(ALL_CASES[0]))
            check(ALL_CASES[0], again.status_code, again.mimetype, again.get_body())

    asyncio.run(run_all())


def test_own_token_check_is_off_by_default_and_the_code_key_is_ignored() -> None:
    app = func.FunctionApp()
    register(app, FUNCTIONS, route="fn/statefun", name="custom")
    function = _functions(app)["custom"]
    assert _bindings(function)["httpTrigger"]["route"] == "fn/statefun"
    case = ALL_CASES[0]
    response = asyncio.run(_call(function, _request(case, query="code=the-host-checked-this")))
    check(case, response.status_code, response.mimetype, response.get_body())
    assert response.headers.get("Content-Type", response.mimetype) == "application/octet-stream"


def test_platform_default_limit_and_environment_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATEFUN_FAAS_TOKENS", TOKENS[1])
    app = func.FunctionApp()
    register(app, FUNCTIONS, tokens=None, health_route=None)
    function = _functions(app)["statefun"]
    case = ALL_CASES[0]
    assert asyncio.run(_call(function, _request(case, query="code=k"))).status_code == 401
    assert asyncio.run(_call(function, _request(case, query=f"token={TOKENS[1]}"))).status_code == 200
    headers, params = {"Content-Length": str(101 * 2**20)}, {"token": TOKENS[1]}
    declared = func.HttpRequest("POST", BASE + "/statefun", headers=headers, params=params, body=b"")
    assert asyncio.run(_call(function, declared)).status_code == 413


def _index(path: Path) -> list[Any]:
    """What the worker does with ``function_app.py``: import it, take its one app, list its functions."""
    spec = importlib.util.spec_from_file_location("function_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    apps = [value for value in vars(module).values() if isinstance(value, FunctionRegister)]
    assert len(apps) == 1, "the worker wants exactly one FunctionApp per function_app.py"
    return list(apps[0].get_functions())


def test_a_user_function_app_file_indexes_and_answers() -> None:
    indexed = {str(function.get_function_name()): function for function in _index(APP_FILE)}
    assert set(indexed) == {"statefun", "statefun_health"}
    assert json.loads(indexed["statefun"].get_function_json())["scriptFile"] == "function_app.py"
    body = Request("example/greeter", "ada").message(typed(StringType, "ada")).bytes()
    case = Case("greeting", "POST", "/api/statefun", "code=function-key", body, 200, b"")
    response = asyncio.run(_call(indexed["statefun"], _request(case)))
    assert (response.status_code, response.mimetype) == (200, "application/octet-stream")
    (outgoing,) = decode(response.get_body()).invocation_result.outgoing_messages
    assert outgoing.target.id == "ada"
    health = Case("health", "GET", "/api/healthz", "", b"", 200)
    assert asyncio.run(_call(indexed["statefun_health"], _request(health))).get_body() == b"ok\n"


def test_library_major_version_matches_the_interpreter() -> None:
    from importlib.metadata import version

    major = version("azure-functions").split(".")[0]
    assert major == ("2" if sys.version_info >= (3, 13) else "1")


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "azure.functions", None)
    with pytest.raises(ImportError, match=r"pip install 'statefun-faas\[azure\]'"):
        function_app(FUNCTIONS)
