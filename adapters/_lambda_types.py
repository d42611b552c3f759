"""Types of the Lambda HTTP events, responses and context (for annotations and mypy only).

Nothing imports this module on the request path: creating TypedDict and Protocol classes
costs milliseconds at cold start. Import the names from ``statefun_faas.adapters.aws_lambda``
(which loads them on first access) or from here under ``typing.TYPE_CHECKING``.
"""

from __future__ import annotations

from typing import Any, NotRequired, Protocol, TypedDict


class HttpDescription(TypedDict):
    method: str
    path: str
    protocol: NotRequired[str]
    sourceIp: NotRequired[str]
    userAgent: NotRequired[str]


class HttpV2RequestContext(TypedDict, total=False):
    accountId: str
    apiId: str
    domainName: str
    http: HttpDescription
    requestId: str
    routeKey: str
    stage: str
    timeEpoch: int


class HttpV2Event(TypedDict):
    """Lambda function URL, or API Gateway HTTP API with payload format 2.0."""

    version: str  # "2.0"
    routeKey: str
    rawPath: str
    rawQueryString: str
    headers: NotRequired[dict[str, str]]
    queryStringParameters: NotRequired[dict[str, str]]
    requestContext: HttpV2RequestContext
    body: NotRequired[str | None]
    isBase64Encoded: bool


class RestV1Event(TypedDict):
    """API Gateway REST API proxy integration (also HTTP API with payload format 1.0)."""

    resource: str
    path: str
    httpMethod: str
    headers: dict[str, str] | None
    multiValueHeaders: dict[str, list[str]] | None
    queryStringParameters: dict[str, str] | None
    multiValueQueryStringParameters: dict[str, list[str]] | None
    pathParameters: dict[str, str] | None
    stageVariables: dict[str, str] | None
    requestContext: dict[str, Any]
    body: str | None
    isBase64Encoded: bool


class AlbTargetGroup(TypedDict):
    targetGroupArn: str


class AlbRequestContext(TypedDict):
    elb: AlbTargetGroup


class AlbEvent(TypedDict):
    """Application Load Balancer with a Lambda target; one of the two header forms is present."""

    requestContext: AlbRequestContext
    httpMethod: str
    path: str
    queryStringParameters: NotRequired[dict[str, str]]
    multiValueQueryStringParameters: NotRequired[dict[str, list[str]]]
    headers: NotRequired[dict[str, str]]
    multiValueHeaders: NotRequired[dict[str, list[str]]]
    body: str
    isBase64Encoded: bool


class LambdaResponse(TypedDict):
    statusCode: int
    body: str
    isBase64Encoded: bool
    headers: NotRequired[dict[str, str]]
    multiValueHeaders: NotRequired[dict[str, list[str]]]
    statusDescription: NotRequired[str]


LambdaEvent = HttpV2Event | RestV1Event | AlbEvent


class LambdaContext(Protocol):
    """The parts of the Lambda context object (awslambdaric's LambdaContext) worth knowing."""

    aws_request_id: str
    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: str | int

    def get_remaining_time_in_millis(self) -> int: ...
