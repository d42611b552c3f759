"""Where statefun_faas deliberately differs from apache-flink-statefun 3.3.0, shown against the live reference.

Each difference is an input the reference accepts and the StateFun runtime then rejects or
mishandles, something we accept that the reference refuses, or an answer the reference gives
only on its pure-Python protobuf backend. docs/migration.md lists the same cases.
"""

from __future__ import annotations

import asyncio
import struct
from datetime import timedelta
from typing import Any

import pytest

from statefun_faas import (
    BadRequestError,
    ConfigurationError,
    Context,
    FunctionInvocationError,
    IntType,
    Message,
    RequestReplyHandler,
    StatefulFunctions,
    StateTypeMismatchError,
    UnknownFunctionError,
    ValueSpec,
    _wire,
    simple_type,
)
from tests.builders import Request
from tests.reference.cases import everything, script, tagged_value
from tests.reference.client import Outcome, Worker, our_outcome, run_with_reference
from tests.reference.functions import functions

pytestmark = pytest.mark.reference

HANDLER = RequestReplyHandler(functions)


def both(reference: Worker, request: bytes) -> tuple[Outcome, Outcome]:
    return our_outcome(HANDLER, request), reference.handle(request)


def result_of(outcome: Outcome) -> Any:
    assert not outcome.raised, outcome.payload.decode()
    return _wire.FromFunction.FromString(outcome.payload).invocation_result


def run_script(reference: Worker, *commands: list[Any]) -> tuple[Outcome, Outcome]:
    return both(reference, everything().message(script(*commands)).bytes())


@pytest.mark.parametrize(
    "command",
    [
        ["send", "a.b/c/d", "id", "int_value", ["int", 1]],
        ["send_after", 5, "a.b/c/d", "id", "int_value", ["int", 1], None],
        ["egress", "a.b/c/d", ["string", "x"]],
    ],
    ids=["send", "send_after", "egress"],
)
def test_typenames_with_two_slashes_are_rejected(reference: Worker, command: list[Any]) -> None:
    ours, theirs = run_script(reference, command)
    assert ours.raised
    assert ours.error_type == "ConfigurationError"
    assert "exactly one '/'" in ours.payload.decode()
    # the reference splits at the last '/', which the StateFun runtime's TypeName parser refuses
    sent = str(_wire.FromFunction.FromString(theirs.payload))
    assert 'namespace: "a.b/c"' in sent or 'egress_namespace: "a.b/c"' in sent


def test_registration_rejects_what_the_runtime_would() -> None:
    accepted = run_with_reference(
        "from datetime import timedelta\n"
        "from statefun_faas import StatefulFunctions, ValueSpec, IntType, simple_type\n"
        "f = StatefulFunctions()\n"
        "f.register('a/b/c', lambda context, message: None)\n"
        "ValueSpec('x', IntType, expire_after_call=timedelta(seconds=-1))\n"
        "ValueSpec('y', simple_type('a/b/c', bytes, bytes))\n"
        "print('accepted')"
    )
    assert accepted == "accepted"
    with pytest.raises(ConfigurationError, match="exactly one '/'"):
        StatefulFunctions().register("a/b/c", lambda context, message: None)
    with pytest.raises(ConfigurationError, match="exactly one '/'"):
        ValueSpec("y", simple_type("a/b/c", bytes, bytes))
    with pytest.raises(ConfigurationError, match="must not be negative"):
        ValueSpec("x", IntType, expire_after_call=timedelta(seconds=-1))


def test_unknown_function_is_a_typed_error_naming_the_registered_ones(reference: Worker) -> None:
    ours, theirs = both(reference, Request("conformance/nobody", "1").message(script()).bytes())
    assert theirs.error_type == "KeyError"
    assert ours.error_type == "UnknownFunctionError"
    assert "conformance/nobody" in ours.payload.decode()
    assert "conformance/counter" in ours.payload.decode()
    with pytest.raises(UnknownFunctionError) as caught:
        HANDLER.handle_sync(Request("conformance/nobody", "1").message(script()).bytes())
    assert isinstance(caught.value, LookupError)


def test_negative_delay_is_rejected(reference: Worker) -> None:
    ours, theirs = run_script(
        reference, ["send_after", -1000, "conformance/counter", "x", "int_value", ["int", 1], None]
    )
    assert result_of(theirs).delayed_invocations[0].delay_in_ms == -1000  # the runtime asserts >= 0
    assert ours.error_type == "ConfigurationError"


def test_empty_cancellation_token_is_rejected(reference: Worker) -> None:
    ours, theirs = run_script(reference, ["cancel", ""])
    cancellation = result_of(theirs).delayed_invocations[0]
    assert cancellation.is_cancellation_request
    assert cancellation.cancellation_token == ""
    assert ours.error_type == "ConfigurationError"


