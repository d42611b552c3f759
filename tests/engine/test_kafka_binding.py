"""The local runtime's Kafka binding (aiokafka) against a real Kafka broker: where a first start reads
from, restarts resuming from the positions kept in SQLite, egress records as the broker stores them,
partitions added to a topic, consumer group offsets, and a broker that goes away and comes back.

The runtime runs in-process on its own event loop (``asyncio.run``); the broker's blocking helpers
(``produce``, ``consume``, ``create_topics``, ``stop``, ``start``) run in a worker thread meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions

from statefun_faas import Context, Message, StatefulFunctions, kafka_egress_message
from statefun_faas.runtime import kafka
from tests.engine.kafka import KafkaBroker, Record
from tests.runtime.processes import free_port
from tests.runtime.servers import put, running, take

pytestmark = pytest.mark.engine

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


def test_records_reach_the_functions_and_egress_records_are_stored_as_made(
    kafka_broker: KafkaBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Keys become function ids, order per key holds across two partitions, each egress record lands in the
    topic it names with its key (none for a record made without one), and the group's offsets are committed."""
    caplog.set_level(logging.INFO, "statefun_faas.runtime")
    names = Names.fresh()
    kafka_broker.create_topics(names.source, names.results, partitions=2)

    async def go() -> tuple[list[Record], dict[int, int]]:
        await produce(
            kafka_broker, names.source, ("ann", "hello"), ("bob", "hi"), ("ann", "again"), ("anonymous", "psst")
        )
        async with running(tmp_path, module(kafka_broker.bootstrap, names), shouting(names.results)):
            found = await consume(kafka_broker, names.results, 4)
            while sum((offsets := await committed(kafka_broker, names.group)).values()) < 4:
                await asyncio.sleep(0.1)
        return found, offsets

    found, offsets = asyncio.run(go())
    assert sorted(pairs(found), key=str) == sorted(
        [("ann", "ann:hello"), ("ann", "ann:again"), ("bob", "bob:hi"), (None, "anonymous:psst")], key=str
    )
    assert [r.value for r in found if r.key == "ann"] == [b"ann:hello", b"ann:again"]
    assert len({r.partition for r in found if r.key == "ann"}) == 1
    assert {r.topic for r in found} == {names.results}
    assert sum(offsets.values()) == 4  # both partitions, up to their ends
    assert f"Kafka ingress test/in: broker {kafka_broker.bootstrap} reachable" in caplog.text
    assert f"Kafka egress test/out: broker {kafka_broker.bootstrap} reachable" in caplog.text


@pytest.mark.parametrize(
    ("start", "extra", "expected"),
    [
        ("{type: earliest}", "", ["a", "b", "c"]),
        ("{type: latest}", "", []),
        ("{type: group-offsets}", "", ["b", "c"]),  # the group committed offset 1
        ('{type: specific-offsets, offsets: [{"<source>/0": 2}]}', "", ["c"]),
        ('{type: date, date: "2000-01-01 00:00:00.000 +0000"}', "", ["a", "b", "c"]),
        ("{type: date, date: <between b and c>}", "", ["c"]),
        ('{type: date, date: "2999-01-01 00:00:00.000 +0000"}', "", []),
        ("{type: group-offsets}", "autoOffsetResetPosition: earliest", ["a", "b", "c"]),  # no committed offset
        ("{type: group-offsets}", "", []),  # no committed offset: autoOffsetResetPosition's default, latest
    ],
    ids=[
        "earliest",
        "latest",
        "group-offsets",
        "specific-offsets",
        "date-before-all",
        "date-between",
        "date-after-all",
        "no-group-offset-reset-earliest",
        "no-group-offset-reset-latest",
    ],
)
def test_startup_positions(
    kafka_broker: KafkaBroker, tmp_path: Path, start: str, extra: str, expected: list[str]
) -> None:
    """Where a first start reads from; the record written after the start comes last, so whatever was read
    before it is all there is."""
    names = Names.fresh()
    kafka_broker.create_topics(names.source, names.results)
    with_group_offset = start == "{type: group-offsets}" and expected == ["b", "c"]

    async def go() -> list[str | None]:
        await produce(kafka_broker, names.source, ("a", "0"), ("b", "1"))
        await asyncio.sleep(0.05)
        between = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " +0000"
        await asyncio.sleep(0.05)
        await produce(kafka_broker, names.source, ("c", "2"))
        if with_group_offset:
            await commit(kafka_broker, names.group, names.source, 1)
        startup = start.replace("<source>", names.source).replace("<between b and c>", f'"{between}"')
        text = module(kafka_broker.bootstrap, names, start=startup, ingress_extra=f"  {extra}" if extra else "")
        async with running(tmp_path, text, shouting(names.results)) as runtime:
            await until(lambda: runtime.store.offset(f"kafka:test/in:{names.source}:0") is not None)
            await produce(kafka_broker, names.source, ("z", "after the start"))
            return [r.key for r in await consume(kafka_broker, names.results, len(expected) + 1)]

    assert asyncio.run(go()) == [*expected, "z"]


