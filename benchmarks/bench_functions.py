"""The function every contender of benchmarks/handler.py serves.

Written against ``statefun_faas``; the reference contenders run it unchanged by aliasing the
reference ``statefun`` package under that name.
"""

from __future__ import annotations

from statefun_faas import (
    Context,
    IntType,
    Message,
    StatefulFunctions,
    StringType,
    ValueSpec,
    egress_message_builder,
    message_builder,
)

functions = StatefulFunctions()


@functions.bind("bench/greeter", specs=[ValueSpec("seen", IntType)])
def greeter(context: Context, message: Message) -> None:
    seen = (context.storage.seen or 0) + 1
    context.storage.seen = seen
    context.send_egress(egress_message_builder("bench/out", f"Hello {message.as_string()} #{seen}", StringType))
    caller = context.caller
    if caller is not None:
        context.send(message_builder(caller.typename, caller.id, int_value=seen))
