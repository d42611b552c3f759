"""State storage and message values as a function sees them, through the handler's bytes."""

from __future__ import annotations

import pytest

from statefun_faas import (
    ConfigurationError,
    Context,
    IntType,
    Message,
    RequestReplyHandler,
    StatefulFunctions,
    StringType,
    ValueSpec,
    _wire,
    egress_message_builder,
    message_builder,
)
from statefun_faas.types import to_typed_value
from tests.builders import Request, decode, typed

FromFunction = _wire.FromFunction
MODIFY, DELETE = FromFunction.PersistedValueMutation.MODIFY, FromFunction.PersistedValueMutation.DELETE


def run(functions: StatefulFunctions, request: Request) -> FromFunction.InvocationResponse:
    return decode(RequestReplyHandler(functions).handle_sync(request.bytes())).invocation_result


def test_mutations_follow_declaration_order_whatever_the_write_order() -> None:
    functions = StatefulFunctions()
    seen: list[object] = []

    @functions.bind("t/fn", specs=[ValueSpec("a", IntType), ValueSpec("b", StringType), ValueSpec("c", IntType)])
    def fn(context: Context, message: Message) -> None:
        storage = context.storage
        storage.c = 3
        del storage.b
        storage.a = 1
        storage.a = 2  # the last write counts
        seen.extend([storage.a, storage.b, storage.c])

    request = Request("t/fn", "1").state("c").state("b", typed(StringType, "x")).state("a", typed(IntType, 9))
    result = run(functions, request.message(typed(IntType, 0)))
    assert seen == [2, None, 3]
    assert [(m.state_name, m.mutation_type) for m in result.state_mutations] == [
        ("a", MODIFY),
        ("b", DELETE),
        ("c", MODIFY),
    ]
    assert IntType._decode(result.state_mutations[0].state_value.value) == 2


def test_state_read_before_any_write_and_values_the_request_left_empty() -> None:
    functions = StatefulFunctions()
    seen: list[object] = []

    @functions.bind("t/fn", specs=[ValueSpec("a", IntType), ValueSpec("b", StringType)])
    def fn(context: Context, message: Message) -> None:
        seen.extend([context.storage.a, context.storage.b])

    result = run(functions, Request("t/fn", "1").state("a", typed(IntType, 7)).state("b").message(typed(IntType, 0)))
    assert seen == [7, None]
    assert list(result.state_mutations) == []


def test_storage_names_its_states_in_errors_and_dir() -> None:
    functions = StatefulFunctions()
    errors: list[str] = []

    @functions.bind("t/fn", specs=[ValueSpec("a", IntType)])
    def fn(context: Context, message: Message) -> None:
        storage = context.storage
        assert dir(storage) == ["a"]
        for attempt in (lambda: storage.nope, lambda: setattr(storage, "nope", 1), lambda: delattr(storage, "nope")):
            with pytest.raises(AttributeError) as error:
                attempt()
            errors.append(str(error.value))
        with pytest.raises(ConfigurationError, match=r"del context\.storage\.a"):
            storage.a = None

    run(functions, Request("t/fn", "1").state("a").message(typed(IntType, 0)))
    assert (
        errors
        == ["'nope' is not a ValueSpec of function 't/fn' (declared: a); add ValueSpec('nope', ...) to its specs"] * 3
    )


def test_built_values_read_back_like_wire_values() -> None:
    built = message_builder("t/x", "1", str_value="héllo")
    received = Message.incoming("t/x", "1", to_typed_value(StringType, "héllo"))
    for message in (built, received):
        assert message.is_string()
        assert not message.is_int()
        assert message.as_string() == "héllo"
        assert message.value_typename() == "io.statefun.types/string"
        assert message.raw_value() == StringType._encode("héllo")
        assert message.typed_value == to_typed_value(StringType, "héllo")
    egress = egress_message_builder("t/out", 0, IntType)
    assert (egress.egress_namespace, egress.egress_type, egress.typename) == ("t", "out", "t/out")
    assert egress.typed_value == to_typed_value(IntType, 0)
    assert (egress.value_typename(), egress.raw_value()) == ("io.statefun.types/int", b"")


def test_forwarded_and_hand_made_values_reach_the_response_unchanged() -> None:
    functions = StatefulFunctions()
    custom = _wire.TypedValue(typename="t/custom", has_value=True, value=b"\x00\x01")

    @functions.bind("t/fn")
    def fn(context: Context, message: Message) -> None:
        context.send(Message("t/next", "2", message.typed_value))  # the received TypedValue itself
        context.send(Message("t/next", "3", custom))
        built = message_builder("t/next", "4", int_value=5)
        assert built.typed_value.value == IntType._encode(5)  # building it on demand changes nothing sent
        context.send(built)

    result = run(functions, Request("t/fn", "1").message(typed(StringType, "hi")))
    sent = [(m.target.id, m.argument) for m in result.outgoing_messages]
    assert sent == [("2", typed(StringType, "hi")), ("3", custom), ("4", typed(IntType, 5))]
