"""Helpers of the tests of the local runtime's Kafka binding against a real broker (``test_kafka_binding*.py``).

The runtime runs in-process on its own event loop (``asyncio.run``); the broker's blocking helpers
(``produce``, ``consume``, ``create_topics``, ``stop``, ``start``) run in a worker thread meanwhile.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions

from statefun_faas import Context, Message, StatefulFunctions, kafka_egress_message
from tests.engine.kafka import KafkaBroker, Record

PLAYGROUND_INGRESS = """---
kind: io.statefun.playground.v1/ingress
spec:
  port: 0
"""


@dataclass(frozen=True)
class Names:
    """Topics and a consumer group of one test's own (the session's broker is shared)."""

    source: str
    results: str
    group: str

    @classmethod
    def fresh(cls) -> Names:
        tag = uuid.uuid4().hex[:8]
        return cls(f"binding-{tag}-in", f"binding-{tag}-out", f"binding-{tag}")


def shouting(results: str) -> StatefulFunctions:
    """``test/shout`` writes ``<id>:<value>`` to topic ``results`` of egress ``test/out``, keyed by its id
    (no key for the id ``anonymous``)."""
    functions = StatefulFunctions()

    @functions.bind("test/shout")
    def shout(context: Context, message: Message) -> None:
        ident = context.address.id
        text = f"{ident}:{(message.raw_value() or b'').decode()}"
        key = None if ident == "anonymous" else ident
        context.send_egress(kafka_egress_message("test/out", results, text, key=key))

    return functions


def module(
    address: str, names: Names, start: str = "{type: earliest}", ingress_extra: str = "", egress_properties: str = "[]"
) -> str:
    return f"""
kind: io.statefun.kafka.v1/ingress
spec:
  id: test/in
  address: {address}
  consumerGroupId: {names.group}
  startupPosition: {start}
  topics:
    - topic: {names.source}
      valueType: test/text
      targets: [test/shout]
{ingress_extra}
---
kind: io.statefun.kafka.v1/egress
spec:
  id: test/out
  address: {address}
  deliverySemantic: {{type: at-least-once}}
  properties: {egress_properties}
"""


def produce(broker: KafkaBroker, topic: str, *records: tuple[str | None, str], partition: int | None = None) -> Any:
    """An awaitable writing ``records`` (key, text) in order, off the event loop."""
    return asyncio.to_thread(broker.produce, topic, [(k, v.encode()) for k, v in records], partition)


async def consume(broker: KafkaBroker, topic: str, count: int, settle: float = 1.0) -> list[Record]:
    return await asyncio.to_thread(broker.consume, topic, count, 60, settle)


def pairs(records: list[Record]) -> list[tuple[str | None, str]]:
    return [(r.key, r.value.decode()) for r in records]


async def until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def committed(broker: KafkaBroker, group: str) -> dict[int, int]:
    """The consumer group's committed offset per partition, as the broker keeps it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items()}


async def commit(broker: KafkaBroker, group: str, topic: str, offset: int) -> None:
    """Commit ``offset`` of partition 0 for ``group``, as another consumer of the group would have."""
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.commit({TopicPartition(topic, 0): offset})
    finally:
        await consumer.stop()


async def grow(broker: KafkaBroker, topic: str, total: int) -> None:
    """Add partitions to ``topic`` (``kafka-topics.sh --alter --partitions``)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        await admin.create_partitions({topic: NewPartitions(total_count=total)})
    finally:
        await admin.close()
