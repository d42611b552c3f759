"""The HTTP-carrying Lambda event shapes: how to recognise each, read it, and answer it.

Each shape is a small class with the same four methods; :func:`shape_of` picks the one an
event belongs to. The dictionaries are described by the TypedDicts of ``_lambda_types``
(for readers and mypy; at run time an event is a plain ``dict`` from the runtime's JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote_plus

if TYPE_CHECKING:
    from statefun_faas.adapters._lambda_types import LambdaResponse
    from statefun_faas.edge import EdgeResponse

# -- the shapes ------------------------------------------------------------------------------------


def _response(response: EdgeResponse, body: str, is_base64: bool) -> LambdaResponse:
    return {
        "statusCode": response.status,
        "headers": {"Content-Type": response.content_type},
        "body": body,
        "isBase64Encoded": is_base64,
    }


class HttpV2:
    """Function URL / HTTP API payload 2.0: ``version == "2.0"`` and ``requestContext.http``."""

    name: ClassVar[str] = "function URL / HTTP API payload 2.0"
    text_hint: ClassVar[str] = "send the body with Content-Type: application/octet-stream so it arrives as base64"

    @staticmethod
    def owns(event: Mapping[str, Any]) -> bool:
        return event.get("version") == "2.0" and "http" in (event.get("requestContext") or {})

    @staticmethod
    def method(event: Mapping[str, Any]) -> str:
        return str(event["requestContext"]["http"]["method"])

    @staticmethod
    def path(event: Mapping[str, Any]) -> str:
        return str(event.get("rawPath") or event["requestContext"]["http"].get("path") or "/")

    @staticmethod
    def query(event: Mapping[str, Any]) -> str | Mapping[str, str]:
        return str(event.get("rawQueryString") or "")

    @staticmethod
    def respond(event: Mapping[str, Any], response: EdgeResponse, body: str, is_base64: bool) -> LambdaResponse:
        return _response(response, body, is_base64)


class RestV1:
    """API Gateway REST proxy (and HTTP API payload 1.0): ``httpMethod`` and ``resource``."""

    name: ClassVar[str] = "API Gateway REST (payload 1.0)"
    text_hint: ClassVar[str] = (
        "add application/octet-stream to the REST API's binaryMediaTypes (Settings > Binary Media Types, "
        "or BinaryMediaTypes in the template) and redeploy the stage"
    )

    @staticmethod
    def owns(event: Mapping[str, Any]) -> bool:
        return "httpMethod" in event and "elb" not in (event.get("requestContext") or {})

    @staticmethod
    def method(event: Mapping[str, Any]) -> str:
        return str(event["httpMethod"])

    @staticmethod
    def path(event: Mapping[str, Any]) -> str:
        return str(event.get("path") or "/")

    @staticmethod
    def query(event: Mapping[str, Any]) -> str | Mapping[str, str]:
        return _single_values(event.get("queryStringParameters"), event.get("multiValueQueryStringParameters"))

    @staticmethod
    def respond(event: Mapping[str, Any], response: EdgeResponse, body: str, is_base64: bool) -> LambdaResponse:
        return _response(response, body, is_base64)


class Alb:
    """Application Load Balancer target: ``requestContext.elb``; answers in the event's header form."""

    name: ClassVar[str] = "Application Load Balancer"
    text_hint: ClassVar[str] = "send the body with Content-Type: application/octet-stream so it arrives as base64"

    @staticmethod
    def owns(event: Mapping[str, Any]) -> bool:
        return "elb" in (event.get("requestContext") or {})

    @staticmethod
    def method(event: Mapping[str, Any]) -> str:
        return str(event["httpMethod"])

    @staticmethod
    def path(event: Mapping[str, Any]) -> str:
        return str(event.get("path") or "/")

    @staticmethod
    def query(event: Mapping[str, Any]) -> str | Mapping[str, str]:
        # The load balancer passes query values on exactly as the client encoded them.
        raw = _single_values(event.get("queryStringParameters"), event.get("multiValueQueryStringParameters"))
        return {unquote_plus(key): unquote_plus(value) for key, value in raw.items()}

    @staticmethod
    def respond(event: Mapping[str, Any], response: EdgeResponse, body: str, is_base64: bool) -> LambdaResponse:
        answer: LambdaResponse = {
            "statusCode": response.status,
            "statusDescription": f"{response.status} {_REASONS.get(response.status, 'Status')}",
            "body": body,
            "isBase64Encoded": is_base64,
        }
        if "multiValueHeaders" in event:  # the target group has multi-value headers on
            answer["multiValueHeaders"] = {"Content-Type": [response.content_type]}
        else:
            answer["headers"] = {"Content-Type": response.content_type}
        return answer


Shape = type[HttpV2] | type[RestV1] | type[Alb]

#: Checked in this order: an ALB event also has ``httpMethod``, so it goes before REST.
SHAPES: tuple[Shape, ...] = (HttpV2, Alb, RestV1)

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
}


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


def _single_values(single: Mapping[str, str] | None, multi: Mapping[str, list[str]] | None) -> Mapping[str, str]:
    """One value per query parameter; with multi-value parameters on, the last one wins as in API Gateway."""
    if multi:
        return {key: values[-1] for key, values in multi.items() if values}
    return single or {}
