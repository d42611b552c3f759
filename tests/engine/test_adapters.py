"""Every adapter as the endpoint Apache Flink StateFun 3.3.0 calls (issue item 2).

One harness job routes to every front of fronts.py at once: its module.yaml holds one endpoint
per (adapter, credential form), each exactly as ``statefun-faas module`` writes it
(``{function.name}`` templates with ``?token=`` or ``/t/<token>/``; Azure's ``?code=``, alone and
with ``?token=``), then a Kafka ingress and egress on a real broker. Kafka in, a counter keeping
state per id on the adapter, Kafka out: the egress records per key must be exactly the expected
ones, in order. The Lambda and Azure fronts record the requests as StateFun sent them. The
Function URL front (the most between StateFun and a handler) also runs on the standalone form.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.engine.conftest import Launcher
from tests.engine.fronts import Deployment, deployment, front_door_targets
from tests.engine.functions import expected, in_topic, namespaces, out_topic
from tests.engine.kafka import KafkaBroker
from tests.engine.statefun import StateFunRuntime

pytestmark = pytest.mark.engine

KEYS = ("ada", "bob", "cy")
TEXTS = ("one", "two", "three")


@dataclass(frozen=True)
class Job:
    deployed: Deployment
    runtime: StateFunRuntime


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory, kafka_broker: KafkaBroker) -> Iterator[Job]:
    """Every front, and one StateFun harness job calling them all."""
    folder = tmp_path_factory.mktemp("adapters")
    with deployment(folder, kafka_broker.bootstrap) as deployed:
        kafka_broker.create_topics(*_topics(deployed))
        launcher = Launcher("harness", folder)
        try:
            yield Job(deployed, launcher(deployed.module))
        finally:
            launcher.stop()


def _topics(deployed: Deployment) -> list[str]:
    return [topic for space in deployed.namespaces for topic in (in_topic(space), out_topic(space))]


@pytest.mark.parametrize("space", namespaces())
def test_statefun_calls_each_adapter_kafka_in_state_kafka_out(job: Job, kafka_broker: KafkaBroker, space: str) -> None:
    kafka_broker.produce(in_topic(space), [(key, text.encode("utf-8")) for text in TEXTS for key in KEYS])
    records = kafka_broker.consume(out_topic(space), count=len(KEYS) * len(TEXTS))
    for key in KEYS:  # consume() reads a second beyond the count, so a surplus record would show here
        assert [r.value.decode("utf-8") for r in records if r.key == key] == expected(space, key, TEXTS)
    assert job.runtime.failures() == []


@pytest.mark.parametrize("front", ["lambda", "azure"])
def test_what_statefun_sends_to_the_front_doors(job: Job, kafka_broker: KafkaBroker, front: str) -> None:
    """The URL StateFun calls: ``{function.name}`` replaced, every credential kept where the template has it."""
    spaces = [space for space in job.deployed.namespaces if space.startswith(f"{front}-")]
    before = {space: len(kafka_broker.consume(out_topic(space), count=0)) for space in spaces}
    for space in spaces:
        kafka_broker.produce(in_topic(space), [("door", b"knock")])
    for space in spaces:
        records = kafka_broker.consume(out_topic(space), count=before[space] + 1)
        assert [r.value.decode("utf-8") for r in records if r.key == "door"] == expected(space, "door", ["knock"])
    (received,) = [f.received for f in job.deployed.fronts if f.name == front]
    assert received
    assert {request.target for request in received} == front_door_targets(front, job.deployed.credentials)
    print(f"{front}: {received[0].method} {received[0].target} {received[0].headers}")
    # What StateFun 3.3.0's async transport sent: no header of the module's making, a body of known length.
    assert {request.method for request in received} == {"POST"}
    assert {request.header("content-type") for request in received} == {"application/octet-stream"}
    assert {request.header("accept") for request in received} == {"application/octet-stream"}
    assert {request.header("user-agent") for request in received} == {"statefun"}
    assert all(request.header("content-length") == str(len(request.body)) for request in received)
    assert all(request.header("transfer-encoding") is None for request in received)


def test_the_standalone_form_calls_the_function_url_front_in_both_token_forms(
    statefun_standalone: Launcher, fresh_kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    """Kafka in, state, Kafka out through Flink standalone as the image runs it, for the front with the
    most between StateFun and the handler: a Function URL event through awslambdaric."""
    with deployment(tmp_path, fresh_kafka_broker.bootstrap, ["lambda"]) as deployed:
        fresh_kafka_broker.create_topics(*_topics(deployed))
        runtime = statefun_standalone(deployed.module)
        for space in deployed.namespaces:
            fresh_kafka_broker.produce(in_topic(space), [(key, text) for text in TEXTS for key in KEYS])
        for space in deployed.namespaces:
            records = fresh_kafka_broker.consume(out_topic(space), count=len(KEYS) * len(TEXTS))
            for key in KEYS:
                assert [r.value.decode("utf-8") for r in records if r.key == key] == expected(space, key, TEXTS)
        assert runtime.failures() == []
        (front,) = deployed.fronts
        targets = {request.target for request in front.received or []}
        assert targets == front_door_targets("lambda", deployed.credentials)
