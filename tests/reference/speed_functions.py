"""A typical function for benchmarks/handler_speed.py, written once for both SDKs (see worker.py).

It reads and writes two states, decodes its message and sends a reply or a Kafka record,
so the time measured is mostly SDK and protobuf work, not user code.
"""

from __future__ import annotations

from datetime import timedelta

from statefun_faas import (
    Context,
    IntType,
    Message,
    StatefulFunctions,
    StringType,
    ValueSpec,
    kafka_egress_message,
    message_builder,
)

functions = StatefulFunctions()


@functions.bind(
    "bench/greeter",
    specs=[ValueSpec("seen", IntType), ValueSpec("last", StringType, expire_after_write=timedelta(days=1))],
)
def greeter(context: Context, message: Message) -> None:
    seen = (context.storage.seen or 0) + 1
    context.storage.seen = seen
    name = message.as_string()
    context.storage.last = name
    greeting = f"Hello {name}, visit #{seen}"
    caller = context.caller
    if caller is not None:
        context.send(message_builder(caller.typename, caller.id, str_value=greeting))
    else:
        context.send_egress(kafka_egress_message("bench/out", "greetings", greeting, key=context.address.id))
