"""The AWS Lambda adapter, called in-process with the event shapes of every HTTP front door.

The events come from the fixtures in tests/events/ (see its README). The same requests go
through the real awslambdaric runtime loop in test_aws_lambda_runtime.py.
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from statefun_faas.adapters.aws_lambda import LambdaHandler, UnsupportedEventError, lambda_handler
from tests.adapters.conformance import (
    CASES,
    COUNTER_OK,
    FUNCTIONS,
    GOOD,
    MAX_BODY,
    MAX_INVOCATIONS,
    TOKENS,
    Case,
    check,
)
from tests.adapters.lambda_events import SHAPES, case_event, event_for, load, unpack

OCTET_STREAM = "application/octet-stream"


@pytest.fixture(scope="module")
def handler() -> LambdaHandler:
    return lambda_handler(FUNCTIONS, tokens=TOKENS, max_body_bytes=MAX_BODY, max_invocations=MAX_INVOCATIONS)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_conformance_case(handler: LambdaHandler, shape: str, case: Case) -> None:
    status, content_type, body = unpack(handler(case_event(shape, case), None))
    check(case, status, content_type, body)


@pytest.mark.parametrize("shape", SHAPES)
def test_success_headers_are_exactly_octet_stream(handler: LambdaHandler, shape: str) -> None:
    response = handler(event_for(shape, "POST", "/statefun", f"token={GOOD}", COUNTER_OK), None)
    assert response["isBase64Encoded"] is True
    if shape == "alb_multi_value":
        assert response["multiValueHeaders"] == {"Content-Type": [OCTET_STREAM]}
    else:
        assert response["headers"] == {"Content-Type": OCTET_STREAM}
    base64.b64decode(response["body"], validate=True)


@pytest.mark.parametrize("shape", SHAPES)
def test_bad_base64_is_400(handler: LambdaHandler, shape: str) -> None:
    event = event_for(shape, "POST", "/statefun", f"token={GOOD}", COUNTER_OK)
    event["body"] = "this is not base64!"
    status, _, body = unpack(handler(event, None))
    assert status == 400
    assert b"base64" in body


@pytest.mark.parametrize("shape", SHAPES)
def test_token_is_checked_before_the_body_is_decoded(handler: LambdaHandler, shape: str) -> None:
    event = event_for(shape, "POST", "/statefun", "token=wrong", COUNTER_OK)
    event["body"] = "not base64 at all"
    assert unpack(handler(event, None))[0] == 401


def rest_without_binary_media_types(body: bytes) -> dict[str, Any]:
    """What API Gateway REST sends when binaryMediaTypes lacks octet-stream: the body as text."""
    event = event_for("rest_v1", "POST", "/statefun", f"token={GOOD}", body)
    event["body"], event["isBase64Encoded"] = body.decode("utf-8", "replace"), False
    return event


def test_rest_without_binary_media_types_is_415_with_the_hint(handler: LambdaHandler) -> None:
    status, content_type, body = unpack(handler(rest_without_binary_media_types(COUNTER_OK), None))
    assert status == 415
    assert content_type is not None
    assert content_type.startswith("text/plain")
    assert b"binaryMediaTypes" in body


def test_text_body_on_a_function_url_is_415(handler: LambdaHandler) -> None:
    event = event_for("function_url", "POST", "/statefun", f"token={GOOD}", COUNTER_OK)
    event["body"], event["isBase64Encoded"] = "plain text", False
    status, _, body = unpack(handler(event, None))
    assert status == 415
    assert b"application/octet-stream" in body


@pytest.mark.parametrize("shape", ["alb", "alb_multi_value"])
def test_alb_answers_in_the_header_form_of_its_event(handler: LambdaHandler, shape: str) -> None:
    event = event_for(shape, "POST", "/statefun", f"token={GOOD}", COUNTER_OK)
    response = handler(event, None)
    assert response["statusDescription"] == "200 OK"
    multi = "multiValueHeaders" in event
    assert ("multiValueHeaders" in response) is multi
    assert ("headers" in response) is not multi
    expected = next(c for c in CASES if c.name == "success")
    check(expected, *unpack(response))


@pytest.mark.parametrize("shape", ["alb", "alb_multi_value"])
def test_alb_query_values_are_decoded(shape: str) -> None:
    token = "a b+c/d=e"  # the load balancer hands the query on still URL-encoded
    handler = lambda_handler(FUNCTIONS, tokens=[token], max_body_bytes=MAX_BODY)
    event = event_for(shape, "POST", "/statefun", "token=" + token.replace("+", "%2B"), COUNTER_OK)
    assert unpack(handler(event, None))[0] == 200


def test_text_answers_are_not_base64(handler: LambdaHandler) -> None:
    response = handler(event_for("function_url", "GET", "/healthz", "", b""), None)
    assert response == {
        "statusCode": 200,
        "headers": {"Content-Type": "text/plain; charset=utf-8"},
        "body": "ok\n",
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    "event",
    [
        {"Records": [{"eventSource": "aws:sqs", "body": "x"}]},
        {"version": "2.0", "requestContext": {}},
        ["not", "an", "object"],
    ],
    ids=["sqs", "v2 without http", "list"],
)
def test_unknown_event_shape_is_a_clear_error(handler: LambdaHandler, event: Any) -> None:
    with pytest.raises(UnsupportedEventError, match=r"not an HTTP request.*function URL"):
        handler(event, None)


def test_fixtures_are_recognised_untouched(handler: LambdaHandler) -> None:
    for shape in SHAPES:
        status, _, _ = unpack(handler(load(shape), None))
        assert status == 401, shape  # understood; no token in the fixtures


def test_importing_the_adapter_loads_no_event_loop_platform_library_or_typing_classes() -> None:
    unwanted = ("asyncio", "awslambdaric", "boto3", "mangum", "statefun_faas.adapters._lambda_types")
    code = f"import sys, statefun_faas.adapters.aws_lambda\nprint(sorted(set({unwanted!r}) & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_event_and_context_types_load_on_first_use() -> None:
    from statefun_faas.adapters import aws_lambda

    assert aws_lambda.LambdaContext.__name__ == "LambdaContext"
    assert set(aws_lambda.AlbEvent.__annotations__) >= {"requestContext", "httpMethod", "body", "isBase64Encoded"}
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        aws_lambda.Nope  # noqa: B018


@pytest.fixture
def mangum_handler() -> Iterator[Callable[[dict[str, Any], Any], dict[str, Any]]]:
    """The documented mangum path: our ASGI app behind ``Mangum(app, lifespan="off")``.

    Mangum runs each call on the thread's current event loop; the fixture gives it one of
    its own (as a fresh Lambda process has) and closes it afterwards.
    """
    from mangum import Mangum

    from statefun_faas.adapters.asgi import asgi_app

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield Mangum(
            asgi_app(FUNCTIONS, tokens=TOKENS, max_body_bytes=MAX_BODY, max_invocations=MAX_INVOCATIONS), lifespan="off"
        )
    finally:
        asyncio.set_event_loop(None)
        loop.close()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_mangum_with_lifespan_off_answers_the_conformance_set(
    mangum_handler: Callable[[dict[str, Any], Any], dict[str, Any]], case: Case
) -> None:
    check(case, *unpack(mangum_handler(case_event("function_url", case), None)))


@pytest.mark.parametrize("size", range(8))
def test_decoded_size_is_known_before_decoding(size: int) -> None:
    from statefun_faas.adapters.aws_lambda import _decoded_size

    assert _decoded_size(base64.b64encode(b"x" * size).decode("ascii")) == size


def test_a_body_exactly_at_the_limit_is_not_413(handler: LambdaHandler) -> None:
    event = event_for("function_url", "POST", "/statefun", f"token={GOOD}", b"\x00" * MAX_BODY)
    assert unpack(handler(event, None))[0] == 400  # read and parsed: zeros are no ToFunction


def _v2_event(**changes: Any) -> dict[str, Any]:
    event = event_for("function_url", "POST", "/statefun", f"token={GOOD}", COUNTER_OK)
    http = event["requestContext"]["http"]
    for key, value in changes.items():
        (http if key == "method" else event)[key] = value
    return event


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({}, 200),
        ({"method": "post"}, 200),
        ({"rawPath": ""}, 200),
        ({"rawQueryString": None}, 401),
        ({"rawPath": f"/t/{GOOD}/statefun", "rawQueryString": ""}, 200),
        ({"body": base64.b64encode(b"\x00" * (MAX_BODY + 1)).decode("ascii")}, 413),
        ({"body": "!!!!"}, 400),
        ({"isBase64Encoded": False}, 415),
    ],
    ids=["plain", "lowercase method", "empty rawPath", "null query", "path token", "too large", "bad base64", "text"],
)
def test_function_url_events_read_either_way_get_the_table_answer(
    handler: LambdaHandler, changes: dict[str, Any], status: int
) -> None:
    assert unpack(handler(_v2_event(**changes), None))[0] == status


@pytest.mark.parametrize(
    "changes",
    [{"rawPath": 7}, {"rawQueryString": ["token", GOOD]}, {"body": 12}, {"isBase64Encoded": "true"}, {"method": 1}],
    ids=["rawPath", "rawQueryString", "body", "isBase64Encoded", "method"],
)
def test_function_url_events_with_odd_field_types_are_clear_errors(
    handler: LambdaHandler, changes: dict[str, Any]
) -> None:
    with pytest.raises(UnsupportedEventError, match=r"function URL / HTTP API payload 2\.0"):
        handler(_v2_event(**changes), None)
