"""The functions the fuzz targets serve: the conformance set plus two that touch every output.

``fuzz/echo`` (sync) and ``fuzz/async-echo`` read all their states, write or delete some,
reply to the caller, send delayed messages and cancellations, and emit egress records, all
driven by the incoming message, so fuzzed requests reach every part of response building.
"""

from __future__ import annotations

from datetime import timedelta

from statefun_faas import (
    BoolType,
    Context,
    IntType,
    Message,
    StatefulFunctions,
    StringType,
    ValueSpec,
    egress_message_builder,
    make_json_type,
    message_builder,
)
from tests.adapters.support import functions_with_async

DocType = make_json_type("fuzz/doc")

ECHO_SPECS = [
    ValueSpec("count", IntType),
    ValueSpec("name", StringType, expire_after_write=timedelta(seconds=5)),
    ValueSpec("doc", DocType, expire_after_call=timedelta(minutes=1)),
    ValueSpec("flag", BoolType),
]


def _echo(context: Context, message: Message) -> None:
    storage = context.storage
    name = storage.name or ""
    storage.count = ((storage.count or 0) + 1) % 2**31
    storage.doc = {"seen": storage.count, "previous": storage.doc, "typename": message.value_typename()}
    if storage.flag:
        del storage.name
    else:
        storage.name = (name + message.value_typename())[-200:]
    storage.flag = not storage.flag
    text = message.as_string() if message.is_string() else str(message.raw_value())[:100]
    if context.caller is not None:
        context.send(message_builder(context.caller.typename, context.caller.id, str_value=text))
    if text:
        context.send_after(timedelta(milliseconds=len(text)), message_builder("fuzz/echo", text, int_value=1), text)
        context.cancel_delayed_message(text)
    context.send_egress(egress_message_builder("fuzz/out", str(text), StringType))


def make_functions() -> StatefulFunctions:
    functions = functions_with_async()
    functions.register("fuzz/echo", _echo, ECHO_SPECS)

    async def async_echo(context: Context, message: Message) -> None:
        _echo(context, message)

    functions.register("fuzz/async-echo", async_echo, ECHO_SPECS)
    return functions


FUNCTIONS = make_functions()
KNOWN_TYPENAMES = FUNCTIONS.typenames
#: Declared state names of every function, plus names no function declares.
STATE_NAMES = sorted({spec.name for t in KNOWN_TYPENAMES for spec in FUNCTIONS.for_typename(t).specs} | {"other"})
VALUE_TYPENAMES = [
    IntType.typename,
    StringType.typename,
    BoolType.typename,
    DocType.typename,
    "io.statefun.types/long",
    "io.statefun.types/nope",
]


def declared(typename: str) -> dict[str, str]:
    """State name -> type typename of a registered function."""
    return {spec.name: spec.type.typename for spec in FUNCTIONS.for_typename(typename).specs}
