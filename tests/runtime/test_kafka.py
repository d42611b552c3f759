"""The Kafka binding (aiokafka) over real TCP on loopback. No real Kafka broker can run on the test
machines, so the broker is the stand-in of tests/runtime/kafka_broker.py (aiokafka's own protocol and
record classes behind a small in-memory server); the runtime, its SQLite store, aiokafka's clients and
the functions are real."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiokafka import AIOKafkaProducer

from statefun_faas import Context, Message, StatefulFunctions, kafka_egress_message
from statefun_faas.runtime import kafka
from tests.runtime.kafka_broker import KafkaBroker
from tests.runtime.processes import free_port
from tests.runtime.servers import put, running, take

functions = StatefulFunctions()


@functions.bind("test/shout")
def shout(context: Context, message: Message) -> None:
    """Writes ``<id>:<value>`` keyed by its id to topic ``results`` of the Kafka egress ``test/out``."""
    text = (message.raw_value() or b"").decode()
    record = kafka_egress_message("test/out", "results", f"{context.address.id}:{text}", key=context.address.id)
    context.send_egress(record)


def module(address: str, start: str = "{type: earliest}", egress_properties: str = "[]", extra: str = "") -> str:
    return f"""
kind: io.statefun.kafka.v1/ingress
spec:
  id: test/in
  address: {address}
  consumerGroupId: shouters
  startupPosition: {start}
  topics:
    - topic: loud
      valueType: test/text
      targets: [test/shout]
---
kind: io.statefun.kafka.v1/egress
spec:
  id: test/out
  address: {address}
  deliverySemantic: {{type: at-least-once}}
  properties: {egress_properties}
{extra}"""


PLAYGROUND_INGRESS = """---
kind: io.statefun.playground.v1/ingress
spec:
  port: 0
"""


@asynccontextmanager
async def broker_with(loud_partitions: int = 1) -> AsyncIterator[KafkaBroker]:
    broker = KafkaBroker()
    broker.create_topic("loud", loud_partitions)
    broker.create_topic("results")
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


async def produce(broker: KafkaBroker, *records: tuple[str | None, str], partition: int | None = None) -> None:
    """Write records to topic ``loud`` through aiokafka's producer, as any Kafka client would."""
    producer = AIOKafkaProducer(bootstrap_servers=broker.address, acks="all")
    await producer.start()
    try:
        for key, value in records:
            encoded = None if key is None else key.encode()
            await producer.send_and_wait("loud", value.encode(), key=encoded, partition=partition)
    finally:
        await producer.stop()


