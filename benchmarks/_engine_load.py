"""The load of benchmarks/engine.py: Kafka in, Kafka out, each message stamped at both ends.

The producer writes ``<tag>:<index>:<stamp>`` to a runtime's ingress topic, keyed ``k<index % keys>``; the
stamp is the wall clock (ns) when the message was handed to the producer, or when it was due at a paced
rate (so a producer that falls behind counts its lag). The greeter writes a record starting with that text
to the egress topic, whose timestamps are the broker's own (``message.timestamp.type=LogAppendTime``): the
time the egress record reached the broker, in ms. A phase's tag tells its records from any other's.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from benchmarks._harness import process_cpu

LOG_APPEND_TIME = 1  # a record's timestamp_type when the broker stamped it


@dataclass(frozen=True)
class Sample:
    """One phase of one contender: its messages per second, their latencies (ms) and the CPU seconds the runtime
    and the function server spent."""

    messages: int
    rate: float
    latencies: list[float]
    runtime_cpu: float
    server_cpu: float


async def create_topics(bootstrap: str, ingress: list[str], egress: str) -> None:
    """One partition each; the egress topic stamps records with the broker's clock."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        stamped = NewTopic(egress, 1, 1, topic_configs={"message.timestamp.type": "LogAppendTime"})
        await admin.create_topics([*(NewTopic(name, 1, 1) for name in ingress), stamped])
    finally:
        await admin.close()


class Load:
    """A producer to the ingress topics and a reader of the egress topic, kept open for the whole run."""

    def __init__(self, bootstrap: str, egress: str, keys: int) -> None:
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.egress = TopicPartition(egress, 0)
        self.keys = keys
        self.tags = itertools.count()

    async def __aenter__(self) -> Load:
        await self.producer.start()
        await self.consumer.start()
        self.consumer.assign([self.egress])
        await self.consumer.seek_to_end(self.egress)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()
        await self.consumer.stop()

    async def phase(self, topic: str, count: int, rate: float, pids: tuple[int, int], timeout: float) -> Sample:
        """Send ``count`` messages to ``topic`` (as fast as the producer takes them, or paced at ``rate``/s)
        and wait for their egress records; ``pids`` are the runtime's and the function server's processes."""
        tag = f"p{next(self.tags)}"
        before = [process_cpu(pid) for pid in pids]
        arrived = (await asyncio.gather(self._send(topic, tag, count, rate), self._take(tag, count, timeout)))[1]
        runtime_cpu, server_cpu = (process_cpu(pid) - cpu for pid, cpu in zip(pids, before, strict=True))
        latencies = [append - stamp / 1e6 for stamp, append in arrived.values()]
        # from the first stamp to the last egress record: the whole phase, one latency included (a span of egress
        # records alone would favour a runtime that holds them back and sends them at once)
        elapsed = max(append for _, append in arrived.values()) / 1e3 - min(s for s, _ in arrived.values()) / 1e9
        return Sample(count, count / elapsed, latencies, runtime_cpu, server_cpu)

    async def _send(self, topic: str, tag: str, count: int, rate: float) -> None:
        sent = []
        start = time.time_ns()
        for index in range(count):
            stamp = time.time_ns()
            if rate:
                due = start + int(index * 1e9 / rate)
                if due > stamp:
                    await asyncio.sleep((due - stamp) / 1e9)
                stamp = due
            value = f"{tag}:{index}:{stamp}".encode()
            sent.append(await self.producer.send(topic, value, key=b"k%d" % (index % self.keys)))
        await asyncio.gather(*sent)

    async def _take(self, tag: str, count: int, timeout: float) -> dict[int, tuple[int, int]]:
        """The phase's egress records: index -> (its stamp in ns, the broker's append time in ms)."""
        found: dict[int, tuple[int, int]] = {}
        prefix = tag.encode() + b":"
        deadline = time.monotonic() + timeout
        while len(found) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(found)} of {count} egress records arrived within {timeout:.0f} s")
            batches: dict[Any, list[Any]] = await self.consumer.getmany(self.egress, timeout_ms=200)
            for record in batches.get(self.egress, []):
                if not record.value.startswith(prefix):
                    continue  # another phase's
                if record.timestamp_type != LOG_APPEND_TIME:
                    raise RuntimeError(f"the egress topic's records are not stamped by the broker: {record}")
                _, index, stamp = record.value.split(b" ", 1)[0].split(b":")
                found[int(index)] = (int(stamp), record.timestamp)
        return found
