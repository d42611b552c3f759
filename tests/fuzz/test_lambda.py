"""AWS Lambda: arbitrary events of every HTTP shape, damaged or not, and events of no shape."""

from __future__ import annotations

import base64
import copy
from types import MappingProxyType
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from statefun_faas.adapters.aws_lambda import UnsupportedEventError, lambda_handler
from tests.adapters.conformance import MAX_BODY, TOKENS
from tests.adapters.lambda_events import SHAPES, event_for, unpack
from tests.fuzz.answers import PROBE, PROBE_ANSWER, PROBE_QUERY, check
from tests.fuzz.profiles import fuzz
from tests.fuzz.registry import FUNCTIONS
from tests.fuzz.requests import bodies, methods, paths, queries

HANDLER = lambda_handler(FUNCTIONS, tokens=TOKENS, max_body_bytes=MAX_BODY)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
#: What the body field may hold: base64 of a body, broken base64, plain text, not a string.
encoded_bodies = st.one_of(
    bodies.map(lambda body: base64.b64encode(body).decode("ascii")),
    st.sampled_from(["", "=", "A", "AB=C", "@@@@", "aGVsbG8", "aGVsbG8=\n", "a" * 5]),
    st.text(max_size=30),
    json_values,
)
#: Keys whose values a fuzzed event replaces or drops (nested ones as paths).
KEYS = [
    ("body",),
    ("isBase64Encoded",),
    ("rawPath",),
    ("rawQueryString",),
    ("path",),
    ("httpMethod",),
    ("headers",),
    ("multiValueHeaders",),
    ("queryStringParameters",),
    ("multiValueQueryStringParameters",),
    ("version",),
    ("requestContext",),
    ("requestContext", "http"),
    ("requestContext", "http", "method"),
    ("requestContext", "http", "path"),
    ("requestContext", "elb"),
]
DROP = object()


def damaged(event: dict[str, Any], changes: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    event = copy.deepcopy(event)
    for keys, value in changes:
        holder: Any = event
        for key in keys[:-1]:
            holder = holder.get(key) if isinstance(holder, dict) else None
        if not isinstance(holder, dict):
            continue
        if value is DROP:
            holder.pop(keys[-1], None)
        else:
            holder[keys[-1]] = value
    return event


changes = st.lists(st.tuples(st.sampled_from(KEYS), st.one_of(st.just(DROP), json_values, encoded_bodies)), max_size=3)


def answer_or_clear_error(event: Any) -> None:
    """A table answer in the event's own form, or UnsupportedEventError for a non-HTTP event."""
    try:
        response = HANDLER(event, None)
    except UnsupportedEventError as error:
        refused = str(error)
    else:
        check(*unpack(response))
        refused = "this Lambda event"
    assert refused.startswith("this Lambda event"), refused  # the documented clear error, naming what it saw
    assert unpack(HANDLER(event_for("function_url", "POST", "/", PROBE_QUERY, PROBE), None))[2] == PROBE_ANSWER


@fuzz
@given(st.sampled_from(SHAPES), methods, paths, queries, bodies)
def test_well_formed_events_get_table_answers(shape: str, method: str, path: str, query: str, body: bytes) -> None:
    answer_or_clear_error(event_for(shape, method, path, query, body))


@fuzz
@given(st.sampled_from(SHAPES), methods, paths, queries, bodies, encoded_bodies, changes)
def test_damaged_events_get_table_answers_or_a_clear_error(
    shape: str, method: str, path: str, query: str, body: bytes, encoded: Any, edits: list[tuple[Any, Any]]
) -> None:
    event = event_for(shape, method, path, query, body)
    event["body"] = encoded
    answer_or_clear_error(damaged(event, edits))


@fuzz
@given(json_values)
def test_any_json_value_as_an_event(event: Any) -> None:
    answer_or_clear_error(event)


def outcome(event: Any) -> Any:
    try:
        return HANDLER(event, None)
    except UnsupportedEventError as error:
        return str(error)


@fuzz
@given(methods, paths, queries, bodies, encoded_bodies, st.booleans(), changes)
def test_the_fast_path_answers_as_the_general_way(
    method: str, path: str, query: str, body: bytes, encoded: Any, replace: bool, edits: list[tuple[Any, Any]]
) -> None:
    """A function URL event read straight from its dict gets what it gets read as any Mapping, the general way."""
    event = event_for("function_url", method, path, query, body)
    if replace:
        event["body"] = encoded
    event = damaged(event, edits)
    assert outcome(event) == outcome(MappingProxyType(event))
