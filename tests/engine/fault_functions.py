"""The functions of the fault test, served with ``statefun-faas serve tests/engine/fault_functions.py``.

``faults/counter`` counts its messages per id and writes the new count (``"7"``, keyed by the id) to
two Kafka egresses: ``faults/exactly`` (exactly-once, topic ``faults-counts-eo``) and
``faults/at-least`` (at-least-once, topic ``faults-counts-alo``).

``faults/alarm`` takes text commands and writes JSON events to ``faults/exactly``, topic
``faults-events``, keyed by its id:

- ``arm:<seconds>``: sends itself ``ring`` after that many seconds, writes ``note`` (expires
  ``NOTE_TTL`` after it is written) and ``kept`` (never expires); event ``armed``;
- ``report``: event ``report`` with the values of ``note`` and ``kept`` now;
- ``ring`` (the delayed message, an ``io.statefun.types/string``): event ``rang`` with when it was armed.

Every event carries ``at``: the wall-clock time the function handled it.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from statefun_faas import (
    Context,
    DoubleType,
    IntType,
    Message,
    StatefulFunctions,
    StringType,
    ValueSpec,
    kafka_egress_message,
    message_builder,
)

TEXT_TYPE = "faults/text"  # the Kafka ingress's valueType: the record value is the raw UTF-8 text
EXACTLY, AT_LEAST = "faults/exactly", "faults/at-least"
COUNTS_EO, COUNTS_ALO, EVENTS = "faults-counts-eo", "faults-counts-alo", "faults-events"
NOTE_TTL = timedelta(seconds=5)

functions = StatefulFunctions()


@functions.bind("faults/counter", specs=[ValueSpec("count", IntType)])
def counter(context: Context, message: Message) -> None:
    count = (context.storage.count or 0) + 1
    context.storage.count = count
    key = context.address.id
    context.send_egress(kafka_egress_message(EXACTLY, COUNTS_EO, str(count), key=key))
    context.send_egress(kafka_egress_message(AT_LEAST, COUNTS_ALO, str(count), key=key))


ALARM_SPECS = [
    ValueSpec("note", StringType, expire_after_write=NOTE_TTL),
    ValueSpec("kept", StringType),
    ValueSpec("armed_at", DoubleType),
]


@functions.bind("faults/alarm", specs=ALARM_SPECS)
def alarm(context: Context, message: Message) -> None:
    text = (message.as_string() if message.is_string() else (message.raw_value() or b"").decode("utf-8")) or ""
    storage = context.storage
    event: dict[str, Any] = {"at": time.time()}
    if text.startswith("arm:"):
        me = context.address
        context.send_after(timedelta(seconds=float(text[4:])), message_builder(me.typename, me.id, str_value="ring"))
        storage.note, storage.kept, storage.armed_at = "short-lived", "kept", event["at"]
        event.update(event="armed", delay=float(text[4:]))
    elif text == "report":
        event.update(event="report", note=storage.note, kept=storage.kept)
    elif text == "ring":
        event.update(event="rang", armed_at=storage.armed_at)
    else:
        event.update(event="unknown", text=text)
    context.send_egress(kafka_egress_message(EXACTLY, EVENTS, json.dumps(event), key=context.address.id))