def test_a_restart_resumes_at_the_positions_kept_in_the_state_folder(kafka_broker: KafkaBroker, tmp_path: Path) -> None:
    """``latest`` at the first start skips what was there; records written while the runtime is down are read
    after its restart (``latest`` is not applied again); nothing read before the restart is read again."""
    names = Names.fresh()
    kafka_broker.create_topics(names.source, names.results)
    source = f"kafka:test/in:{names.source}:0"

    async def go() -> tuple[list[Record], int, int, str | None, dict[int, int]]:
        await produce(kafka_broker, names.source, ("old", "before the first start"))
        text = module(kafka_broker.bootstrap, names, start="{type: latest}")
        async with running(tmp_path, text, shouting(names.results)) as first:
            await until(lambda: first.store.offset(source) is not None)
            await produce(kafka_broker, names.source, ("ann", "one"))
            await consume(kafka_broker, names.results, 1, settle=0)
            first_messages = first.router.counters.messages
        await produce(kafka_broker, names.source, ("bob", "two"), ("cy", "three"))
        async with running(tmp_path, text, shouting(names.results)) as second:
            found = await consume(kafka_broker, names.results, 3)
            await until(lambda: second.store.offset(source) == "4")
            kept = second.store.offset(source)
            offsets = await committed(kafka_broker, names.group)
            return found, first_messages, second.router.counters.messages, kept, offsets

    found, first_messages, second_messages, kept, offsets = asyncio.run(go())
    assert pairs(found) == [("ann", "ann:one"), ("bob", "bob:two"), ("cy", "cy:three")]
    assert (first_messages, second_messages) == (1, 2)
    assert kept == "4"
    assert offsets == {0: 4}


def test_a_record_without_a_key_is_skipped_and_said_so(
    kafka_broker: KafkaBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "statefun_faas.runtime")
    names = Names.fresh()
    kafka_broker.create_topics(names.source, names.results)

    async def go() -> list[Record]:
        await produce(kafka_broker, names.source, (None, "no id"), ("ann", "hello"))
        async with running(tmp_path, module(kafka_broker.bootstrap, names), shouting(names.results)):
            return await consume(kafka_broker, names.results, 1)

    assert pairs(asyncio.run(go())) == [("ann", "ann:hello")]
    assert f"ingress test/in: record {names.source}/0@0 skipped: its key (the function id) is missing" in caplog.text


