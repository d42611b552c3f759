"""The HTTP-carrying Lambda event shapes: how to recognise each, read it, and answer it.

Each shape is a small class with the same five methods; :func:`shape_of` picks the one an
event belongs to. The dictionaries are described by the TypedDicts of ``_lambda_types``
(for readers and mypy; at run time an event is a plain ``dict`` from the runtime's JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote_plus

if TYPE_CHECKING:
    from statefun_faas.adapters._lambda_types import LambdaResponse

# -- the shapes ------------------------------------------------------------------------------------


def _response(event: Mapping[str, Any], status: int, content_type: str, body: str, is_base64: bool) -> LambdaResponse:
    """The answer with one header map: ``respond`` of the shapes whose answer does not depend on the event."""
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": body, "isBase64Encoded": is_base64}


class HttpV2:
    """Function URL / HTTP API payload 2.0: ``version == "2.0"`` and ``requestContext.http``."""

    name: ClassVar[str] = "function URL / HTTP API payload 2.0"
    text_hint: ClassVar[str] = "send the body with Content-Type: application/octet-stream so it arrives as base64"

    @staticmethod
    def owns(event: Mapping[str, Any]) -> bool:
        return event.get("version") == "2.0" and isinstance(_context(event).get("http"), Mapping)

    @staticmethod
    def method(event: Mapping[str, Any]) -> str:
        return text_field(HttpV2, "requestContext.http.method", _context(event)["http"].get("method"))

    @staticmethod
    def path(event: Mapping[str, Any]) -> str:
        raw = text_field(HttpV2, "rawPath", event.get("rawPath"))
        return raw or text_field(HttpV2, "requestContext.http.path", _context(event)["http"].get("path")) or "/"

    @staticmethod
    def query(event: Mapping[str, Any]) -> str | Mapping[str, str]:
        return text_field(HttpV2, "rawQueryString", event.get("rawQueryString"))

    respond = staticmethod(_response)


class RestV1:
    """API Gateway REST proxy (and HTTP API payload 1.0): ``httpMethod`` and ``resource``."""

    name: ClassVar[str] = "API Gateway REST (payload 1.0)"
    text_hint: ClassVar[str] = (
        "add application/octet-stream to the REST API's binaryMediaTypes (Settings > Binary Media Types, "
        "or BinaryMediaTypes in the template) and redeploy the stage"
    )

    @staticmethod
    def owns(event: Mapping[str, Any]) -> bool:
        return "httpMethod" in event and "elb" not in _context(event)

    @staticmethod
    def method(event: Mapping[str, Any]) -> str:
        return text_field(RestV1, "httpMethod", event["httpMethod"])

    @staticmethod
    def path(event: Mapping[str, Any]) -> str:
        return text_field(RestV1, "path", event.get("path")) or "/"

    @staticmethod
    def query(event: Mapping[str, Any]) -> str | Mapping[str, str]:
        return _single_values(RestV1, event)

    respond = staticmethod(_response)


class Alb:
    """Application Load Balancer target: ``requestContext.elb``; answers in the event's header form."""

    name: ClassVar[str] = "Application Load Balancer"
    text_hint: ClassVar[str] = "send the body with Content-Type: application/octet-stream so it arrives as base64"

    @staticmethod
    def owns(event: Mapping[str, Any]) -> bool:
        return "elb" in _context(event)

    @staticmethod
    def method(event: Mapping[str, Any]) -> str:
        return text_field(Alb, "httpMethod", event.get("httpMethod"))

    @staticmethod
    def path(event: Mapping[str, Any]) -> str:
        return text_field(Alb, "path", event.get("path")) or "/"

    @staticmethod
    def query(event: Mapping[str, Any]) -> str | Mapping[str, str]:
        # The load balancer passes query values on exactly as the client encoded them.
        raw = _single_values(Alb, event)
        return {unquote_plus(key): unquote_plus(value) for key, value in raw.items()}

    @staticmethod
    def respond(event: Mapping[str, Any], status: int, content_type: str, body: str, is_base64: bool) -> LambdaResponse:
        answer: LambdaResponse = {
            "statusCode": status,
            "statusDescription": _status_line(status),
            "body": body,
            "isBase64Encoded": is_base64,
        }
        if "multiValueHeaders" in event:  # the target group has multi-value headers on
            answer["multiValueHeaders"] = {"Content-Type": [content_type]}
        else:
            answer["headers"] = {"Content-Type": content_type}
        return answer


@cache
def _status_line(status: int) -> str:
    """``200 OK``: the status with the standard library's reason phrase, as the load balancer shows it."""
    from http import HTTPStatus  # here, not at the top: building its enum takes ~0.5 ms of cold start

    return f"{status} {HTTPStatus(status).phrase}"


Shape = type[HttpV2] | type[RestV1] | type[Alb]

#: Checked in this order: an ALB event also has ``httpMethod``, so it goes before REST.
SHAPES: tuple[Shape, ...] = (HttpV2, Alb, RestV1)


class UnsupportedEventError(ValueError):
    """The Lambda event is not an HTTP request this adapter understands."""


def shape_of(event: object) -> Shape:
    """The shape ``event`` belongs to, or :class:`UnsupportedEventError` saying what was seen."""
    if isinstance(event, Mapping):
        for shape in SHAPES:
            if shape.owns(event):
                return shape
        seen = ", ".join(sorted(str(key) for key in event)[:12]) or "no keys"
    else:
        seen = f"a {type(event).__name__}, not a JSON object"
    supported = "; ".join(shape.name for shape in SHAPES)
    raise UnsupportedEventError(
        f"this Lambda event is not an HTTP request the StateFun adapter understands (it has {seen}); "
        f"invoke the function through one of: {supported}"
    )


def _context(event: Mapping[str, Any]) -> Mapping[str, Any]:
    context = event.get("requestContext")
    return context if isinstance(context, Mapping) else {}


def text_field(shape: Shape, field: str, value: object) -> str:
    """A string field of the event ("" when absent or null); any other type is a clear error."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    raise malformed(shape, field, value, "a string")


def malformed(shape: Shape, field: str, value: object, expected: str) -> UnsupportedEventError:
    return UnsupportedEventError(
        f"this Lambda event looks like one from {shape.name}, but its field {field} holds a "
        f"{type(value).__name__} where the front door always sends {expected}; invoke the function "
        f"through the front door, or keep test events to the shape it sends"
    )


_SINGLE, _MULTI = "queryStringParameters", "multiValueQueryStringParameters"


def _single_values(shape: Shape, event: Mapping[str, Any]) -> Mapping[str, str]:
    """One value per query parameter; with multi-value parameters on, the last one wins as in API Gateway."""
    multi = event.get(_MULTI)
    if multi:
        last: dict[str, str] = {}
        for key, values in _mapping(shape, _MULTI, multi).items():
            if not isinstance(values, list):
                raise malformed(shape, f"{_MULTI}.{key}", values, "a list of strings")
            if values:
                last[key] = text_field(shape, f"{_MULTI}.{key}", values[-1])
        return last
    single = _mapping(shape, _SINGLE, event.get(_SINGLE) or {})
    return {key: text_field(shape, f"{_SINGLE}.{key}", value) for key, value in single.items()}


def _mapping(shape: Shape, field: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise malformed(shape, field, value, "a JSON object")
    return value