def test_empty_kinesis_partition_key_is_rejected(reference: Worker) -> None:
    ours, theirs = run_script(reference, ["kinesis", "com.example/out", "stream", ["string", "v"], "", None, None])
    record = _wire.KinesisEgressRecord.FromString(result_of(theirs).outgoing_egresses[0].argument.value)
    assert record.partition_key == ""  # Kinesis refuses a record without a partition key
    assert ours.error_type == "ConfigurationError"


def test_typed_errors_for_bad_requests_user_code_and_state_types(reference: Worker) -> None:
    no_invocation = b"\x08\x01"  # a ToFunction holding only an unknown field
    cases = {
        no_invocation: ("BadRequestError", "AttributeError"),
        b"\xff\xff": ("BadRequestError", "DecodeError"),
        everything().message(script(["fail", "boom"])).bytes(): ("FunctionInvocationError", "RuntimeError"),
        everything({"i": tagged_value("string", "x")}).message(script(["get", "i"])).bytes(): (
            "StateTypeMismatchError",
            "TypeError",
        ),
    }
    for request, (our_type, their_type) in cases.items():
        ours, theirs = both(reference, request)
        assert (ours.error_type, theirs.error_type) == (our_type, their_type)
    assert issubclass(StateTypeMismatchError, TypeError)
    assert issubclass(BadRequestError, Exception)
    with pytest.raises(FunctionInvocationError) as caught:
        HANDLER.handle_sync(everything().message(script(["fail", "boom"])).bytes())
    assert isinstance(caught.value.original, RuntimeError)
    assert caught.value.function_id == "id-1"


@pytest.mark.parametrize(
    ("kind", "payload"), [("float", "-0.0"), ("double", "-0.0"), ("float", "-1e-50"), ("float", "3.4028235e38")]
)
def test_floats_keep_their_ieee_encoding(reference: Worker, kind: str, payload: str) -> None:
    """The reference's pure-Python protobuf drops the sign of -0.0 and turns floats just above the
    largest float32 into infinity; upb (and Java) keep -0.0 and round to the nearest float32."""
    name = "f" if kind == "float" else "d"
    ours, theirs = run_script(reference, ["set", name, [kind, payload]])
    our_value = result_of(ours).state_mutations[0].state_value.value
    their_value = result_of(theirs).state_mutations[0].state_value.value
    if payload.startswith("-"):
        assert their_value == b""
        assert our_value[1:] == (struct.pack("<f", -0.0) if kind == "float" else struct.pack("<d", -0.0))
    else:
        assert their_value[1:] == struct.pack("<f", float("inf"))
        assert our_value[1:] == struct.pack("<f", 3.4028234663852886e38)


def test_sync_functions_run_without_an_event_loop(reference: Worker) -> None:
    ours, theirs = run_script(reference, ["loop"])
    assert result_of(ours).outgoing_egresses[0].argument.value == b'["loop", false]'
    assert result_of(theirs).outgoing_egresses[0].argument.value == b'["loop", true]'  # asyncio.run per request


def test_handle_sync_inside_a_running_loop() -> None:
    refused = run_with_reference(
        "import asyncio\n"
        "from statefun_faas import RequestReplyHandler, StatefulFunctions\n"
        "f = StatefulFunctions()\n"
        "f.register('a/b', lambda context, message: None)\n"
        "async def main():\n"
        "    try:\n"
        "        RequestReplyHandler(f).handle_sync(b'')\n"
        "    except RuntimeError as error:\n"
        "        print('RuntimeError')\n"
        "asyncio.run(main())"
    )
    assert refused == "RuntimeError"
    request = everything().message(script(["set", "s", ["string", "in a loop"]])).bytes()

    async def inside_a_loop() -> bytes:
        return HANDLER.handle_sync(request)

    assert asyncio.run(inside_a_loop()) == HANDLER.handle_sync(request)


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def handle(self, context: Context, message: Message) -> None:
        self.calls += 1

    def __call__(self, context: Context, message: Message) -> None:
        self.calls += 1


def test_bound_methods_and_callable_objects_are_accepted() -> None:
    refused = run_with_reference(
        "from statefun_faas import StatefulFunctions\n"
        "class C:\n"
        "    def handle(self, context, message): pass\n"
        "    def __call__(self, context, message): pass\n"
        "for fun in (C().handle, C()):\n"
        "    try:\n"
        "        StatefulFunctions().register('a/b', fun)\n"
        "        print('accepted')\n"
        "    except (ValueError, TypeError) as error:\n"
        "        print(type(error).__name__)\n"
    )
    assert refused.split() == ["ValueError", "ValueError"]
    counter = Counter()
    registry = StatefulFunctions()
    registry.register("a/method", counter.handle, [ValueSpec("n", IntType)])
    registry.register("a/object", counter)
    handler = RequestReplyHandler(registry)
    handler.handle_sync(Request("a/method", "1").state("n").message(tagged_value("int", 1)).bytes())
    handler.handle_sync(Request("a/object", "1").message(tagged_value("int", 1)).bytes())
    assert counter.calls == 2
