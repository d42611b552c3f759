"""A Lambda handler behind an HTTP front shaped like a Lambda Function URL.

Each HTTP request becomes a Function URL event (payload format 2.0, built from the captured
event in tests/events/function_url.json): ``rawPath``, ``rawQueryString``,
``queryStringParameters``, ``requestContext.http.method``, the headers with lower-case names
(repeated ones joined with commas, cookies in ``cookies``), and the body base64-encoded with
``isBase64Encoded: true`` unless the content type is text. The event goes through AWS's own
runtime client (``python -m awslambdaric``) polling the Runtime API emulator of the adapter
tests, and the handler's result becomes the HTTP answer: ``statusCode``, ``headers``,
``body`` base64-decoded when ``isBase64Encoded``; a result that is not such an
object is a 200 ``application/json`` of its JSON; an invocation error is a 502, as Function
URLs answer it.

Emulated, not Lambda: the Function URL front door itself (HTTPS and IAM/NONE auth are absent,
its 6 MB payload and timeout limits are not enforced, response cookies are not passed on) and
the Runtime API. One runtime process serves the calls one at a time, as one execution
environment does; Lambda would add more environments for concurrent calls.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from tests.adapters.lambda_events import event_for
from tests.adapters.lambda_runtime_emulator import Result, Runtime, lambda_runtime
from tests.engine.http_front import Answer, Incoming, Served, serving

INVOKE_TIMEOUT = 120.0
_TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml", "application/x-www-form")


def function_url_event(request: Incoming) -> dict[str, Any]:
    """The event a Function URL hands to the function for ``request``."""
    event = event_for("function_url", request.method, request.path, request.query, request.body)
    headers: dict[str, str] = {}
    for name, _ in request.headers:
        if name.lower() != "cookie":
            headers[name.lower()] = request.header(name) or ""
    event["headers"] = headers
    cookies = request.header("cookie")
    if cookies:
        event["cookies"] = [cookie.strip() for cookie in cookies.split(";")]
    if _is_text(headers.get("content-type", "")):
        event["body"], event["isBase64Encoded"] = request.body.decode("utf-8", "replace"), False
    now = time.time()
    context = event["requestContext"]
    context["requestId"] = str(uuid.uuid4())
    context["time"] = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))
    context["timeEpoch"] = int(now * 1000)
    context["http"].update(sourceIp=request.peer, userAgent=headers.get("user-agent", ""))
    return event


def http_answer(result_kind: str, payload: Any) -> Answer:
    """The HTTP answer a Function URL gives for the function's result."""
    if result_kind != "response":
        return Answer(502, {"Content-Type": "application/json"}, b'{"Message":"Internal Server Error"}')
    if not (isinstance(payload, Mapping) and "statusCode" in payload):
        return Answer(200, {"Content-Type": "application/json"}, json.dumps(payload).encode("utf-8"))
    headers = {str(name): str(value) for name, value in (payload.get("headers") or {}).items()}
    body = payload.get("body") or ""
    data = base64.b64decode(body, validate=True) if payload.get("isBase64Encoded") else body.encode("utf-8")
    return Answer(int(payload["statusCode"]), headers, data)


def _is_text(content_type: str) -> bool:
    return content_type.lower().startswith(_TEXT_TYPES)


@contextmanager
def function_url(app_source: str, env: Mapping[str, str]) -> Iterator[Served]:
    """Serve the Lambda handler ``app.handler`` of ``app_source`` behind a Function URL on loopback."""
    with lambda_runtime(app_source, env=env) as runtime:

        async def answer(request: Incoming) -> Answer:
            result = await asyncio.get_running_loop().run_in_executor(None, _invoke, runtime, request)
            return http_answer(result.kind, result.payload)

        with serving(answer) as served:
            served.url += "/"  # Function URLs end with a slash
            yield served


def _invoke(runtime: Runtime, request: Incoming) -> Result:
    return runtime.invoke(function_url_event(request), timeout=INVOKE_TIMEOUT)
