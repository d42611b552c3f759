"""A real single-node Kafka broker (KRaft, ``org.apache.kafka:kafka_2.13`` from ``java/``) on loopback.

:meth:`KafkaBroker.start` formats a fresh log folder and starts ``kafka.Kafka`` (broker and
controller in one JVM); ``create_topics``, ``produce`` and ``consume`` talk to it with aiokafka.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.engine import processes
from tests.engine.artifacts import class_path, java, maven_build
from tests.engine.processes import EngineSetupError, Service, log4j_properties

#: a record to produce: its key (the StateFun function id) and value
KeyedValue = tuple[str | None, bytes | str]


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()  # the record's Kafka headers, in order


class KafkaBroker:
    """One KRaft node (broker and controller) on ``127.0.0.1:<port>``, its data in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port, self.controller_port = processes.free_ports(2)
        self.service: Service | None = None
        self.started_in = 0.0  # seconds from starting the JVM to a broker answering metadata requests

    @property
    def bootstrap(self) -> str:
        """``host:port`` for clients (bootstrap.servers, module.yaml's ``address``)."""
        return f"127.0.0.1:{self.port}"

    def _properties(self) -> Path:
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(self.folder / "data"),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "false",
        }
        path = self.folder / "server.properties"
        path.write_text("".join(f"{key}={value}\n" for key, value in settings.items()))
        return path

    def _java(self, *args: str) -> list[str]:
        logging = log4j_properties(self.folder, self.folder / "kafka.log")
        return [
            java().executable,
            "-Xms128m",
            "-Xmx512m",
            f"-Dlog4j.configuration={logging.as_uri()}",
            "-cp",
            class_path(maven_build().kafka),
            *args,
        ]

    def start(self) -> KafkaBroker:
        """Format the log folder (first start only) and start the broker; wait until it answers."""
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self._properties()
        if not (self.folder / "data").exists():
            cluster_id = "-"
            while cluster_id.startswith("-"):  # StorageTool would read it as an option (Kafka's own ids avoid it too)
                cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            formatted = processes.start(
                "kafka-storage-format",
                self._java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config)),
                self.folder / "format.out",
            )
            if formatted.process.wait(120) != 0:
                raise EngineSetupError(f"formatting the Kafka log folder failed:\n{formatted.log_tail()}")
        self.service = processes.start("kafka", self._java("kafka.Kafka", str(config)), self.folder / "kafka.out")
        self.started_in = processes.wait_until(self._answers, "the Kafka broker", [self.service], timeout=120)
        processes.TIMINGS.append(("Kafka broker: JVM start to first metadata answer", self.started_in))
        return self

    def _answers(self) -> bool:
        if not processes.port_open(self.port):
            return False
        try:
            asyncio.run(self._metadata())
        except Exception:  # not up yet: any client error means try again
            return False
        return True

    async def _metadata(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
        await admin.start()
        try:
            await admin.list_topics()
        finally:
            await admin.close()

    def stop(self) -> None:
        """Stop the broker (SIGTERM, a clean shutdown; SIGKILL if it hangs). ``start()`` again keeps its data."""
        if self.service is not None:
            self.service.stop(grace=30)
            self.service = None

    def create_topics(self, *names: str, partitions: int = 1) -> None:
        """Create topics and wait until each partition has a leader."""
        asyncio.run(self._create_topics(names, partitions))

    async def _create_topics(self, names: Iterable[str], partitions: int) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(name, partitions, 1) for name in names])
            for _ in range(100):
                described = await admin.describe_topics(list(names))
                if all(
                    not topic["error_code"]
                    and len(topic["partitions"]) == partitions
                    and all(p["leader"] >= 0 for p in topic["partitions"])
                    for topic in described
                ):
                    return
                await asyncio.sleep(0.1)
            raise EngineSetupError(f"topics {names} have no leader yet: {described}")
        finally:
            await admin.close()

    def produce(self, topic: str, records: Iterable[KeyedValue], partition: int | None = None) -> None:
        """Send ``(key, value)`` records in order (acks=all), ``str`` as UTF-8; returns once all are acknowledged."""
        asyncio.run(self._produce(topic, list(records), partition))

    async def _produce(self, topic: str, records: list[KeyedValue], partition: int | None) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True)
        await producer.start()
        try:
            for key, value in records:
                encoded = key.encode("utf-8") if key is not None else None
                data = value.encode("utf-8") if isinstance(value, str) else value
                await producer.send_and_wait(topic, data, key=encoded, partition=partition)
        finally:
            await producer.stop()

    def consume(self, topic: str, count: int, timeout: float = 60, settle: float = 1.0) -> list[Record]:
        """Committed records of ``topic`` from its beginning, in order per partition.

        Reads until ``count`` records arrived or ``timeout`` passed, then ``settle`` seconds more so that
        records beyond ``count`` show up too; returns all it read (compare with what you expect).
        """
        return asyncio.run(self._consume(topic, count, timeout, settle))

    async def _consume(self, topic: str, count: int, timeout: float, settle: float) -> list[Record]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, isolation_level="read_committed", enable_auto_commit=False
        )
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(topic) or await self._partitions(consumer, topic, timeout)
            consumer.assign([TopicPartition(topic, p) for p in sorted(partitions)])
            await consumer.seek_to_beginning()
            found: list[Record] = []
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while loop.time() < deadline:
                if len(found) >= count:
                    deadline = min(deadline, loop.time() + settle)
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    found.extend(
                        Record(r.topic, r.partition, r.offset, _text(r.key), r.value, tuple(r.headers)) for r in records
                    )
            return found
        finally:
            await consumer.stop()

    async def _partitions(self, consumer: AIOKafkaConsumer, topic: str, timeout: float) -> set[int]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            await consumer._client.force_metadata_update()  # aiokafka has no public refresh
            found = consumer.partitions_for_topic(topic)
            if found:
                return set(found)
            await asyncio.sleep(0.1)
        raise AssertionError(f"Kafka topic {topic!r} does not exist on {self.bootstrap}")


def _text(key: bytes | None) -> str | None:
    return key.decode("utf-8") if key is not None else None


def by_key(records: Iterable[Record]) -> dict[str | None, list[str]]:
    """Record values (UTF-8) per key, in the order read: Kafka keeps the order of one key (one partition)."""
    found: dict[str | None, list[str]] = {}
    for record in records:
        found.setdefault(record.key, []).append(record.value.decode("utf-8"))
    return found
