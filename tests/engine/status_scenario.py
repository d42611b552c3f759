"""The scenario ``test_statuses.py`` observes: one StateFun harness job whose function types answer as scripted
(``scripted.py``), driven phase by phase through Kafka, and what it saw: every call, the job's failures,
the runtime's log and the egress records.

Endpoints: ``v2/*`` and ``dead/*`` use the default async transport, ``ok/*`` and ``okdead/*`` okhttp, all with
a call timeout of 2 s; ``dead/*`` and ``okdead/*`` point at ports nothing listens on until revived.
``badok/*`` (okhttp, call timeout 2 s, the other timeouts left at their 10 s) is used last: it fails the job
at every restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from statefun_faas import Context, Message, StatefulFunctions, kafka_egress_message
from tests.engine.conftest import Launcher
from tests.engine.kafka import KafkaBroker, Record
from tests.engine.scripted import Call, Scripted
from tests.engine.statefun import StateFunRuntime

CALL_TIMEOUT = 2.0
SLOW = 3.0  # seconds a slow function takes: beyond the call timeout
ASYNC_RETRIED = (400, 401, 404, 413, 500, 503)  # each answered 3 times, then 200
OKHTTP_RETRIED = (408, 409, 420, 429, 499, 500, 503)  # each answered 3 times, then 200
OKHTTP_FINAL = (400, 401, 404, 413)  # each answered once, then 200
TYPES = ("v2/thrice", "ok/thrice", "ok/once", "v2/always", "v2/slow", "dead/gone", "ok/slow", "okdead/gone", "badok/x")
RESTARTING = "switched from state RUNNING to RESTARTING"
SINK = "status-out"
ASYNC = f"{{type: io.statefun.transports.v1/async, call: {CALL_TIMEOUT:g}s}}"
OKHTTP_TIMEOUTS = f"{{call: {CALL_TIMEOUT:g}s, connect: 1s, read: 2s, write: 2s}}"  # none over the call timeout
OKHTTP = f"{{type: io.statefun.transports.v1/okhttp, timeouts: {OKHTTP_TIMEOUTS}}}"
BAD_OKHTTP = f"{{type: io.statefun.transports.v1/okhttp, timeouts: {{call: {CALL_TIMEOUT:g}s}}}}"


def functions() -> StatefulFunctions:
    """Every type writes ``<type>:<id>:<value>`` to the Kafka egress, keyed by its id."""
    bound = StatefulFunctions()

    def reply(context: Context, message: Message) -> None:
        address = context.address
        text = f"{address.typename}:{address.id}:{(message.raw_value() or b'').decode()}"
        context.send_egress(kafka_egress_message("status/out", SINK, text, key=address.id))

    for typename in TYPES:
        bound.bind(typename)(reply)
    return bound


def source(typename: str) -> str:
    return "status-in-" + typename.replace("/", "-")


def module(server: Scripted, broker: str) -> str:
    dead_v2, dead_ok = (f"http://127.0.0.1:{port}" for port in server.dead_ports)
    endpoints = [("v2", server.url, ASYNC), ("dead", dead_v2, ASYNC), ("ok", server.url, OKHTTP)]
    text = "".join(
        f"kind: io.statefun.endpoints.v2/http\nspec:\n  functions: {name}/*\n"
        f"  urlPathTemplate: {url}/{name}/{{function.name}}\n  transport: {transport}\n---\n"
        for name, url, transport in [*endpoints, ("okdead", dead_ok, OKHTTP), ("badok", server.url, BAD_OKHTTP)]
    )
    topics = "".join(f"    - {{topic: {source(t)}, valueType: status/text, targets: [{t}]}}\n" for t in TYPES)
    return text + (
        f"kind: io.statefun.kafka.v1/ingress\nspec:\n  id: status/in\n  address: {broker}\n"
        f"  consumerGroupId: statuses\n  startupPosition: {{type: earliest}}\n  topics:\n{topics}---\n"
        f"kind: io.statefun.kafka.v1/egress\nspec:\n  id: status/out\n  address: {broker}\n"
        f"  deliverySemantic: {{type: exactly-once, transactionTimeout: 15min}}\n"
    )


@dataclass
class Observed:
    calls: dict[tuple[str, str], list[Call]]  # (path, id) -> its calls, in order
    failures: list[dict[str, Any]]  # Flink's exception history, oldest first; timestamp in seconds
    phase_failures: dict[str, list[dict[str, Any]]]  # the failures each phase caused
    log: str  # the runtime's log (StateFun's and Flink's lines)
    egress: list[Record]

    def statuses(self, path: str, ident: str) -> list[int]:
        return [call.status for call in self.calls.get((path, ident), [])]

    def causes(self, phase: str) -> list[str]:
        """Each failure of ``phase``: its exception and causes, `` / ``-separated."""
        found = []
        for entry in self.phase_failures[phase]:
            lines = entry["stacktrace"].splitlines()
            found.append(" / ".join([lines[0], *(line for line in lines if line.startswith("Caused by"))]))
        return found


class Scenario:
    def __init__(self, runtime: StateFunRuntime, broker: KafkaBroker) -> None:
        self.runtime, self.broker = runtime, broker
        self.sent = 0
        self.phase_failures: dict[str, list[dict[str, Any]]] = {}

    def failures(self) -> list[dict[str, Any]]:
        entries = self.runtime.rest.get(f"/jobs/{self.runtime.job}/exceptions")["exceptionHistory"]["entries"]
        return [{**entry, "timestamp": entry["timestamp"] / 1000} for entry in reversed(entries)]

    def log(self) -> str:
        return (self.runtime.run / "harness.log").read_text(errors="replace")

    def phase(
        self,
        name: str,
        messages: list[tuple[str, str]],
        after_failure: Callable[[], None] | None = None,
        delivered: bool = True,
    ) -> None:
        """Send ``(type, id)`` messages; with ``after_failure``, wait until the job fails, then call it; then wait
        for every message's egress record and a checkpoint (so a later restart does not replay this phase), or,
        not ``delivered``, for the failure in the job's exception history."""
        before, restarts = len(self.failures()), self.log().count(RESTARTING)
        for typename, ident in messages:
            self.broker.produce(source(typename), [(ident, name.encode())])
        self.sent += len(messages)
        deadline = time.monotonic() + 120
        while after_failure is not None and self.log().count(RESTARTING) == restarts:  # the history lags the log
            assert time.monotonic() < deadline, f"phase {name}: the job did not fail\n{self.runtime.logs()}"
            time.sleep(0.1)
        if after_failure is not None:
            after_failure()
        while not delivered and len(self.failures()) == before:
            assert time.monotonic() < deadline, f"phase {name}: no failure in the exception history"
            time.sleep(0.1)
        if not delivered:
            self.sent -= len(messages)
            self.phase_failures[name] = self.failures()[before:]
            return
        found = self.broker.consume(SINK, self.sent, timeout=180, settle=0)
        assert len(found) >= self.sent, f"phase {name}: {len(found)} egress records of {self.sent}"
        self.runtime.wait_for_checkpoint()
        self.phase_failures[name] = self.failures()[before:]


