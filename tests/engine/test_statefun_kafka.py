"""StateFun 3.3.0 calls a function served by ``statefun-faas serve``: Kafka in, state per key, Kafka out.

The first test runs on both runtime forms (``[harness]``: one JVM; ``[standalone]``: Flink standalone
as the image runs it). module.yaml is written by ``statefun-faas module`` for the loopback URL.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.engine import processes
from tests.engine.conftest import Launcher, Serve
from tests.engine.counters import EGRESS, TEXT_TYPE, egress_value
from tests.engine.kafka import KafkaBroker, by_key
from tests.engine.serving import TOKEN, kafka_egress, kafka_ingress, write_module

pytestmark = pytest.mark.engine

COUNTERS = "tests/engine/counters.py"


def expected_by_key(sent: list[tuple[str, str]], prefix: str = "") -> dict[str | None, list[str]]:
    counts: dict[str, int] = {}
    expected: dict[str | None, list[str]] = {}
    for key, text in sent:
        counts[key] = counts.get(key, 0) + 1
        expected.setdefault(key, []).append(egress_value(key, counts[key], text, prefix))
    return expected


def test_kafka_ingress_to_a_counter_per_key_to_kafka_egress(
    statefun: Launcher, function_server: Serve, kafka_broker: KafkaBroker, tmp_path: Path
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


def test_dynamic_registration_a_function_deployed_while_the_job_runs_is_called_through_the_template(
    statefun_standalone: Launcher,
    function_server: Serve,
    kafka_broker: KafkaBroker,
    tmp_path: Path,
) -> None:
    """Issue item 4: ``engine/*`` routes a function type the job never saw to the endpoint, no restart."""
    counted, late, sink = "dynamic-counter-in", "dynamic-late-in", "dynamic-out"
    kafka_broker.create_topics(counted, late, sink)
    server = function_server(COUNTERS, {"ENGINE_OUT_TOPIC": sink})  # serves engine/counter only
    topics = {counted: (TEXT_TYPE, ["engine/counter"]), late: (TEXT_TYPE, ["engine/late"])}
    io = [kafka_ingress("engine/in", kafka_broker.bootstrap, topics), kafka_egress(EGRESS, kafka_broker.bootstrap)]
    runtime = statefun_standalone(write_module(tmp_path / "module.yaml", server.url, "engine/*", io))
    kafka_broker.produce(counted, [("ann", "before")])
    assert [r.value for r in kafka_broker.consume(sink, count=1)] == [b"ann:1:before"]

    server.start(f"{COUNTERS}:with_late", {"ENGINE_OUT_TOPIC": sink})  # a new deployment, same URL
    kafka_broker.produce(late, [("bea", "new")])
    kafka_broker.produce(counted, [("ann", "after")])
    records = kafka_broker.consume(sink, count=3)
    assert by_key(records) == {"ann": ["ann:1:before", "ann:2:after"], "bea": ["late:bea:1:new"]}
    assert runtime.failures() == []
    assert runtime.rest.running_job() == runtime.job  # the same job, never restarted
    assert {c["typename"] for c in server.requests()} == {"engine/counter", "engine/late"}


def test_batches_a_slow_function_gets_up_to_max_batch_invocations_per_request(
    statefun_harness: Launcher,
    function_server: Serve,
    kafka_broker: KafkaBroker,
    tmp_path: Path,
) -> None:
    """Issue item 6: while a call is in flight StateFun queues the id's messages and sends them in one request,
    at most ``maxNumBatchRequests`` of them; our handler applies each in order."""
    source, sink = "batches-in", "batches-out"
    kafka_broker.create_topics(source, sink)
    server = function_server(COUNTERS, {"ENGINE_OUT_TOPIC": sink, "ENGINE_DELAY_SECONDS": "0.2"})
    io = [
        kafka_ingress("engine/in", kafka_broker.bootstrap, {source: (TEXT_TYPE, ["engine/counter"])}),
        kafka_egress(EGRESS, kafka_broker.bootstrap),
    ]
    module = write_module(tmp_path / "module.yaml", server.url, "engine/*", io, TOKEN, "--max-batch", "4")
    runtime = statefun_harness(module)
    sent = [(key, f"m{n}") for n in range(12) for key in ("x", "y")]
    kafka_broker.produce(source, sent)
    records = kafka_broker.consume(sink, count=len(sent))
    assert by_key(records) == expected_by_key(sent)
    sizes = [c["batch"] for c in server.requests()]
    print(f"batch sizes: {sizes}")
    assert max(sizes) == 4, sizes  # queued messages went in batches, none beyond maxNumBatchRequests
    assert runtime.failures() == []
