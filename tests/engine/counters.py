"""Functions the engine tests serve with ``statefun-faas serve tests/engine/counters.py[:ATTR]``.

``engine/counter`` counts its messages per id in state and writes ``<id>:<count>:<text>`` (the
message's UTF-8 text) to the Kafka egress ``engine/out``, topic ``$ENGINE_OUT_TOPIC``, keyed by
the id. ``$ENGINE_DELAY_SECONDS`` (default 0) makes each invocation sleep first: a slow function,
so that StateFun batches the messages that wait. ``with_late`` also serves ``engine/late``, a
counter writing ``late:<id>:<count>:<text>``: a function deployed after the job started.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from statefun_faas import Context, IntType, Message, StatefulFunctions, ValueSpec, kafka_egress_message

NAMESPACE = "engine"
EGRESS = "engine/out"
TEXT_TYPE = "engine/text"  # the Kafka ingress's valueType: the record value is the message's raw bytes


def egress_value(key: str, count: int, text: str, prefix: str = "") -> str:
    """What a counter writes for the ``count``-th message ``text`` to id ``key``."""
    return f"{prefix}{key}:{count}:{text}"


def _counter(prefix: str) -> Callable[[Context, Message], None]:
    topic = os.environ.get("ENGINE_OUT_TOPIC", "engine-out")
    delay = float(os.environ.get("ENGINE_DELAY_SECONDS", "0"))

    def counter(context: Context, message: Message) -> None:
        if delay:
            time.sleep(delay)
        count = (context.storage.count or 0) + 1
        context.storage.count = count
        value = egress_value(context.address.id, count, (message.raw_value() or b"").decode("utf-8"), prefix)
        context.send_egress(kafka_egress_message(EGRESS, topic, value, key=context.address.id))

    return counter


def _registry(*names: str) -> StatefulFunctions:
    registry = StatefulFunctions()
    for name in names:
        prefix = "" if name == "counter" else f"{name}:"
        registry.register(f"{NAMESPACE}/{name}", _counter(prefix), specs=[ValueSpec("count", IntType)])
    return registry


functions = _registry("counter")
with_late = _registry("counter", "late")
