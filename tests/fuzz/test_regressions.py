"""Inputs the fuzzers found that once broke the table's promises, kept as plain tests."""

from __future__ import annotations

import re

import pytest

from statefun_faas import IntType, RequestReplyHandler, StatefunFaasError
from statefun_faas.adapters._http import declared_length
from statefun_faas.adapters.aws_lambda import UnsupportedEventError, lambda_handler
from statefun_faas.adapters.edge import DEFAULT_MAX_INVOCATIONS, Edge, EdgeResponse
from tests.adapters.conformance import FUNCTIONS as CONFORMANCE_FUNCTIONS
from tests.adapters.conformance import flood
from tests.adapters.lambda_events import event_for
from tests.builders import Request, typed
from tests.fuzz.answers import SHORT
from tests.fuzz.registry import FUNCTIONS
from tests.fuzz.wire import ld

LONG = "n" * 50_000
HANDLER = RequestReplyHandler(FUNCTIONS)


@pytest.mark.parametrize(
    "body",
    [
        ld(100, ld(1, ld(3, LONG.encode()))),  # no namespace: the whole target was echoed
        Request(f"fuzz/{LONG}", "a").message(typed(IntType, 1)).bytes(),  # unknown function
        Request("conformance/fails", LONG).message(typed(IntType, 1)).bytes(),  # user code raised, long id
    ],
    ids=["target", "unknown typename", "function id"],
)
def test_errors_echo_at_most_a_clipped_piece_of_the_request(body: bytes) -> None:
    with pytest.raises(StatefunFaasError) as raised:
        HANDLER.handle_sync(body)
    assert len(str(raised.value)) < SHORT
    assert "characters)" in str(raised.value)  # says how long the clipped value was


def test_state_type_mismatch_with_a_long_typename_still_names_both() -> None:
    state = typed(IntType, 1)
    state.typename = "x/" + LONG
    body = Request("conformance/counter", "a").state("count", state).message(typed(IntType, 1)).bytes()
    with pytest.raises(StatefunFaasError) as raised:
        HANDLER.handle_sync(body)
    message = str(raised.value)
    assert len(message) < SHORT
    assert IntType.typename in message
    assert "x/nnn" in message


@pytest.mark.parametrize(
    ("method", "body", "status"),
    [
        ("POST", Request(f"fuzz/{LONG}", "a").message(typed(IntType, 1)).bytes(), 404),
        ("POST", Request("conformance/fails", LONG).message(typed(IntType, 1)).bytes(), 500),
        ("POST", ld(100, ld(1, ld(3, LONG.encode()))), 400),
        (LONG, b"", 405),
    ],
    ids=["unknown typename", "function id", "target", "method"],
)
def test_edge_answers_stay_short(method: str, body: bytes, status: int) -> None:
    response = Edge.create(HANDLER, "test", tokens=(), request_log=lambda line: None).handle(method, "/", "", body)
    assert response.status == status
    assert len(response.body) < SHORT


@pytest.mark.parametrize(
    ("shape", "field", "value", "named"),
    [
        ("function_url", ("requestContext", "http", "method"), 5, "requestContext.http.method"),
        ("function_url", ("body",), 5, "body"),
        ("function_url", ("isBase64Encoded",), "false", "isBase64Encoded"),
        ("rest_v1", ("multiValueQueryStringParameters",), {"token": [1]}, "multiValueQueryStringParameters.token"),
        ("alb", ("queryStringParameters",), {"token": None, "other": 1}, "queryStringParameters.other"),
        ("alb", ("queryStringParameters",), [1], "queryStringParameters"),
    ],
)
def test_lambda_events_with_fields_of_the_wrong_type_are_a_clear_error(
    shape: str, field: tuple[str, ...], value: object, named: str
) -> None:
    """Found by tests/fuzz/test_lambda.py: these raised KeyError, TypeError or AttributeError."""
    event = event_for(shape, "POST", "/", "token=x", b"")
    event.pop("multiValueQueryStringParameters", None)
    holder = event
    for key in field[:-1]:
        holder = holder[key]
    holder[field[-1]] = value
    with pytest.raises(UnsupportedEventError, match=rf"field {re.escape(named)} holds a"):
        lambda_handler(FUNCTIONS)(event, None)


@pytest.mark.parametrize("raw", ["\u00b2", b"\xb2", "\u0663", " 12 "])
def test_content_length_with_a_digit_int_refuses_is_400(raw: str | bytes) -> None:
    """Found by tests/fuzz/test_asgi.py: a Content-Length byte 0xB2 ("²") raised ValueError."""
    answer = declared_length(raw)
    if raw == " 12 ":
        assert answer == 12
    else:
        assert isinstance(answer, EdgeResponse)
        assert answer.status == 400


@pytest.mark.parametrize(
    ("method", "path", "query"),
    [
        ("POST", "/t/\ud800/x", ""),
        ("POST", "/", {"token": "\udcff"}),
        ("POST", "/", "token=\ud800"),
        ("\ud800", "/", ""),
    ],
)
def test_lone_surrogates_in_method_path_or_token_get_table_answers(
    method: str, path: str, query: str | dict[str, str]
) -> None:
    """Found by tests/fuzz/test_core.py: the token check and 405 text raised UnicodeEncodeError."""
    edge = Edge.create(HANDLER, "test", tokens=("\ud800",), request_log=lambda line: None)
    response = edge.handle(method, path, query, b"")
    assert response.status == (405 if method != "POST" else 400 if "\ud800" in str(query) + path else 401)


@pytest.mark.parametrize("shape", ["function_url", "rest_v1"])
def test_a_flood_of_empty_invocations_under_the_size_cap_is_413(shape: str) -> None:
    """Found probing the adapters: empty invocations cost two bytes each, so Lambda's 6 MiB lets in 3 million,
    which ran for seconds. Both the function URL fast path and the general path refuse them by default."""
    event = event_for(shape, "POST", "/", "", flood(3_000_000))
    answer = lambda_handler(CONFORMANCE_FUNCTIONS, tokens=())(event, None)
    assert answer["statusCode"] == 413
    assert f"3000000 invocations, over the limit of {DEFAULT_MAX_INVOCATIONS} per request" in answer["body"]
