"""The worked byte examples of statefun-protocol.md section 1.6, produced by our types and handler."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from statefun_faas import (
    BoolType,
    Context,
    DoubleType,
    FloatType,
    IntType,
    LongType,
    Message,
    RequestReplyHandler,
    StatefulFunctions,
    StringType,
    Type,
    ValueSpec,
    _wire,
)
from tests.builders import Request, typed

TO_FUNCTION = (
    "a2 06 69 0a 17 0a 07 65 78 61 6d 70 6c 65 12 07 67 72 65 65 74 65 72 1a 03 62 6f 62"
    "12 28 0a 04 73 65 65 6e 12 20 0a 15 69 6f 2e 73 74 61 74 65 66 75 6e 2e 74 79 70 65"
    "73 2f 69 6e 74 10 01 1a 05 0d 01 00 00 00 1a 24 12 22 0a 18 69 6f 2e 73 74 61 74 65"
    "66 75 6e 2e 74 79 70 65 73 2f 73 74 72 69 6e 67 10 01 1a 04 0a 02 68 69"
)
INCOMPLETE = (
    "aa 06 26 0a 24 0a 04 73 65 65 6e 12 05 08 01 10 d0 0f 1a 15 69 6f 2e 73 74 61 74 65"
    "66 75 6e 2e 74 79 70 65 73 2f 69 6e 74"
)
MODIFY = (
    "a2 06 2c 0a 2a 08 01 12 04 73 65 65 6e 1a 20 0a 15 69 6f 2e 73 74 61 74 65 66 75 6e"
    "2e 74 79 70 65 73 2f 69 6e 74 10 01 1a 05 0d 02 00 00 00"
)
EMPTY_RESULT = "a2 06 00"


@pytest.mark.parametrize(
    ("value_type", "value", "encoded"),
    [
        (IntType, 42, "0d 2a 00 00 00"),
        (IntType, -1, "0d ff ff ff ff"),
        (LongType, 1 << 40, "09 00 00 00 00 00 01 00 00"),
        (BoolType, True, "08 01"),
        (FloatType, 0.5, "0d 00 00 00 3f"),
        (DoubleType, 0.5, "09 00 00 00 00 00 00 e0 3f"),
        (StringType, "hi", "0a 02 68 69"),
        (IntType, 0, ""),
        (LongType, 0, ""),
        (BoolType, False, ""),
        (FloatType, 0.0, ""),
        (DoubleType, 0.0, ""),
        (StringType, "", ""),
    ],
)
def test_wrapper_encodings(value_type: Type[Any], value: Any, encoded: str) -> None:
    assert value_type.serializer().serialize(value) == bytes.fromhex(encoded)
    assert value_type.serializer().deserialize(bytes.fromhex(encoded)) == value


def greeter() -> RequestReplyHandler:
    functions = StatefulFunctions()

    @functions.bind("example/greeter", specs=[ValueSpec("seen", IntType, expire_after_write=timedelta(seconds=2))])
    def count(context: Context, message: Message) -> None:
        if message.as_string() == "hi":
            context.storage.seen += 1

    return RequestReplyHandler(functions)


def test_to_function_example_is_what_the_request_builder_writes() -> None:
    request = Request("example/greeter", "bob").state("seen", typed(IntType, 1)).message(typed(StringType, "hi"))
    assert request.bytes() == bytes.fromhex(TO_FUNCTION)


def test_missing_state_example() -> None:
    request = Request("example/greeter", "bob").message(typed(StringType, "hi")).bytes()
    assert greeter().handle_sync(request) == bytes.fromhex(INCOMPLETE)


def test_modify_example() -> None:
    assert greeter().handle_sync(bytes.fromhex(TO_FUNCTION)) == bytes.fromhex(MODIFY)


def test_no_side_effects_is_an_empty_body_like_the_reference() -> None:
    """Like apache-flink-statefun (the "no-effects" golden vector), a batch without effects answers with
    zero bytes, not the explicit ``a2 06 00`` of the example; the runtime reads both as an empty
    InvocationResponse (statefun-protocol.md section 1.5)."""
    request = Request("example/greeter", "bob").state("seen", typed(IntType, 1)).message(typed(StringType, "other"))
    response = greeter().handle_sync(request.bytes())
    assert response == b""
    explicit = _wire.FromFunction()
    explicit.invocation_result.SetInParent()
    assert explicit.SerializeToString() == bytes.fromhex(EMPTY_RESULT)
    assert _wire.FromFunction.FromString(response).invocation_result == explicit.invocation_result
