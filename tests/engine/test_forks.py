"""What the Flink 2.x forks of StateFun add, met by Apache Flink StateFun 3.3.0 and statefun-faas.

The forks themselves do not run here: neither io.github.kzmlabs.flinkstatefun nor com.sbbsystems.flink
is served by Maven Central as this project's machines and CI reach it (docs/compatibility.md says how
that was checked, and what a run against them needs). What can run is the other side of what they
add, on StateFun 3.3.0 (the harness form) calling ``statefun-faas serve`` (tests/engine/fork_functions.py):

- module.yaml written by ``statefun-faas module --failure-mode FAIL`` (the com.sbbsystems.flink fork's
  per-endpoint key), its Kafka ingress saying ``forwardHeaders: true`` (the io.github.kzmlabs.flinkstatefun
  fork's), runs: StateFun 3.3.0 ignores both keys;
- a TypedValue field that StateFun 3.3.0 and our SDK do not know (where io.github.kzmlabs.flinkstatefun
  carries Kafka headers: its TypedValue metadata) goes from one function through StateFun to the next,
  and on through our SDK to a third when that one forwards the value, byte for byte;
- a KafkaProducerRecord carrying that fork's headers (field 4) goes out through StateFun 3.3.0's Kafka
  egress: the record is written, without the headers, which 3.3.0 does not know.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.conftest import Launcher, Serve
from tests.engine.counters import TEXT_TYPE
from tests.engine.fork_functions import EGRESS, UNKNOWN
from tests.engine.kafka import KafkaBroker
from tests.engine.serving import TOKEN, kafka_egress, kafka_ingress, write_module

pytestmark = pytest.mark.engine

FUNCTIONS = "tests/engine/fork_functions.py"


def test_what_the_forks_add_passes_statefun_3_3_and_our_sdk(
    statefun_harness: Launcher, function_server: Serve, kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    source, sink = "forks-in", "forks-out"
    kafka_broker.create_topics(source, sink)
    server = function_server(FUNCTIONS, {"FORKS_OUT_TOPIC": sink})
    ingress = kafka_ingress("forks/in", kafka_broker.bootstrap, {source: (TEXT_TYPE, ["forks/origin"])})
    ingress["spec"]["forwardHeaders"] = True  # the kzmlabs fork's key: headers of the record on to the function
    io = [ingress, kafka_egress(EGRESS, kafka_broker.bootstrap)]
    module = write_module(tmp_path / "module.yaml", server.url, "forks/*", io, TOKEN, "--failure-mode", "FAIL")
    assert "failureMode: FAIL" in module.read_text()
    assert "forwardHeaders: true" in module.read_text()  # kept from the base
    runtime = statefun_harness(module)

    kafka_broker.produce(source, [("alice", "hi"), ("bob", "ho")])
    records = kafka_broker.consume(sink, count=2)

    assert sorted(r.value.decode() for r in records) == [f"alice:hi:{UNKNOWN.hex()}", f"bob:ho:{UNKNOWN.hex()}"]
    assert [r.headers for r in records] == [(), ()]  # 3.3.0's KafkaProducerRecord has no field 4
    assert runtime.failures() == []
    calls = server.requests()
    assert {c["typename"] for c in calls} == {"forks/origin", "forks/relay", "forks/report"}
    assert {c["status"] for c in calls} == {200}
