"""Fields of the protocol this SDK does not know (what the Flink 2.x forks of StateFun add) survive the handler.

The io.github.kzmlabs.flinkstatefun fork carries Kafka record headers in a new repeated field of
``TypedValue`` (its "metadata") and of ``KafkaProducerRecord`` (field 4). Our generated classes do
not know them; protobuf keeps a parsed message's unknown fields and writes them out again, so a
value the function forwards (the received ``typed_value`` in a new Message or EgressMessage) leaves
with them, byte for byte, and state the function does not write is not sent back at all.
"""

from __future__ import annotations

from datetime import timedelta

from statefun_faas import (
    Context,
    EgressMessage,
    IntType,
    Message,
    RequestReplyHandler,
    StatefulFunctions,
    StringType,
    ValueSpec,
    _wire,
)
from tests.builders import Request, decode, typed

# A header as the fork writes one (key, value, has_value) in a field numbered 4, and a field far beyond.
HEADER = b"\x0a\x0btraceparent" + b"\x12\x0600-abc" + b"\x18\x01"
UNKNOWN = b"\x22" + bytes([len(HEADER)]) + HEADER + b"\x98\x06\x07"  # field 4 (bytes), then field 99 = 7


def with_unknown_fields(value: _wire.TypedValue) -> _wire.TypedValue:
    """``value`` as a runtime that knows more fields sends it: its bytes, then ``UNKNOWN``."""
    return _wire.TypedValue.FromString(value.SerializeToString() + UNKNOWN)


def relay_registry() -> StatefulFunctions:
    """``fork/relay`` forwards what it received: to a function, after a delay, and to an egress."""
    functions = StatefulFunctions()

    @functions.bind("fork/relay", specs=[ValueSpec("seen", IntType), ValueSpec("last", StringType)])
    def relay(context: Context, message: Message) -> None:
        assert message.as_string() == "hello"  # the value reads as ever
        assert context.storage.seen == 41  # and so does state carrying unknown fields
        context.send(Message("fork/sink", "bob", message.typed_value))
        context.send_after(timedelta(seconds=1), Message("fork/sink", "later", message.typed_value), "tok")
        context.send_egress(EgressMessage("fork/out", message.typed_value))

    return functions


def test_a_forwarded_value_keeps_the_fields_the_sdk_does_not_know() -> None:
    argument = with_unknown_fields(typed(StringType, "hello"))
    request = (
        Request("fork/relay", "alice")
        .state("seen", with_unknown_fields(typed(IntType, 41)))
        .state("last")
        .message(argument)
        .bytes()
    )
    assert UNKNOWN in request  # sent as the fork's runtime sends it

    result = decode(RequestReplyHandler(relay_registry()).handle_sync(request)).invocation_result

    sent = argument.SerializeToString()
    assert sent.endswith(UNKNOWN)
    (message,) = result.outgoing_messages
    (delayed,) = result.delayed_invocations
    (egress,) = result.outgoing_egresses
    assert message.argument.SerializeToString() == sent
    assert delayed.argument.SerializeToString() == sent
    assert egress.argument.SerializeToString() == sent
    # state the function read but did not write goes back to no one: the runtime keeps its own copy, fields and all
    assert list(result.state_mutations) == []


def test_unknown_fields_elsewhere_in_the_request_change_nothing() -> None:
    """A newer runtime may add fields to any message of the request; the answer is the same as without them."""
    functions = StatefulFunctions()

    @functions.bind("fork/count", specs=[ValueSpec("seen", IntType)])
    def count(context: Context, message: Message) -> None:
        context.storage.seen = (context.storage.seen or 0) + (message.as_int() or 0)

    plain = Request("fork/count", "alice").state("seen", typed(IntType, 1)).message(typed(IntType, 2)).proto()
    extended = _wire.ToFunction()
    extended.CopyFrom(plain)
    batch = extended.invocation
    batch.target.MergeFromString(b"\x98\x06\x01")  # Address: field 99
    batch.invocations[0].MergeFromString(b"\x98\x06\x02")  # Invocation: field 99
    batch.state[0].MergeFromString(b"\x98\x06\x03")  # PersistedValue: field 99
    batch.MergeFromString(b"\x98\x06\x04")  # InvocationBatchRequest: field 99
    extended_bytes = extended.SerializeToString() + b"\xaa\x06\x02ok"  # ToFunction: field 101 (beside the oneof's 100)
    assert len(extended_bytes) > len(plain.SerializeToString()) + 10

    handler = RequestReplyHandler(functions)
    answer = handler.handle_sync(extended_bytes)
    assert answer == handler.handle_sync(plain.SerializeToString())
    (mutation,) = decode(answer).invocation_result.state_mutations
    assert IntType.serializer().deserialize(mutation.state_value.value) == 3
