"""The Java SDK (statefun-sdk-java 3.3.0) and statefun-faas take over each other's state and message each other.

``interop/keeper`` runs in Python (``statefun-faas serve``), then in our Java SDK server behind the
same URL, then in Python again, and so on (interop.py's steps); each time the new implementation
must read exactly what the old one wrote: an int, a string, a JSON type, a protobuf type, and two
expiring states (gone once they expired). Meanwhile each keeper sends typed messages to the other
language's ``interop/peer-*``, which must decode them. Behind Apache Flink StateFun 3.3.0 (both
forms, Kafka in and out) and behind our local runtime (``statefun-faas run``, its local topics).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.engine.conftest import Launcher, Serve
from tests.engine.interop import INGRESS_ID, Switch, java_server, switch, takeover
from tests.engine.interop_functions import COMMAND_TYPENAME, EGRESS, KEEPER
from tests.engine.kafka import KafkaBroker
from tests.engine.serving import TOKEN, kafka_egress, kafka_ingress, write_module
from tests.runtime.processes import RuntimeProcess, put, take

pytestmark = pytest.mark.engine

PYTHON_FUNCTIONS = "tests/engine/interop_functions.py"
NO_BROKER = "127.0.0.1:9"  # nothing listens: --local-io binds the Kafka kinds to local topics anyway


def module(path: Path, url: str, broker: str, in_topic: str) -> Path:
    """module.yaml: ``interop/*`` at ``url`` (as ``statefun-faas module`` writes it), Kafka in and out."""
    io = [
        kafka_ingress(INGRESS_ID, broker, {in_topic: (COMMAND_TYPENAME, [KEEPER])}),
        kafka_egress(EGRESS, broker, exactly_once=False),
    ]
    return write_module(path, url, "interop/*", io, TOKEN)


@dataclass
class KafkaExchange:
    broker: KafkaBroker
    in_topic: str
    out_topic: str
    read: int = 0

    def send(self, key: str, value: bytes) -> None:
        self.broker.produce(self.in_topic, [(key, value)])

    def receive(self, count: int) -> list[dict[str, Any]]:
        records = self.broker.consume(self.out_topic, self.read + count, settle=0)
        assert len(records) >= self.read + count, f"{len(records) - self.read} of {count} records arrived"
        found = [json.loads(record.value) for record in records[self.read : self.read + count]]
        self.read += count
        return found


@dataclass
class LocalExchange:
    port: int
    in_topic: str
    out_topic: str
    log: Path
    taken: list[str] = field(default_factory=list)

    def send(self, key: str, value: bytes) -> None:
        assert put(self.port, f"{self.in_topic}/{key}", value), self.log.read_text()

    def receive(self, count: int) -> list[dict[str, Any]]:
        found = take(self.port, self.out_topic, count)
        assert len(found) == count, f"{len(found)} of {count} records arrived:\n{self.log.read_text()[-3000:]}"
        return [json.loads(value) for value in found]


def test_java_and_python_take_over_each_others_state_behind_statefun(
    statefun: Launcher, function_server: Serve, kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    in_topic, out_topic = f"interop-java-in-{statefun.form}", f"interop-java-out-{statefun.form}"
    kafka_broker.create_topics(in_topic, out_topic)
    python = function_server(PYTHON_FUNCTIONS, {"INTEROP_OUT_TOPIC": out_topic})
    with java_server(tmp_path, out_topic) as java, switch({"python": python.url, "java": java.url}) as (url, front):
        runtime = statefun(module(tmp_path / "module.yaml", url, kafka_broker.bootstrap, in_topic))
        takeover(KafkaExchange(kafka_broker, in_topic, out_topic), front, "java")
        assert runtime.failures() == []
    _check_calls(front)


def test_java_and_python_take_over_each_others_state_behind_the_local_runtime(
    function_server: Serve, tmp_path: Path
) -> None:
    in_topic, out_topic = "interop-java-in-local", "interop-java-out-local"
    python = function_server(PYTHON_FUNCTIONS, {"INTEROP_OUT_TOPIC": out_topic})
    with java_server(tmp_path, out_topic) as java, switch({"python": python.url, "java": java.url}) as (url, front):
        path = module(tmp_path / "module.yaml", url, NO_BROKER, in_topic)
        log = tmp_path / "runtime.log"
        options = ["--module", str(path), "--state", str(tmp_path / "state"), "--local-io", "--local-io-port", "0"]
        runtime = RuntimeProcess.start(log, "run", *options)
        try:
            takeover(LocalExchange(runtime.ports["egress"], in_topic, out_topic, log), front, "java")
        finally:
            assert runtime.stop() == 0, log.read_text()
    _check_calls(front)


def _check_calls(front: Switch) -> None:
    """Every call the runtime made was answered 200, and each server served its functions."""
    assert {status for _, _, status in front.calls} == {200}, front.calls
    assert {(name, server) for name, server, _ in front.calls} == {
        ("keeper", "python"),
        ("keeper", "java"),
        ("peer-python", "python"),
        ("peer-java", "java"),
    }