def test_partitions_added_while_running_or_down_are_read_from_their_first_record(
    kafka_broker: KafkaBroker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``latest`` applies to the first start only: a partition added later (while running, or while down) is
    read from its first record, so what was written to it before the runtime saw it is not skipped."""
    monkeypatch.setattr(kafka, "DISCOVER_S", 0.2)
    names = Names.fresh()
    kafka_broker.create_topics(names.source, names.results)

    async def go() -> tuple[list[Record], list[Record]]:
        text = module(kafka_broker.bootstrap, names, start="{type: latest}")
        async with running(tmp_path, text, shouting(names.results)) as runtime:
            await until(lambda: runtime.store.offset(f"kafka:test/in:{names.source}:0") is not None)
            await grow(kafka_broker, names.source, 2)
            await produce(kafka_broker, names.source, ("ann", "one"), partition=1)
            while_running = await consume(kafka_broker, names.results, 1)
        await grow(kafka_broker, names.source, 3)
        await produce(kafka_broker, names.source, ("bob", "two"), partition=2)
        async with running(tmp_path, text, shouting(names.results)):
            return while_running, await consume(kafka_broker, names.results, 2)

    while_running, after_restart = asyncio.run(go())
    assert pairs(while_running) == [("ann", "ann:one")]
    assert pairs(after_restart) == [("ann", "ann:one"), ("bob", "bob:two")]


def test_a_broker_that_goes_away_and_comes_back_loses_nothing(
    fresh_kafka_broker: KafkaBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Egress records made while the broker is down wait in the store and reach it once it is back; the
    consumer reads on from where it was; aiokafka's reconnect errors are logged once each, not dozens a second."""
    caplog.set_level(logging.WARNING, "statefun_faas.runtime")
    monkeypatch.setattr(kafka, "LAST_RETRY_S", 1.0)  # the broker's restart takes seconds: retry often meanwhile
    broker, names = fresh_kafka_broker, Names.fresh()
    broker.create_topics(names.source, names.results)
    text = module(broker.bootstrap, names, egress_properties="[request.timeout.ms: 1000]") + PLAYGROUND_INGRESS

    async def go() -> tuple[list[Record], int]:
        async with running(tmp_path, text, shouting(names.results)) as runtime, aiohttp.ClientSession() as session:
            await produce(broker, names.source, ("ann", "before"))
            await consume(broker, names.results, 1, settle=0)
            await asyncio.to_thread(broker.stop)
            assert await put(session, runtime.ports["ingress"], "test/shout/dan", "while away") == 200
            await until(lambda: "egress test/out: Kafka at" in caplog.text, timeout=60)
            waiting = len(runtime.store.peek_egress("test/out", 10))
            await asyncio.to_thread(broker.start)
            await produce(broker, names.source, ("eve", "after"))
            return await consume(broker, names.results, 3, settle=2.0), waiting

    found, waiting = asyncio.run(go())
    assert pairs(found) == [("ann", "ann:before"), ("dan", "dan:while away"), ("eve", "eve:after")]
    assert waiting == 1
    chatter = [(r.name, r.msg) for r in caplog.records if r.name.startswith("aiokafka")]
    assert len(chatter) == len(set(chatter))


def test_records_stored_on_local_topics_reach_the_broker_of_the_next_run(
    kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    """What a run bound to local topics (``--local-io``) left undelivered, the next run, bound to the broker,
    sends as it was made (key included)."""
    names = Names.fresh()
    kafka_broker.create_topics(names.source, names.results)

    async def go() -> list[Record]:
        text = module(kafka_broker.bootstrap, names)
        local = {"local_io": True, "local_io_port": 0}
        async with (
            running(tmp_path, text, shouting(names.results), **local) as runtime,
            aiohttp.ClientSession() as session,
        ):
            port = runtime.ports["local-io"]
            async with session.post(f"http://127.0.0.1:{port}/{names.source}/ann", data=b"hello") as answer:
                assert answer.status == 200
            await until(lambda: bool(runtime.store.peek_egress("test/out", 1)))
        async with running(tmp_path, text, shouting(names.results)):
            return await consume(kafka_broker, names.results, 1)

    assert pairs(asyncio.run(go())) == [("ann", "ann:hello")]


def test_records_the_broker_did_not_take_read_as_values_on_the_local_topics_of_the_next_run(
    kafka_broker: KafkaBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A record the broker did not take (its topic does not exist there, and topics are not created on
    demand) stays in the store; the next run, with no broker, serves the topic locally and reads it back as
    its value."""
    caplog.set_level(logging.WARNING, "statefun_faas.runtime")
    names = Names.fresh()
    kafka_broker.create_topics(names.source)  # not names.results

    async def go() -> list[str]:
        text = module("{address}", names, egress_properties="[request.timeout.ms: 1000]") + PLAYGROUND_INGRESS
        async with (
            running(tmp_path, text.replace("{address}", kafka_broker.bootstrap), shouting(names.results)) as runtime,
            aiohttp.ClientSession() as session,
        ):
            assert await put(session, runtime.ports["ingress"], "test/shout/dan", "never taken") == 200
            await until(lambda: "egress test/out: Kafka at" in caplog.text)
            assert len(runtime.store.peek_egress("test/out", 10)) == 1
        unreachable = text.replace("{address}", f"127.0.0.1:{free_port()}")
        async with (
            running(tmp_path, unreachable, shouting(names.results), local_io_port=0) as runtime,
            aiohttp.ClientSession() as session,
        ):
            return await take(session, runtime.ports["local-io"], names.results, 1)

    assert asyncio.run(go()) == ["dan:never taken"]


def test_a_group_commit_refused_by_the_broker_is_logged_and_reading_goes_on(
    kafka_broker: KafkaBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """While another consumer is an active member of the same group, the broker refuses the binding's
    commits (it is no member); positions are kept in the state folder all the same and records flow."""
    caplog.set_level(logging.WARNING, "statefun_faas.runtime")
    names = Names.fresh()
    kafka_broker.create_topics(names.source, names.results)

    async def go() -> tuple[list[Record], str | None]:
        member = AIOKafkaConsumer(names.results, bootstrap_servers=kafka_broker.bootstrap, group_id=names.group)
        await member.start()
        try:
            await until(lambda: bool(member.assignment()))
            await produce(kafka_broker, names.source, ("ann", "one"), ("bob", "two"))
            async with running(tmp_path, module(kafka_broker.bootstrap, names), shouting(names.results)) as runtime:
                found = await consume(kafka_broker, names.results, 2)
                await until(lambda: "committing positions to the consumer group failed" in caplog.text)
                return found, runtime.store.offset(f"kafka:test/in:{names.source}:0")
        finally:
            await member.stop()

    found, kept = asyncio.run(go())
    assert pairs(found) == [("ann", "ann:one"), ("bob", "bob:two")]
    assert kept == "2"
