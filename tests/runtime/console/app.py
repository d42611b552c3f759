"""A small application for the console's tests (in-process, and ``statefun-faas dev`` for the browser):
state of every kind the console decodes, a delayed message, a failure path that can be healed.

``console/counter`` (id: anything; messages: strings, or UTF-8 text typed ``console/Text``) counts its
messages in ``count`` (int), keeps a JSON ``profile``, the time of its last message as a protobuf
``Timestamp`` (``seen``; a well-known type, so its descriptor is in every process) and raw ``blob`` bytes,
and tells ``console/audit`` of the same id. The message "later" also sets a reminder to itself an hour later
(token ``reminder``). The message "poison" raises, so it becomes a dead letter, until the file named by
``$CONSOLE_APP_HEALED`` exists: then replaying it succeeds.
"""

from __future__ import annotations

import os
from datetime import timedelta

from google.protobuf.timestamp_pb2 import Timestamp

from statefun_faas import (
    Context,
    IntType,
    Message,
    StatefulFunctions,
    ValueSpec,
    make_json_type,
    make_protobuf_type,
    message_builder,
    simple_type,
)

HEALED_ENV = "CONSOLE_APP_HEALED"
ProfileType = make_json_type("console/Profile")
SeenType = make_protobuf_type(Timestamp)
BlobType = simple_type("console/Blob", bytes, bytes)
EPOCH = 1_700_000_000  # the seen time of message n is EPOCH + n seconds: the same in every run

functions = StatefulFunctions()


def text(message: Message) -> str:
    """A string, or the UTF-8 of a ``console/Text`` message (the playground ingress stores a body as it came)."""
    return (message.as_string() or "") if message.is_string() else (message.raw_value() or b"").decode()


def healed() -> bool:
    path = os.environ.get(HEALED_ENV)
    return bool(path) and os.path.exists(path or "")


@functions.bind(
    "console/counter",
    specs=[
        ValueSpec("count", IntType),
        ValueSpec("profile", ProfileType),
        ValueSpec("seen", SeenType),
        ValueSpec("blob", BlobType),
    ],
)
def counter(context: Context, message: Message) -> None:
    body = text(message)
    if body == "poison" and not healed():
        raise RuntimeError("cannot digest poison")
    count = (context.storage.count or 0) + 1
    context.storage.count = count
    context.storage.profile = {"last": body, "count": count, "note": "<b>not bold</b>"}
    context.storage.seen = Timestamp(seconds=EPOCH + count)
    context.storage.blob = bytes([0, 255, count % 256])
    context.send(message_builder("console/audit", context.address.id, str_value=body))
    if body == "later":
        reminder = message_builder("console/counter", context.address.id, str_value="reminder")
        context.send_after(timedelta(hours=1), reminder, "reminder")


@functions.bind("console/audit", specs=[ValueSpec("seen", IntType)])
def audit(context: Context, message: Message) -> None:
    context.storage.seen = (context.storage.seen or 0) + 1
