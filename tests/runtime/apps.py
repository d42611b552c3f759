"""Functions the runtime tests drive: a counter, a forwarder, a timer, expiring state."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from statefun_faas import (
    Context,
    IntType,
    Message,
    StatefulFunctions,
    StringType,
    ValueSpec,
    egress_message_builder,
    kafka_egress_message,
    kinesis_egress_message,
    make_json_type,
    message_builder,
)

EGRESS = "io.statefun.playground/egress"
EgressRecordType = make_json_type("io.statefun.playground/EgressRecord")

functions = StatefulFunctions()


def text(message: Message) -> str:
    """A string message, or the raw UTF-8 of any other type (what a playground ingress stores)."""
    if message.is_string():
        return message.as_string() or ""
    return (message.raw_value() or b"").decode("utf-8")


def emit(context: Context, topic: str, payload: str) -> None:
    context.send_egress(egress_message_builder(EGRESS, {"topic": topic, "payload": payload}, EgressRecordType))


@functions.bind("test/counter", specs=[ValueSpec("count", IntType)])
def counter(context: Context, message: Message) -> None:
    """Counts its messages; emits ``<id>:<count>:<message>`` to topic ``counts``."""
    count = (context.storage.count or 0) + 1
    context.storage.count = count
    caller = context.caller.typename + "/" + context.caller.id if context.caller else "-"
    emit(context, "counts", f"{context.address.id}:{count}:{text(message)}:{caller}")


@functions.bind("test/forwarder")
def forwarder(context: Context, message: Message) -> None:
    """Forwards its string message to the counter with the same id."""
    context.send(message_builder("test/counter", context.address.id, str_value=text(message)))


@functions.bind("test/timer")
def timer(context: Context, message: Message) -> None:
    """Commands as JSON: {"after": seconds, "token": t, "text": s} or {"cancel": t}."""
    command = json.loads(text(message) or "{}")
    if "cancel" in command:
        context.cancel_delayed_message(command["cancel"])
        return
    reminder = message_builder("test/counter", context.address.id, str_value=command["text"])
    context.send_after(timedelta(seconds=command["after"]), reminder, command.get("token", ""))


@functions.bind(
    "test/ttl",
    specs=[
        ValueSpec("written", StringType, expire_after_write=timedelta(seconds=10)),
        ValueSpec("touched", StringType, expire_after_call=timedelta(seconds=10)),
    ],
)
def ttl(context: Context, message: Message) -> None:
    """ "set" writes both states; anything else only reads them (emitted to topic ``ttl``)."""
    if text(message) == "set":
        context.storage.written = "w"
        context.storage.touched = "t"
    emit(context, "ttl", f"{context.storage.written}|{context.storage.touched}")


@functions.bind("test/failing")
def failing(context: Context, message: Message) -> None:
    if text(message) == "boom":
        raise RuntimeError("boom")
    emit(context, "counts", f"ok:{text(message)}")


@functions.bind("test/kafka")
def kafka(context: Context, message: Message) -> None:
    """Writes ``<id>:<message>`` to topic ``results`` of the Kafka egress ``test/out``."""
    context.send_egress(kafka_egress_message("test/out", "results", f"{context.address.id}:{text(message)}"))


@functions.bind("test/slow")
async def slow(context: Context, message: Message) -> None:
    """Never answers "hang" within any sensible call timeout."""
    if text(message) == "hang":
        await asyncio.sleep(3600)
    emit(context, "counts", f"slow:{text(message)}")


@functions.bind("test/kinesis")
def kinesis(context: Context, message: Message) -> None:
    """Writes ``<id>:<message>`` to stream ``shouts`` of the Kinesis egress ``test/kout``."""
    record = kinesis_egress_message("test/kout", "shouts", f"{context.address.id}:{text(message)}", context.address.id)
    context.send_egress(record)
