"""The greeter both function tiers of benchmarks/engine.py serve: counts visits per id in state and writes one
Kafka egress record per message, keyed by the id, whose value starts with the message's own text (the stamp
the load producer put there).

Written against ``statefun_faas``; the reference server (``_engine_reference.py``) runs it unchanged with
apache-flink-statefun's ``statefun`` package importable under that name. One body, registered under two
typenames so that one StateFun job can route each to its own function server.
"""

from __future__ import annotations

import os

from statefun_faas import Context, IntType, Message, StatefulFunctions, ValueSpec, kafka_egress_message

EGRESS = "bench/out"
TOPIC = os.environ.get("BENCH_OUT_TOPIC", "bench-out")
TEXT_TYPE = "bench/text"  # the Kafka ingress's valueType: the record value is the message's raw bytes
TYPENAMES = ("faas/greeter", "reference/greeter")

functions = StatefulFunctions()


def greeter(context: Context, message: Message) -> None:
    seen = (context.storage.seen or 0) + 1
    context.storage.seen = seen
    stamp = (message.raw_value() or b"").decode("utf-8")
    text = f"{stamp} Hello {context.address.id} #{seen}"
    context.send_egress(kafka_egress_message(EGRESS, TOPIC, text, key=context.address.id))


for typename in TYPENAMES:
    functions.register(typename, greeter, specs=[ValueSpec("seen", IntType)])
