"""Conformance functions: one module that runs unchanged on statefun_faas and on apache-flink-statefun 3.3.

It uses only public names both SDKs share, imported ``from statefun_faas`` (the reference worker
aliases the reference package under that name), which is the promise of the migration guide.

A message is either a *script* (typename ``conformance/script``: a JSON list of commands the
function carries out in order, see :func:`run_command`) or any other value, which the function
inspects, stores in every state of the same type and echoes back to its caller. Values inside
scripts are tagged ``[kind, payload]`` (see :func:`decode`) so JSON can carry NaN, -0.0, bytes
and protobuf messages. What a function observes (reads, its address, its caller, the message)
it sends as JSON records to the egress ``conformance/observed``, so reads show up on the wire.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from google.protobuf import timestamp_pb2, wrappers_pb2

from statefun_faas import (
    BoolType,
    Context,
    DoubleType,
    FloatType,
    IntType,
    LongType,
    Message,
    StatefulFunctions,
    StringType,
    Type,
    ValueSpec,
    egress_message_builder,
    kafka_egress_message,
    kinesis_egress_message,
    make_json_type,
    make_protobuf_type,
    message_builder,
)

SCRIPT = make_json_type("conformance/script")
JSON = make_json_type("conformance/json")
TIMESTAMP = make_protobuf_type(timestamp_pb2.Timestamp)
WRAPPED = make_protobuf_type(wrappers_pb2.StringValue, namespace="conformance.proto")
OBSERVED = "conformance/observed"

#: every value type by the kind name scripts use
TYPES: dict[str, Type[Any]] = {
    "bool": BoolType,
    "int": IntType,
    "long": LongType,
    "float": FloatType,
    "double": DoubleType,
    "string": StringType,
    "json": JSON,
    "timestamp": TIMESTAMP,
    "wrapped": WRAPPED,
}
PRIMITIVES = ("bool", "int", "long", "float", "double", "string")

#: the declared states of each function, in declaration order
SPECS: dict[str, list[ValueSpec]] = {
    "conformance/everything": [
        ValueSpec("b", BoolType),
        ValueSpec("i", IntType, expire_after_call=timedelta(seconds=90)),
        ValueSpec("l", LongType, expire_after_write=timedelta(milliseconds=1500.5)),
        ValueSpec("f", FloatType),
        ValueSpec("d", DoubleType, expire_after_write=timedelta(days=2)),
        ValueSpec("s", StringType),
        ValueSpec("j", JSON, expire_after_call=timedelta(microseconds=999)),
        ValueSpec("t", TIMESTAMP),
        ValueSpec("w", WRAPPED, expire_after_call=timedelta(hours=1)),
    ],
    "conformance/counter": [
        ValueSpec("count", LongType, expire_after_call=timedelta(minutes=5)),
        ValueSpec("seen", JSON),
    ],
    "conformance/stateless": [],
    "conformance/async": [ValueSpec("s", StringType), ValueSpec("i", IntType, expire_after_write=timedelta(0))],
}


def decode(tagged: list[Any]) -> Any:
    """The Python value of a tagged script value ``[kind, payload]``."""
    kind, payload = tagged
    if kind in ("float", "double"):
        return float(payload)
    if kind == "bytes":
        return bytes.fromhex(payload)
    if kind == "timestamp":
        return timestamp_pb2.Timestamp(seconds=payload[0], nanos=payload[1])
    if kind == "wrapped":
        return wrappers_pb2.StringValue(value=payload)
    return payload


def observe(value: Any) -> Any:
    """A JSON form of a value read from state or a message, exact for floats and protobufs."""
    if isinstance(value, float):
        return ["float", repr(value)]
    if isinstance(value, bytes):
        return ["bytes", value.hex()]
    if hasattr(value, "SerializeToString"):
        return ["proto", value.DESCRIPTOR.full_name, value.SerializeToString().hex()]
    return value


def report(context: Context, *observation: Any) -> None:
    context.send_egress(egress_message_builder(OBSERVED, list(observation), JSON))


def build(typename: str, target_id: str, how: str, tagged: list[Any]) -> Message:
    """A message built the way ``how`` names: a primitive keyword, or ``value`` with its type."""
    if how == "value":
        return message_builder(typename, target_id, value=decode(tagged), value_type=TYPES[tagged[0]])
    return message_builder(typename, target_id, **{how: decode(tagged)})


def inspect_message(message: Message) -> dict[str, Any]:
    raw = message.raw_value()
    seen: dict[str, Any] = {"typename": message.value_typename(), "raw": None if raw is None else bytes(raw).hex()}
    seen["is"] = [kind for kind in PRIMITIVES if getattr(message, f"is_{kind}")()]
    for value_type in TYPES.values():
        if message.is_type(value_type):
            seen["as"] = observe(message.as_type(value_type))
    return seen


def send_after(context: Context, command: list[Any]) -> None:
    _, millis, typename, target_id, how, tagged, token = command
    message = build(typename, target_id, how, tagged)
    if token is None:
        context.send_after(timedelta(milliseconds=millis), message)
    else:
        context.send_after(timedelta(milliseconds=millis), message, token)


def kafka(context: Context, command: list[Any]) -> None:
    _, typename, topic, tagged, kind, key = command
    options: dict[str, Any] = {} if key is None else {"key": key}
    if kind is not None:
        options["value_type"] = TYPES[kind]
    context.send_egress(kafka_egress_message(typename, topic, decode(tagged), **options))


def kinesis(context: Context, command: list[Any]) -> None:
    _, typename, stream, tagged, partition_key, kind, hash_key = command
    options: dict[str, Any] = {} if hash_key is None else {"explicit_hash_key": hash_key}
    if kind is not None:
        options["value_type"] = TYPES[kind]
    context.send_egress(kinesis_egress_message(typename, stream, decode(tagged), partition_key, **options))


def whoami(context: Context) -> None:
    address, caller = context.address, context.caller
    me = [address.namespace, address.name, address.id, address.typename]
    report(
        context, "whoami", me, None if caller is None else [caller.namespace, caller.name, caller.id, caller.typename]
    )


def reply(context: Context, command: list[Any]) -> None:
    caller = context.caller
    if caller is None:
        report(context, "no caller")
    else:
        context.send(build(caller.typename, caller.id, command[1], command[2]))


def has_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def run_command(context: Context, message: Message, command: list[Any]) -> None:
    """Carry out one script command."""
    verb = command[0]
    if verb == "get":
        report(context, "get", command[1], observe(getattr(context.storage, command[1])))
    elif verb == "set":
        setattr(context.storage, command[1], decode(command[2]))
    elif verb == "del":
        delattr(context.storage, command[1])
    elif verb == "send":
        context.send(build(*command[1:]))
    elif verb == "send_after":
        send_after(context, command)
    elif verb == "cancel":
        context.cancel_delayed_message(command[1])
    elif verb == "egress":
        context.send_egress(egress_message_builder(command[1], decode(command[2]), TYPES[command[2][0]]))
    elif verb == "kafka":
        kafka(context, command)
    elif verb == "kinesis":
        kinesis(context, command)
    elif verb == "reply":
        reply(context, command)
    elif verb == "whoami":
        whoami(context)
    elif verb == "inspect":
        report(context, "inspect", inspect_message(message))
    elif verb == "loop":
        report(context, "loop", has_running_loop())
    elif verb == "fail":
        raise RuntimeError(command[1])
    else:
        raise ValueError(f"unknown script command {verb!r}")


def echo(context: Context, message: Message, specs: list[ValueSpec]) -> None:
    """A non-script message: report it, store it where a state has its type, echo it to the caller."""
    report(context, "inspect", inspect_message(message))
    for spec in specs:
        if message.is_type(spec.type):
            value = message.as_type(spec.type)
            if value is None:
                delattr(context.storage, spec.name)
            else:
                setattr(context.storage, spec.name, value)
    caller = context.caller
    if caller is not None and message.raw_value() is not None:
        value_type = next((t for t in TYPES.values() if message.is_type(t)), None)
        if value_type is not None:
            context.send(
                message_builder(caller.typename, caller.id, value=message.as_type(value_type), value_type=value_type)
            )


def handle(context: Context, message: Message, specs: list[ValueSpec]) -> None:
    if message.is_type(SCRIPT):
        for command in message.as_type(SCRIPT) or []:
            run_command(context, message, command)
    else:
        echo(context, message, specs)


functions = StatefulFunctions()


def _register(typename: str) -> None:
    specs = SPECS[typename]

    def function(context: Context, message: Message) -> None:
        handle(context, message, specs)

    async def async_function(context: Context, message: Message) -> None:
        await asyncio.sleep(0)
        handle(context, message, specs)

    functions.register(typename, async_function if typename.endswith("/async") else function, specs)


for _typename in SPECS:
    _register(_typename)
