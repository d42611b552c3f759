"""The examples' production modules on either runtime, fed and read through one real Kafka broker.

:func:`served` runs an example's registry under ``statefun-faas serve`` with a URL token;
:func:`write_module` writes the module.yaml ``statefun-faas module`` makes from a loopback
deployment's outputs (``--base``: the example's ingresses and egresses, pointed at the broker);
:class:`Wire` sends the input records and reads the egress topic from where it ended, keeping
the records per key in order.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import yaml
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from statefun_faas.cli import main as cli_main
from tests.engine.kafka import KafkaBroker

KAFKA_KINDS = ("io.statefun.kafka.v1/ingress", "io.statefun.kafka.v1/egress")
Records = dict[str, list[Any]]


def pointed_at(documents: str, broker: str, group_suffix: str) -> str:
    """Kafka documents moved to ``broker`` (the examples say ``kafka:9092``), consumer groups of their own."""
    moved = []
    for document in yaml.safe_load_all(documents):
        if document["kind"] in KAFKA_KINDS:
            document["spec"]["address"] = broker
            if "consumerGroupId" in document["spec"]:
                document["spec"]["consumerGroupId"] += group_suffix
        moved.append(document)
    return yaml.safe_dump_all(moved, sort_keys=False)


def module_from_outputs(base: str, url: str, token: str, functions: str, folder: Path) -> Path:
    """module.yaml as ``statefun-faas module terraform`` writes it from a deployment at ``url``: ``base``'s
    ingresses and egresses, one endpoint for ``functions`` (``NS/*``) with the token in the URL."""
    folder.mkdir(parents=True, exist_ok=True)
    outputs = {"function_url": {"value": url}, "statefun_token": {"value": token, "sensitive": True}}
    (folder / "outputs.json").write_text(json.dumps(outputs), "utf-8")
    (folder / "base.yaml").write_text(base, "utf-8")
    module = folder / "module.yaml"
    args = ["module", "terraform", str(folder / "outputs.json"), "--functions", functions, "--allow-http"]
    code = cli_main([*args, "--base", str(folder / "base.yaml"), "-o", str(module)])
    assert code == 0, f"statefun-faas module failed for {functions} at {url}"
    return module


def recreate_topics(broker: KafkaBroker, names: tuple[str, ...]) -> None:
    """The topics, empty: deleted if they exist (with their records and consumer positions), then created."""
    asyncio.run(_delete_topics(broker.bootstrap, names))
    broker.create_topics(*names)


async def _delete_topics(bootstrap: str, names: tuple[str, ...]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics()) & set(names)
        if existing:
            await admin.delete_topics(sorted(existing))
        for _ in range(100):
            if not set(await admin.list_topics()) & set(names):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"Kafka topics {sorted(existing)} were not deleted within 10 s")
    finally:
        await admin.close()


class Wire:
    """Sends the input records and reads the egress records (key, JSON value) from where the egress ended.

    Records whose key starts with one of ``ignored`` (warm-up and probe traffic) are seen but not kept.
    A transport implements ``send`` and ``_fetch``, and opens and closes its clients in ``async with``.
    """

    def __init__(self, egress: str, ignored: tuple[str, ...] = ()) -> None:
        self.egress, self.ignored = egress, ignored
        self.seen: list[tuple[str, Any]] = []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        pass

    async def send(self, topic: str, *records: tuple[str, bytes]) -> None:
        raise NotImplementedError

    async def _fetch(self, seconds: float) -> list[tuple[str, bytes]]:
        """The egress records that arrive within ``seconds``."""
        raise NotImplementedError

    async def read(self, seconds: float) -> None:
        """Read the egress for ``seconds``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            fetched = await self._fetch(min(left, 0.2))
            self.seen.extend((key, json.loads(value)) for key, value in fetched)

    def kept(self) -> list[tuple[str, Any]]:
        return [(key, value) for key, value in self.seen if not key.startswith(self.ignored)]

    async def wait_for(self, count: int, timeout: float = 60) -> None:
        """Read until ``count`` kept records arrived in all; fail after ``timeout`` seconds."""
        await self.until(lambda: len(self.kept()) >= count, f"{count} records on {self.egress}", timeout)

    async def wait_for_keys(self, keys: set[str], timeout: float = 60) -> None:
        """Read until a record of each key arrived (kept or not)."""
        await self.until(lambda: {key for key, _ in self.seen} >= keys, f"records of {sorted(keys)}", timeout)

    async def until(self, condition: Callable[[], bool], what: str, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if loop.time() > deadline:
                raise AssertionError(f"no {what} after {timeout:g} s; read so far: {self.seen}")
            await self.read(0.2)

    async def warm_up(self, topic: str, probe: Callable[[int], tuple[str, bytes]], prefix: str) -> None:
        """For ``startupPosition: latest``: send probes until one comes out, so the ingress reads from here on.

        Probe ``n`` is ``probe(n)``; its egress record's key starts with ``prefix`` (one of ``ignored``).
        """
        for n in range(40):
            await self.send(topic, probe(n))
            try:
                await self.until(lambda: any(key.startswith(prefix) for key, _ in self.seen), "warm-up", 3)
                return
            except AssertionError:
                continue
        raise AssertionError(f"none of 40 probes on {topic!r} came out: the ingress never read the topic")

    def by_key(self, normalize: Callable[[Any], Any] = lambda value: value) -> Records:
        """The kept records per key, in the order they arrived, each value normalized."""
        found: Records = {}
        for key, value in self.kept():
            found.setdefault(key, []).append(normalize(value))
        return found


class KafkaWire(Wire):
    """Kafka: an idempotent producer, and a read_committed reader of the egress topic from its current end."""

    def __init__(self, bootstrap: str, egress_topic: str, ignored: tuple[str, ...] = ()) -> None:
        super().__init__(egress_topic, ignored)
        self.bootstrap = bootstrap

    async def __aenter__(self) -> KafkaWire:
        bootstrap = self.bootstrap  # the clients are made here: aiokafka binds them to the running loop
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
        )
        await self.producer.start()
        await self.consumer.start()
        partitions = self.consumer.partitions_for_topic(self.egress)
        if not partitions:
            await self.consumer._client.force_metadata_update()  # aiokafka has no public refresh
            partitions = self.consumer.partitions_for_topic(self.egress)
        assert partitions, f"no Kafka topic {self.egress!r} on {self.bootstrap}"
        self.consumer.assign([TopicPartition(self.egress, p) for p in sorted(partitions)])
        await self.consumer.seek_to_end()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()
        await self.producer.stop()

    async def send(self, topic: str, *records: tuple[str, bytes]) -> None:
        for key, value in records:
            await self.producer.send_and_wait(topic, value, key=key.encode("utf-8"))

    async def _fetch(self, seconds: float) -> list[tuple[str, bytes]]:
        batches = await self.consumer.getmany(timeout_ms=max(1, int(seconds * 1000)))
        return [(record.key.decode("utf-8"), record.value) for batch in batches.values() for record in batch]
