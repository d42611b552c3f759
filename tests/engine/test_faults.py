"""kill -9 of the taskmanager mid-load on Flink StateFun standalone (application mode, the shipped flink-conf).

A Kafka ingress feeds ``faults/counter`` (tests/engine/fault_functions.py) a few hundred messages
over five keys while the taskmanager is killed with SIGKILL and a new one started; Flink fails the
job over and restores it from its last checkpoint (interval 1 s). Afterwards:

- exactly once in state: each key's counts on the exactly-once egress, read ``read_committed``,
  are 1, 2, ... n with n the messages sent to it: none lost, none applied twice;
- the at-least-once egress of the same function holds the same counts, some of them repeated
  (what the job did between its last checkpoint and the kill, done again): they are counted, and
  there must be some, else the kill did not put exactly-once to the test;
- a delayed message sent before the kill (its ``armed`` event committed, so in a completed
  checkpoint) fires once, no earlier than its delay, after the recovery;
- a value written before the kill with ``expireAfterWrite`` 5 s is gone after the recovery while a
  value without expiry written in the same call is still there.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.engine.conftest import Launcher
from tests.engine.fault_functions import AT_LEAST, COUNTS_ALO, COUNTS_EO, EVENTS, EXACTLY, NOTE_TTL, TEXT_TYPE
from tests.engine.kafka import KafkaBroker, Record
from tests.engine.serving import FunctionServer, kafka_egress, kafka_ingress, write_module
from tests.engine.statefun import StandaloneRuntime

pytestmark = pytest.mark.engine

FEED, ALARM = "faults-in", "faults-alarm"
KEYS = [f"key-{n}" for n in range(5)]
MESSAGES = 300
PER_SECOND = 25
RING_AFTER = 60.0  # seconds: longer than a kill -9 takes to recover from, so it fires after the recovery


class Feeder(threading.Thread):
    """Sends ``MESSAGES`` to ``FEED`` at ``PER_SECOND``, keys in turn, a batch every 0.2 s."""

    def __init__(self, broker: KafkaBroker) -> None:
        super().__init__(daemon=True)
        self.broker, self.sent = broker, 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            batch = PER_SECOND // 5
            for first in range(0, MESSAGES, batch):
                records = [(KEYS[n % len(KEYS)], f"{n}".encode()) for n in range(first, min(first + batch, MESSAGES))]
                self.broker.produce(FEED, records)
                self.sent += len(records)
                time.sleep(0.2)
        except BaseException as error:  # reported by the test
            self.error = error


def counts_by_key(records: list[Record]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for record in records:
        found.setdefault(record.key or "", []).append(int(record.value))
    return found


def events(broker: KafkaBroker, count: int, timeout: float, settle: float = 0) -> list[dict[str, Any]]:
    return [json.loads(record.value) for record in broker.consume(EVENTS, count, timeout=timeout, settle=settle)]


def failures(runtime: StandaloneRuntime) -> list[tuple[float, str]]:
    """When each failure of the job happened (epoch seconds) and its message with its causes, oldest first."""
    entries = runtime.rest.get(f"/jobs/{runtime.job}/exceptions")["exceptionHistory"]["entries"]
    found = []
    for entry in reversed(entries):
        lines = str(entry["stacktrace"]).splitlines()
        causes = [line for line in lines if line.startswith("Caused by")]
        found.append((entry["timestamp"] / 1000, " / ".join(lines[:1] + causes)[:400]))
    return found


def wait_until(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"no {what} after {timeout:g} s"
        time.sleep(0.2)


def test_kill_9_of_the_taskmanager_mid_load_applies_every_message_exactly_once_in_state(
    statefun_standalone: Launcher,
    function_server: Callable[..., FunctionServer],
    kafka_broker: KafkaBroker,
    tmp_path: Path,
) -> None:
    kafka_broker.create_topics(FEED, partitions=2)
    kafka_broker.create_topics(ALARM, COUNTS_EO, COUNTS_ALO, EVENTS)
    server = function_server(str(Path(__file__).with_name("fault_functions.py")))
    bootstrap = kafka_broker.bootstrap
    topics = {FEED: (TEXT_TYPE, ["faults/counter"]), ALARM: (TEXT_TYPE, ["faults/alarm"])}
    io = [
        kafka_ingress("faults/in", bootstrap, topics),
        kafka_egress(EXACTLY, bootstrap, exactly_once=True),
        kafka_egress(AT_LEAST, bootstrap, exactly_once=False),
    ]
    runtime = statefun_standalone(write_module(tmp_path / "module.yaml", server.url, "faults/*", io))
    assert isinstance(runtime, StandaloneRuntime)
    started = time.monotonic()

    kafka_broker.produce(ALARM, [("alarm", f"arm:{RING_AFTER}".encode()), ("alarm", b"report")])
    feeder = Feeder(kafka_broker)
    feeder.start()
    before = events(kafka_broker, 2, timeout=60)  # committed: a checkpoint holds the armed alarm
    assert [e["event"] for e in before] == ["armed", "report"]
    wait_until(lambda: feeder.sent >= MESSAGES // 3, "third of the load sent", 60)
    kafka_broker.consume(COUNTS_EO, count=MESSAGES // 10, timeout=60, settle=0)

    sent_before_kill, killed_at = feeder.sent, time.time()
    runtime.kill_taskmanager()
    runtime.start_taskmanager()
    recovery = runtime.wait_recovered()
    recovered_at = time.time()
    feeder.join(60)
    assert feeder.error is None, feeder.error

    sent = {key: sum(1 for n in range(MESSAGES) if KEYS[n % len(KEYS)] == key) for key in KEYS}
    exactly = counts_by_key(kafka_broker.consume(COUNTS_EO, MESSAGES, timeout=180, settle=3))
    all_counted = time.monotonic() - started
    kafka_broker.produce(ALARM, [("alarm", b"report")])
    timeline = events(kafka_broker, 4, timeout=RING_AFTER + 120, settle=3)
    at_least = counts_by_key(kafka_broker.consume(COUNTS_ALO, MESSAGES, timeout=60, settle=3))

    repeated = {key: sum(n - 1 for n in Counter(values).values()) for key, values in at_least.items()}
    print(
        f"kill -9 after {sent_before_kill} of {MESSAGES} messages sent; job running again {recovery:.1f} s later; "
        f"every count committed {all_counted:.1f} s after the start; at-least-once repeats per key: {repeated}"
    )
    for when, failure in failures(runtime):
        print(f"failure {when - killed_at:+.1f} s after the kill: {failure}")
    assert sum(repeated.values()) > 0, "nothing was done twice: the kill did not put exactly-once to the test"
    assert exactly == {key: list(range(1, n + 1)) for key, n in sent.items()}
    assert {key: sorted(set(values)) for key, values in at_least.items()} == exactly

    armed, report_before, *rest = timeline
    by_event = {event["event"]: event for event in rest}
    assert len(rest) == 2, timeline
    assert sorted(by_event) == ["rang", "report"], timeline
    assert (report_before["note"], report_before["kept"]) == ("short-lived", "kept")
    after = by_event["report"]
    assert after["at"] - armed["at"] > NOTE_TTL.total_seconds()
    assert (after["note"], after["kept"]) == (None, "kept")
    rang = by_event["rang"]
    assert rang["armed_at"] == armed["at"]
    assert rang["at"] >= armed["at"] + RING_AFTER - 0.05
    assert rang["at"] > recovered_at, "the delayed message fired before the job ran again: make RING_AFTER longer"
    assert runtime.failures(), "Flink recorded no failure for the lost taskmanager"