async def results(broker: KafkaBroker, expected: int, timeout: float = 15.0) -> list[tuple[str, str]]:
    """The (key, value) records of topic ``results`` once there are ``expected`` (or the timeout passed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(broker.records("results")) < expected and loop.time() < deadline:
        await asyncio.sleep(0.02)
    return [((r.key or b"").decode(), (r.value or b"").decode()) for r in broker.records("results")]


async def until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check() and loop.time() < deadline:
        await asyncio.sleep(0.02)


def test_records_reach_the_functions_and_egress_reaches_the_broker(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "statefun_faas.runtime")

    async def go() -> tuple[list[tuple[str, str]], dict[tuple[str, str, int], int]]:
        async with broker_with(loud_partitions=2) as broker:
            await produce(broker, ("ann", "hello"), ("bob", "hi"), ("ann", "again"))
            async with running(tmp_path, module(broker.address), functions):
                found = await results(broker, 3)
                await until(lambda: sum(broker.committed.values()) == 3)
            return found, broker.committed

    found, committed = asyncio.run(go())
    assert sorted(found) == [("ann", "ann:again"), ("ann", "ann:hello"), ("bob", "bob:hi")]
    assert [value for key, value in found if key == "ann"] == ["ann:hello", "ann:again"]  # one partition per key
    assert sum(committed.values()) == 3
    assert {group for group, _, _ in committed} == {"shouters"}
    assert "Kafka ingress test/in: broker 127.0.0.1:" in caplog.text
    assert "Kafka egress test/out: broker 127.0.0.1:" in caplog.text


def test_a_restart_resumes_where_the_stored_records_end(tmp_path: Path) -> None:
    """``latest`` at the first start skips what was there; records written while the runtime is down
    are read after its restart; nothing stored before the restart is delivered again."""

    async def go() -> tuple[list[tuple[str, str]], int, int]:
        async with broker_with() as broker:
            await produce(broker, ("old", "before the first start"))
            text = module(broker.address, start="{type: latest}")
            async with running(tmp_path, text, functions) as first:
                await until(lambda: first.store.offset("kafka:test/in:loud:0") is not None)
                await produce(broker, ("ann", "one"))
                await results(broker, 1)
                first_messages = first.router.counters.messages
            await produce(broker, ("bob", "two"), ("cy", "three"))
            async with running(tmp_path, text, functions) as second:
                found = await results(broker, 3)
                await until(lambda: second.store.offset("kafka:test/in:loud:0") == "4")
            return found, first_messages, second.router.counters.messages

    found, first_messages, second_messages = asyncio.run(go())
    assert found == [("ann", "ann:one"), ("bob", "bob:two"), ("cy", "cy:three")]
    assert (first_messages, second_messages) == (1, 2)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("{type: earliest}", ["a", "b", "c"]),
        ("{type: group-offsets}", ["b", "c"]),  # the group committed offset 1
        ('{type: specific-offsets, offsets: [{"loud/0": 2}]}', ["c"]),
        ('{type: date, date: "2000-01-01 00:00:00.000 +0000"}', ["a", "b", "c"]),
        ('{type: date, date: "2999-01-01 00:00:00.000 +0000"}', []),
    ],
)
def test_startup_positions(tmp_path: Path, start: str, expected: list[str]) -> None:
    """Where a first start reads from; the record written after the start comes last, so whatever was
    read before it is all there is."""

    async def go() -> list[str]:
        async with broker_with() as broker:
            await produce(broker, ("a", "0"), ("b", "1"), ("c", "2"))
            broker.committed[("shouters", "loud", 0)] = 1
            async with running(tmp_path, module(broker.address, start=start), functions) as runtime:
                await until(lambda: runtime.store.offset("kafka:test/in:loud:0") is not None)
                await produce(broker, ("z", "after the start"))
                return [key for key, _ in await results(broker, len(expected) + 1)]

    assert asyncio.run(go()) == [*expected, "z"]


def test_a_record_without_a_key_is_skipped_and_said_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "statefun_faas.runtime")

    async def go() -> list[tuple[str, str]]:
        async with broker_with() as broker:
            await produce(broker, (None, "no id"), ("ann", "hello"))
            async with running(tmp_path, module(broker.address), functions):
                return await results(broker, 1)

    assert asyncio.run(go()) == [("ann", "ann:hello")]
    assert "ingress test/in: record loud/0@0 skipped: its key (the function id) is missing" in caplog.text


def test_an_unreachable_broker_falls_back_to_local_topics(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "statefun_faas.runtime")
    address = f"127.0.0.1:{free_port()}"

    async def go() -> list[str]:
        async with (
            running(tmp_path, module(address), functions, local_io_port=0) as runtime,
            aiohttp.ClientSession() as session,
        ):
            port = runtime.ports["local-io"]
            async with session.post(f"http://127.0.0.1:{port}/loud/ann", data=b"hello") as response:
                assert response.status == 200
            return await take(session, port, "results", 1)

    assert asyncio.run(go()) == ["ann:hello"]
    assert f"Kafka ingress test/in on local topics ({address}: " in caplog.text
    assert f"Kafka egress test/out on local topics ({address}: " in caplog.text


def test_local_io_keeps_local_topics_with_a_broker_up(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "statefun_faas.runtime")

    async def go() -> tuple[list[int], dict[str, int]]:
        async with (
            broker_with() as broker,
            running(tmp_path, module(broker.address), functions, local_io=True, local_io_port=0) as runtime,
        ):
            return broker.requests, runtime.ports

    requests, ports = asyncio.run(go())
    assert requests == []
    assert "local-io" in ports
    assert "Kafka ingress test/in on local topics (--local-io)" in caplog.text


def test_a_broker_that_goes_away_and_comes_back_loses_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Egress records made while the broker is gone wait in the store and reach it once it is back;
    the consumer reads on from where it was."""
    caplog.set_level(logging.WARNING, "statefun_faas.runtime")
    text = module("{address}", egress_properties="[request.timeout.ms: 300]", extra=PLAYGROUND_INGRESS)

    async def go() -> list[tuple[str, str]]:
        async with broker_with() as broker:
            module_text = text.replace("{address}", broker.address)
            async with running(tmp_path, module_text, functions) as runtime, aiohttp.ClientSession() as session:
                await produce(broker, ("ann", "before"))
                await results(broker, 1)
                await broker.stop()
                assert await put(session, runtime.ports["ingress"], "test/shout/dan", "while away") == 200
                await until(lambda: "retrying" in caplog.text)
                await broker.start()
                await produce(broker, ("eve", "after"))
                return await results(broker, 3)

    assert asyncio.run(go()) == [("ann", "ann:before"), ("dan", "dan:while away"), ("eve", "eve:after")]
    assert "egress test/out: Kafka at 127.0.0.1:" in caplog.text
    chatter = [(r.name, r.msg) for r in caplog.records if r.name.startswith("aiokafka")]
    assert chatter
    assert len(chatter) == len(set(chatter))  # aiokafka's reconnect errors once each, not dozens a second