@contextmanager
def observe(broker: KafkaBroker, folder: Path) -> Iterator[Observed]:
    """Run the scenario on a harness job; yields what it saw (the job and the server stop afterwards)."""
    broker.create_topics(SINK, *(source(t) for t in TYPES))
    server, launcher = Scripted(functions()), Launcher("harness", folder)
    with server.serving(dead=2):
        try:
            for status in ASYNC_RETRIED:
                server.script("v2/thrice", str(status), status, times=3)
            for status in OKHTTP_RETRIED:
                server.script("ok/thrice", str(status), status, times=3)
            for status in OKHTTP_FINAL:
                server.script("ok/once", str(status), status, times=1)
            server.script("v2/always", "404", 404)
            server.script("v2/slow", "s", delay=SLOW, times=1)
            server.script("ok/slow", "s", delay=SLOW, times=1)
            (folder / "module.yaml").write_text(module(server, broker.bootstrap))
            scenario = Scenario(launcher(folder / "module.yaml"), broker)
            retried = [("v2/thrice", str(s)) for s in ASYNC_RETRIED] + [("ok/thrice", str(s)) for s in OKHTTP_RETRIED]
            scenario.phase("retried", retried)
            scenario.phase("okhttp-final", [("ok/once", str(s)) for s in OKHTTP_FINAL])
            scenario.phase("lasting-404", [("v2/always", "404")], lambda: server.heal("v2/always", "404"))
            scenario.phase("slow-async", [("v2/slow", "s")], lambda: None)
            scenario.phase("slow-okhttp", [("ok/slow", "s")], lambda: None)
            scenario.phase("dead-async", [("dead/gone", "d")], lambda: server.revive(server.dead_ports[0]))
            scenario.phase("dead-okhttp", [("okdead/gone", "d")], lambda: server.revive(server.dead_ports[1]))
            scenario.phase("okhttp-timeouts", [("badok/x", "x")], lambda: None, delivered=False)  # last: it loops
            calls: dict[tuple[str, str], list[Call]] = {}
            for call in server.calls:
                calls.setdefault((call.path, call.id), []).append(call)
            egress = broker.consume(SINK, scenario.sent, settle=3)
            yield Observed(calls, scenario.failures(), scenario.phase_failures, scenario.log(), egress)
        finally:
            launcher.stop()
