"""The Azure Functions Python worker's part, run by a package's own interpreter from the unpacked app folder.

Like the worker it puts the app folder on the import path, imports ``function_app.py``, takes
its one ``FunctionApp`` and indexes its functions (binding JSON and user function). Then it
answers requests the way the worker hands them over: the trigger data the host sends becomes
the ``HttpRequest`` through azure.functions' own ``HttpRequestConverter``, and the user
function's ``HttpResponse`` goes back through ``HttpResponseConverter``. Imports only the
standard library and what the package installed.

stdin: a JSON list of requests ``{"function", "method", "url", "headers", "body"}`` (body in
base64); stdout: ``{"functions": {name: binding JSON}, "answers": [{"status", "headers", "body"}]}``.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import inspect
import json
import os
import sys
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func
from azure.functions.decorators.function_app import FunctionRegister
from azure.functions.http import HttpRequestConverter, HttpResponseConverter
from azure.functions.meta import Datum


def index(folder: str) -> dict[str, Any]:
    """The functions of the one FunctionApp in ``folder``/function_app.py, by name."""
    sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location("function_app", os.path.join(folder, "function_app.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (app,) = [value for value in vars(module).values() if isinstance(value, FunctionRegister)]
    return {str(function.get_function_name()): function for function in app.get_functions()}


def trigger(request: dict[str, Any]) -> func.HttpRequest:
    """The HttpRequest the worker builds from the host's trigger data."""
    query = urlsplit(request["url"]).query
    datum = Datum(
        type="http",
        value={
            "method": Datum(request["method"], "string"),
            "url": Datum(request["url"], "string"),
            "headers": {name.lower(): Datum(value, "string") for name, value in request["headers"].items()},
            "query": {name: Datum(value, "string") for name, value in parse_qsl(query, keep_blank_values=True)},
            "params": {},
            "body": Datum(base64.b64decode(request["body"]), "bytes"),
        },
    )
    converted: func.HttpRequest = HttpRequestConverter.decode(datum, trigger_metadata=None)
    return converted


async def answer(function: Any, request: dict[str, Any]) -> dict[str, Any]:
    user_function = function.get_user_function()
    (parameter,) = inspect.signature(user_function).parameters
    call = user_function(**{parameter: trigger(request)})
    response = await call if inspect.isawaitable(call) else call
    datum = HttpResponseConverter.encode(response, expected_type=None).value
    headers = {name: value.value for name, value in datum["headers"].items()}
    body = base64.b64encode(datum["body"].value or b"").decode("ascii")
    return {"status": int(datum["status_code"].value), "headers": headers, "body": body}


async def main() -> None:
    functions = index(os.getcwd())
    requests = json.load(sys.stdin)
    answers = [await answer(functions[request["function"]], request) for request in requests]
    indexed = {name: json.loads(function.get_function_json()) for name, function in functions.items()}
    json.dump({"functions": indexed, "answers": answers}, sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())
