"""The Java SDK (statefun-sdk-java 3.3.0) and the Go SDK (statefun-sdk-go/v3 3.3.0) take over statefun-faas's
state and back, and message statefun-faas functions.

``interop/keeper`` runs in our server on the other SDK, then in Python (``statefun-faas serve``)
behind the same URL, then in the other SDK again, and so on (interop.py's steps); each time the
new implementation must read exactly what the old one wrote: an int, a string, a JSON type, a protobuf
type, and two expiring states (gone once they expired). Meanwhile each keeper sends typed messages
to the other language's ``interop/peer-*``, which must decode them. Behind Apache Flink StateFun
3.3.0 (both forms, Kafka in and out) and behind our local runtime (``statefun-faas run``, its
local topics), where the states the other SDK registered must be those Python declares.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.engine.conftest import Launcher, Serve
from tests.engine.interop import (
    KafkaExchange,
    SdkServer,
    check_calls,
    go_server,
    java_server,
    local_runtime,
    module,
    python_specs,
    registered_specs,
    switch,
    takeover,
)
from tests.engine.kafka import KafkaBroker

pytestmark = pytest.mark.engine

PYTHON_FUNCTIONS = "tests/engine/interop_functions.py"
SERVERS: dict[str, Callable[[Path, str], AbstractContextManager[SdkServer]]] = {"java": java_server, "go": go_server}


@pytest.mark.parametrize("sdk", SERVERS)
def test_the_sdk_and_python_take_over_each_others_state_behind_statefun(
    sdk: str, statefun: Launcher, function_server: Serve, kafka_broker: KafkaBroker, tmp_path: Path
) -> None:
    in_topic, out_topic = f"interop-{sdk}-in-{statefun.form}", f"interop-{sdk}-out-{statefun.form}"
    kafka_broker.create_topics(in_topic, out_topic)
    python = function_server(PYTHON_FUNCTIONS, {"INTEROP_OUT_TOPIC": out_topic})
    with SERVERS[sdk](tmp_path, out_topic) as other, switch({"python": python.url, sdk: other.url}) as (url, front):
        runtime = statefun(module(tmp_path / "module.yaml", url, kafka_broker.bootstrap, in_topic))
        takeover(KafkaExchange(kafka_broker, in_topic, out_topic), front, sdk)
        assert runtime.failures() == []
    check_calls(front, sdk)


@pytest.mark.parametrize("sdk", SERVERS)
def test_the_sdk_and_python_take_over_each_others_state_behind_the_local_runtime(
    sdk: str, function_server: Serve, tmp_path: Path
) -> None:
    in_topic, out_topic = f"interop-{sdk}-in-local", f"interop-{sdk}-out-local"
    python = function_server(PYTHON_FUNCTIONS, {"INTEROP_OUT_TOPIC": out_topic})
    with (
        SERVERS[sdk](tmp_path, out_topic) as other,
        switch({"python": python.url, sdk: other.url}) as (url, front),
        local_runtime(tmp_path, url, in_topic, out_topic) as exchange,
    ):
        takeover(exchange, front, sdk)
    check_calls(front, sdk)
    assert registered_specs(tmp_path / "state") == python_specs()
