"""The local runtime's Kafka binding against a real Kafka broker that goes away and comes back, refuses a
group's commits or does not take a record, and across runs bound to local topics and to the broker.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer

from statefun_faas.runtime.io import kafka
from tests.engine.kafka import KafkaBroker, Record
from tests.engine.kafka_binding import (
    PLAYGROUND_INGRESS,
    Names,
    consume,
    module,
    pairs,
    produce,
    shouting,
    until,
)
from tests.runtime.processes import free_port
from tests.runtime.servers import put, running, take

pytestmark = pytest.mark.engine


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
