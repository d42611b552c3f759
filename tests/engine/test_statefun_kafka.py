"""StateFun 3.3.0 calls a function served by ``statefun-faas serve``: Kafka in, state per key, Kafka out.

Each test runs on both runtime forms (``[harness]``: one JVM; ``[standalone]``: Flink standalone
as the image runs it). module.yaml is written by ``statefun-faas module`` for the loopback URL.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.engine import processes
from tests.engine.conftest import Launcher
from tests.engine.counters import EGRESS, TEXT_TYPE, egress_value
from tests.engine.kafka import KafkaBroker, Record
from tests.engine.serving import FunctionServer, kafka_egress, kafka_ingress, write_module

pytestmark = pytest.mark.engine

COUNTERS = "tests/engine/counters.py"


def by_key(records: list[Record]) -> dict[str | None, list[str]]:
    found: dict[str | None, list[str]] = {}
    for record in records:
        found.setdefault(record.key, []).append(record.value.decode("utf-8"))
    return found


def expected_by_key(sent: list[tuple[str, str]], prefix: str = "") -> dict[str | None, list[str]]:
    counts: dict[str, int] = {}
    expected: dict[str | None, list[str]] = {}
    for key, text in sent:
        counts[key] = counts.get(key, 0) + 1
        expected.setdefault(key, []).append(egress_value(key, counts[key], text, prefix))
    return expected


def test_kafka_ingress_to_a_counter_per_key_to_kafka_egress(
    statefun: Launcher, function_server: Callable[..., FunctionServer], kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    source, sink = f"counter-in-{statefun.form}", f"counter-out-{statefun.form}"
    kafka_broker.create_topics(source, sink, partitions=2)
    server = function_server(COUNTERS, {"ENGINE_OUT_TOPIC": sink})
    io = [
        kafka_ingress("engine/in", kafka_broker.bootstrap, {source: (TEXT_TYPE, ["engine/counter"])}),
        kafka_egress(EGRESS, kafka_broker.bootstrap),
    ]
    runtime = statefun(write_module(tmp_path / "module.yaml", server.url, "engine/*", io))

    started = time.monotonic()
    kafka_broker.produce(source, [("alice", "first")])
    assert [r.value for r in kafka_broker.consume(sink, count=1, settle=0)] == [b"alice:1:first"]
    processes.TIMINGS.append(
        (f"StateFun {statefun.form}: first record through (Kafka, function, Kafka)", time.monotonic() - started)
    )

    sent = [("bob", "b1"), ("alice", "a2"), ("carol", "c1"), ("bob", "b2"), ("alice", "a3"), ("bob", "b3")]
    kafka_broker.produce(source, sent)
    records = kafka_broker.consume(sink, count=1 + len(sent))
    assert by_key(records) == expected_by_key([("alice", "first"), *sent])
    assert runtime.failures() == []
    # every call carried one id of the function type; the first call per id came back for its state
    calls = server.requests()
    assert {(c["typename"], c["status"]) for c in calls} == {("engine/counter", 200)}
    assert sum(c["batch"] for c in calls) >= 1 + len(sent)
