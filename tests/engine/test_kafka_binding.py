"""The local runtime's Kafka binding (aiokafka) against a real Kafka broker: where a first start reads
from, restarts resuming from the positions kept in SQLite, egress records as the broker stores them,
records without a key, partitions added to a topic. Faults: ``test_kafka_binding_faults.py``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from statefun_faas.runtime.io import kafka
from tests.engine.kafka import KafkaBroker, Record
from tests.engine.kafka_binding import (
    Names,
    commit,
    committed,
    consume,
    grow,
    module,
    pairs,
    produce,
    shouting,
    until,
)
from tests.runtime.servers import running

pytestmark = pytest.mark.engine


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
