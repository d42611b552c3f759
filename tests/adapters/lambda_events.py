"""Lambda events for the conformance cases, built from the fixtures in tests/events/.

Each fixture is a whole event of one shape; :func:`event_for` replaces only what a request
changes (method, path, query, body), the way the front door would fill it in.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote_plus

from tests.adapters.conformance import Case

EVENTS = Path(__file__).resolve().parent.parent / "events"

#: Every fixture, by file stem.
SHAPES = ("function_url", "http_api_v2", "rest_v1", "alb", "alb_multi_value")


def load(shape: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{shape}.json").read_text("utf-8"))
    return event


def event_for(shape: str, method: str, path: str, query: str, body: bytes) -> dict[str, Any]:
    """The event the front door named ``shape`` hands to Lambda for this request."""
    event = load(shape)
    pairs = parse_qsl(query, keep_blank_values=True)
    if event.get("version") == "2.0":
        _fill_v2(event, method, path, query, pairs)
    elif "elb" in event["requestContext"]:
        _fill_alb(event, method, path, pairs)
    else:
        _fill_rest(event, method, path, pairs)
    # REST APIs hand an empty body over as null; the others as base64 of nothing.
    empty_as_null = shape == "rest_v1" and not body
    event["body"] = None if empty_as_null else base64.b64encode(body).decode("ascii")
    event["isBase64Encoded"] = not empty_as_null
    _set_header(event, "content-length", str(len(body)))
    return event


def case_event(shape: str, case: Case) -> dict[str, Any]:
    return event_for(shape, case.method, case.path, case.query, case.body)


def unpack(response: Mapping[str, Any]) -> tuple[int, str | None, bytes]:
    """Status, content type and raw body of a Lambda HTTP response dict, as the front door reads it."""
    single = {name.lower(): value for name, value in (response.get("headers") or {}).items()}
    multi = {name.lower(): values for name, values in (response.get("multiValueHeaders") or {}).items()}
    content_type = single.get("content-type") or next(iter(multi.get("content-type") or []), None)
    body = response["body"]
    data = base64.b64decode(body, validate=True) if response["isBase64Encoded"] else body.encode("utf-8")
    return int(response["statusCode"]), content_type, data


def _fill_v2(event: dict[str, Any], method: str, path: str, query: str, pairs: list[tuple[str, str]]) -> None:
    event["rawPath"], event["rawQueryString"] = path, query
    event["requestContext"]["http"].update(method=method, path=path)
    if pairs:
        event["queryStringParameters"] = {key: ",".join(v for k, v in pairs if k == key) for key, _ in pairs}
    else:
        event.pop("queryStringParameters", None)


def _fill_rest(event: dict[str, Any], method: str, path: str, pairs: list[tuple[str, str]]) -> None:
    event["httpMethod"], event["path"] = method, path
    context = event["requestContext"]
    context["httpMethod"], context["path"] = method, f"/{context['stage']}{path}"
    event["queryStringParameters"] = dict(pairs) or None
    event["multiValueQueryStringParameters"] = _multi(pairs) or None


def _fill_alb(event: dict[str, Any], method: str, path: str, pairs: list[tuple[str, str]]) -> None:
    event["httpMethod"], event["path"] = method, path
    encoded = [(quote_plus(key), quote_plus(value)) for key, value in pairs]  # the ALB does not decode
    if "multiValueHeaders" in event:
        event["multiValueQueryStringParameters"] = _multi(encoded)
    else:
        event["queryStringParameters"] = dict(encoded)


def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    return multi


def _set_header(event: dict[str, Any], name: str, value: str) -> None:
    """Replace a header (fixtures carry it in the case their front door uses) in every form present."""
    single, multi = event.get("headers"), event.get("multiValueHeaders")
    if single is not None:
        single[next((k for k in single if k.lower() == name), name)] = value
    if multi is not None:
        multi[next((k for k in multi if k.lower() == name), name)] = [value]