def test_records_stored_on_local_topics_reach_the_broker_of_the_next_run(tmp_path: Path) -> None:
    """The egress table keeps whole records, so what a run without a broker stored for a local topic, the next
    run, bound to the broker, sends as it was made (key included); and a jsonl sink shows the record's value."""
    sink = tmp_path / "out.jsonl"

    async def go() -> list[tuple[str, str]]:
        unreachable = module(f"127.0.0.1:{free_port()}")
        options = {"local_io_port": 0, "egress_overrides": [f"test/out=jsonl:{sink}"]}
        async with running(tmp_path, unreachable, functions, **options) as runtime, aiohttp.ClientSession() as session:
            async with session.post(f"http://127.0.0.1:{runtime.ports['local-io']}/loud/ann", data=b"hello") as answer:
                assert answer.status == 200
            await until(lambda: bool(runtime.store.peek_egress("test/out", 1)))
        async with broker_with() as broker, running(tmp_path, module(broker.address), functions):
            return await results(broker, 1)

    assert asyncio.run(go()) == [("ann", "ann:hello")]
    assert json.loads(sink.read_text())["payload"] == "ann:hello"


def test_records_stored_for_a_broker_read_as_values_on_the_local_topics_of_the_next_run(tmp_path: Path) -> None:
    """A record that never reached the broker (it went away) is read back as its value when the next run has
    no broker and serves the topic locally."""
    text = module("{address}", egress_properties="[request.timeout.ms: 300]", extra=PLAYGROUND_INGRESS)

    async def go() -> list[str]:
        async with (
            broker_with() as broker,
            running(tmp_path, text.replace("{address}", broker.address), functions) as runtime,
            aiohttp.ClientSession() as session,
        ):
            await broker.stop()
            assert await put(session, runtime.ports["ingress"], "test/shout/dan", "while away") == 200
            await until(lambda: bool(runtime.store.peek_egress("test/out", 1)))
        unreachable = text.replace("{address}", f"127.0.0.1:{free_port()}")
        async with (
            running(tmp_path, unreachable, functions, local_io_port=0) as runtime,
            aiohttp.ClientSession() as session,
        ):
            return await take(session, runtime.ports["local-io"], "results", 1)

    assert asyncio.run(go()) == ["dan:while away"]


def test_partitions_added_while_running_or_down_are_read_from_their_first_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``latest`` applies to the first start only: a partition added later (while running, or while down) is
    read from its first record, so what was written to it before the runtime saw it is not skipped."""
    monkeypatch.setattr(kafka, "DISCOVER_S", 0.1)

    async def go() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        async with broker_with() as broker:
            text = module(broker.address, start="{type: latest}")
            async with running(tmp_path, text, functions) as runtime:
                await until(lambda: runtime.store.offset("kafka:test/in:loud:0") is not None)
                broker.add_partitions("loud", 2)
                await produce(broker, ("ann", "one"), partition=1)
                while_running = await results(broker, 1)
            broker.add_partitions("loud", 3)
            await produce(broker, ("bob", "two"), partition=2)
            async with running(tmp_path, text, functions):
                return while_running, await results(broker, 2)

    while_running, after_restart = asyncio.run(go())
    assert while_running == [("ann", "ann:one")]
    assert after_restart == [("ann", "ann:one"), ("bob", "bob:two")]
