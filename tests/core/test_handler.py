"""The protocol core as a bytes round trip."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from statefun_faas import (
    BadRequestError,
    Context,
    FunctionInvocationError,
    IntType,
    Message,
    RequestReplyHandler,
    StatefulFunctions,
    StateTypeMismatchError,
    StringType,
    UnknownFunctionError,
    ValueSpec,
    _wire,
    egress_message_builder,
    kafka_egress_message,
    message_builder,
)
from tests.builders import Request, decode, typed

FromFunction = _wire.FromFunction


def greeter_registry() -> StatefulFunctions:
    functions = StatefulFunctions()

    @functions.bind(
        "example/greeter",
        specs=[
            ValueSpec("seen", IntType),
            ValueSpec("name", StringType, expire_after_write=timedelta(seconds=2)),
        ],
    )
    def greeter(context: Context, message: Message) -> None:
        seen = (context.storage.seen or 0) + 1
        context.storage.seen = seen
        who = message.as_string()
        if context.caller is not None:
            context.send(message_builder(context.caller.typename, context.caller.id, int_value=seen))
        context.send_egress(egress_message_builder("example/out", f"hi {who} #{seen}", StringType))

    return functions


def test_missing_state_answers_incomplete_context_in_declaration_order() -> None:
    handler = RequestReplyHandler(greeter_registry())
    response = decode(handler.handle_sync(Request("example/greeter", "bob").message(typed(StringType, "x")).bytes()))
    assert response.WhichOneof("response") == "incomplete_invocation_context"
    missing = response.incomplete_invocation_context.missing_values
    assert [m.state_name for m in missing] == ["seen", "name"]
    assert missing[0].type_typename == "io.statefun.types/int"
    assert missing[0].HasField("expiration_spec")
    assert missing[0].expiration_spec.mode == FromFunction.ExpirationSpec.NONE
    assert missing[1].expiration_spec.mode == FromFunction.ExpirationSpec.AFTER_WRITE
    assert missing[1].expiration_spec.expire_after_millis == 2000


def test_batch_threads_state_and_reports_only_written_values() -> None:
    handler = RequestReplyHandler(greeter_registry())
    request = (
        Request("example/greeter", "bob")
        .state("seen", typed(IntType, 1))
        .state("name")
        .state("someone_elses", typed(StringType, "ignored"))
        .message(typed(StringType, "bob"))
        .message(typed(StringType, "bob"), caller="example/caller/7")
    )
    result = decode(handler.handle_sync(request.bytes())).invocation_result
    assert [(m.state_name, m.mutation_type) for m in result.state_mutations] == [
        ("seen", FromFunction.PersistedValueMutation.MODIFY)
    ]
    assert IntType.serializer().deserialize(result.state_mutations[0].state_value.value) == 3
    assert [(e.egress_namespace, e.egress_type) for e in result.outgoing_egresses] == [("example", "out")] * 2
    assert [StringType.serializer().deserialize(e.argument.value) for e in result.outgoing_egresses] == [
        "hi bob #2",
        "hi bob #3",
    ]
    # only the second message had a caller, and the reply goes there
    assert len(result.outgoing_messages) == 1
    reply = result.outgoing_messages[0]
    assert (reply.target.namespace, reply.target.type, reply.target.id) == ("example", "caller", "7")


def test_zero_values_are_empty_bytes_with_has_value() -> None:
    functions = StatefulFunctions()

    @functions.bind("t/zero", specs=[ValueSpec("n", IntType), ValueSpec("s", StringType)])
    def zero(context: Context, message: Message) -> None:
        context.storage.n = 0
        context.storage.s = ""

    result = decode(
        RequestReplyHandler(functions).handle_sync(
            Request("t/zero", "1").state("n").state("s").message(typed(IntType, 5)).bytes()
        )
    ).invocation_result
    for mutation in result.state_mutations:
        assert mutation.state_value.has_value is True
        assert mutation.state_value.value == b""


def test_delete_delayed_cancel_and_kafka_egress() -> None:
    functions = StatefulFunctions()

    @functions.bind("t/fn", specs=[ValueSpec("n", IntType)])
    def fn(context: Context, message: Message) -> None:
        del context.storage.n
        target = message_builder("t/fn", "other", str_value="later")
        context.send_after(timedelta(milliseconds=1500), target)
        context.send_after(timedelta(seconds=3), target, cancellation_token="tok-1")
        context.cancel_delayed_message("tok-0")
        context.send_egress(kafka_egress_message("t/kafka", "topic-a", "payload", key="k"))

    result = decode(
        RequestReplyHandler(functions).handle_sync(
            Request("t/fn", "1").state("n", typed(IntType, 4)).message(typed(IntType, 1)).bytes()
        )
    ).invocation_result
    assert [(m.state_name, m.mutation_type, m.HasField("state_value")) for m in result.state_mutations] == [
        ("n", FromFunction.PersistedValueMutation.DELETE, False)
    ]
    plain, with_token, cancel = result.delayed_invocations
    assert (plain.delay_in_ms, plain.cancellation_token, plain.is_cancellation_request) == (1500, "", False)
    assert (with_token.delay_in_ms, with_token.cancellation_token) == (3000, "tok-1")
    assert (cancel.is_cancellation_request, cancel.cancellation_token, cancel.HasField("target")) == (
        True,
        "tok-0",
        False,
    )
    egress = result.outgoing_egresses[0]
    assert egress.argument.typename == "type.googleapis.com/io.statefun.sdk.egress.KafkaProducerRecord"
    record = _wire.KafkaProducerRecord.FromString(egress.argument.value)
    assert (record.topic, record.key, record.value_bytes) == ("topic-a", "k", b"payload")


def test_errors_are_typed_and_named() -> None:
    handler = RequestReplyHandler(greeter_registry())
    with pytest.raises(BadRequestError, match="not a ToFunction"):
        handler.handle_sync(b"\xff\xff\xff")
    with pytest.raises(BadRequestError, match="no invocation"):
        handler.handle_sync(b"")
    with pytest.raises(UnknownFunctionError, match=r"'example/nope'.*example/greeter") as unknown:
        handler.handle_sync(Request("example/nope", "1").message(typed(IntType, 1)).bytes())
    assert unknown.value.registered == ["example/greeter"]
    wrong_type = Request("example/greeter", "1").state("seen", typed(StringType, "x")).state("name")
    with pytest.raises(StateTypeMismatchError, match=r"io\.statefun\.types/string.*io\.statefun\.types/int"):
        handler.handle_sync(wrong_type.message(typed(StringType, "bob")).bytes())


def test_user_exception_carries_typename_id_and_original() -> None:
    functions = StatefulFunctions()
    boom = ValueError("boom")

    @functions.bind("t/bad")
    def bad(context: Context, message: Message) -> None:
        raise boom

    with pytest.raises(FunctionInvocationError) as raised:
        RequestReplyHandler(functions).handle_sync(Request("t/bad", "x1").message(typed(IntType, 1)).bytes())
    assert (raised.value.typename, raised.value.function_id, raised.value.original) == ("t/bad", "x1", boom)
    assert raised.value.__cause__ is boom


def _async_registry(seen_loops: list[asyncio.AbstractEventLoop]) -> StatefulFunctions:
    functions = StatefulFunctions()

    @functions.bind("t/async", specs=[ValueSpec("n", IntType)])
    async def fn(context: Context, message: Message) -> None:
        await asyncio.sleep(0)
        seen_loops.append(asyncio.get_running_loop())
        context.storage.n = (context.storage.n or 0) + (message.as_int() or 0)

    return functions


def _async_request(value: int) -> bytes:
    return Request("t/async", "1").state("n", typed(IntType, 1)).message(typed(IntType, value)).bytes()


def test_sync_function_runs_without_an_event_loop() -> None:
    functions = StatefulFunctions()
    loops: list[bool] = []

    @functions.bind("t/sync")
    def fn(context: Context, message: Message) -> None:
        try:
            asyncio.get_running_loop()
            loops.append(True)
        except RuntimeError:
            loops.append(False)

    RequestReplyHandler(functions).handle_sync(Request("t/sync", "1").message(typed(IntType, 1)).bytes())
    assert loops == [False]


def test_async_functions_reuse_one_loop_per_thread_and_threads_are_independent() -> None:
    seen: list[asyncio.AbstractEventLoop] = []
    handler = RequestReplyHandler(_async_registry(seen))
    results: dict[int, int] = {}
    errors: list[BaseException] = []

    def worker(value: int) -> None:
        try:
            for _ in range(20):
                response = decode(handler.handle_sync(_async_request(value)))
                results[value] = IntType.serializer().deserialize(
                    response.invocation_result.state_mutations[0].state_value.value
                )
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(v,)) for v in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == {v: v + 1 for v in range(8)}
    assert len(set(map(id, seen))) == 8  # one loop per thread, reused for its 20 calls


def test_handle_async_works_inside_a_running_loop() -> None:
    seen: list[asyncio.AbstractEventLoop] = []
    handler = RequestReplyHandler(_async_registry(seen))

    async def main() -> tuple[bytes, asyncio.AbstractEventLoop]:
        return await handler.handle_async(_async_request(41)), asyncio.get_running_loop()

    response, loop = asyncio.run(main())
    value = decode(response).invocation_result.state_mutations[0].state_value
    assert IntType.serializer().deserialize(value.value) == 42
    assert seen == [loop]


def test_handle_sync_of_async_function_inside_a_loop_says_what_to_do() -> None:
    handler = RequestReplyHandler(_async_registry([]))

    async def main() -> None:
        handler.handle_sync(_async_request(1))

    with pytest.raises(RuntimeError, match="handle_async"):
        asyncio.run(main())
