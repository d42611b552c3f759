"""statefun_faas.testing.invoke: one call of a function, through the real core, no runtime."""

from __future__ import annotations

from datetime import timedelta

import pytest

from statefun_faas import (
    ConfigurationError,
    Context,
    IntType,
    Message,
    StatefulFunctions,
    StringType,
    ValueSpec,
    egress_message_builder,
    message_builder,
)
from statefun_faas.testing import invoke

functions = StatefulFunctions()


@functions.bind("example/greeter", specs=[ValueSpec("visits", IntType), ValueSpec("last", StringType)])
def greeter(context: Context, message: Message) -> None:
    visits = (context.storage.visits or 0) + 1
    context.storage.visits = visits
    name = message.as_string()
    if name == "forget":
        del context.storage.last
    else:
        context.storage.last = name
    context.send_egress(egress_message_builder("example/out", f"hello {name} #{visits}", StringType))
    if context.caller is not None:
        context.send(message_builder(context.caller.typename, context.caller.id, int_value=visits))
    context.send_after(timedelta(seconds=2), message_builder("example/greeter", "later", str_value=name), "t1")
    context.cancel_delayed_message("t0")


def test_state_messages_and_egress_come_back_as_sdk_objects() -> None:
    result = invoke(
        functions,
        "example/greeter",
        "bob",
        [("Bob", StringType), ("Bob", StringType, "example/caller/7")],
        state={"visits": 2},
    )
    assert result.state == {"visits": 4, "last": "Bob"}
    assert result.changed == ["visits", "last"]
    assert [(m.target_typename, m.target_id, m.as_int()) for m in result.sent] == [("example/caller", "7", 4)]
    assert [e.raw_value() for e in result.egress] == [
        StringType.serializer().serialize("hello Bob #3"),
        StringType.serializer().serialize("hello Bob #4"),
    ]
    assert [(d.delay, d.message.target_id, d.cancellation_token) for d in result.delayed] == [
        (timedelta(seconds=2), "later", "t1")
    ] * 2
    assert result.cancelled == ["t0", "t0"]
    assert result.missing == []


def test_delete_and_missing_registration() -> None:
    deleted = invoke(functions, "example/greeter", "bob", [("forget", StringType)], state={"last": "x"})
    assert deleted.state["last"] is None
    assert "last" in deleted.changed
    unregistered = invoke(functions, "example/greeter", "bob", [("Bob", StringType)], registered=["visits"])
    assert unregistered.missing == ["last"]
    assert unregistered.sent == []


def test_unknown_state_name_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="no state named"):
        invoke(functions, "example/greeter", "bob", [], state={"vists": 1})
