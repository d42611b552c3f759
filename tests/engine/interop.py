"""Cross-language takeover: the functions of interop_functions.py in Python and in another SDK's server,
one URL in front of both, and the scenario every runtime runs them through.

- :class:`SdkServer`: another SDK's function server (ours, on loopback), started as a process that
  prints ``listening on http://127.0.0.1:<port>/``: :func:`java_server` starts the Java SDK's
  (``java/sdk``), :func:`go_server` the Go SDK's (``go/``, built once into the engine cache by
  :func:`go_build`).
- :class:`Switch`: the one URL the runtime calls (module.yaml's endpoint ``interop/*``). It forwards
  a call for ``interop/<name>`` to the server its route names, and the tests change the route of
  ``keeper`` between messages: a new implementation deployed behind the same URL.
- :func:`takeover`: sends commands to ``interop/keeper`` one at a time, switching its implementation
  as :func:`steps` says, through an :class:`Exchange` (:class:`KafkaExchange` for StateFun,
  :class:`LocalExchange` for the local runtime's local topics), and checks that each implementation
  read exactly what the one before it wrote.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from statefun_faas.runtime.records import AFTER_INVOKE, AFTER_WRITE, NO_EXPIRY, Spec
from statefun_faas.runtime.store.database import Store
from tests.engine import interop_functions as python_side
from tests.engine import processes
from tests.engine.artifacts import class_path, engine_cache, java, maven_build
from tests.engine.http_front import Answer, Incoming, serving
from tests.engine.kafka import KafkaBroker
from tests.engine.processes import EngineSetupError, Service
from tests.engine.serving import TOKEN, kafka_egress, kafka_ingress, write_module
from tests.runtime.processes import RuntimeProcess, put, take
from tests.venvs import locked

LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/")
JAVA_SERVER_CLASS = "statefunfaas.engine.sdk.InteropServer"
GO_PROJECT = Path(__file__).parent / "go"
SENSORS_PROTO_FOLDER = Path(__file__).parents[2] / "examples" / "cross_language"
NO_BROKER = "127.0.0.1:9"  # nothing listens: --local-io binds the Kafka kinds to local topics anyway
KEEPER = python_side.KEEPER
ID = "ada"
PAUSE = ("", "")  # a step that waits until the expiring states expired
INGRESS_ID = "interop/in"
PEER_TYPENAMES = (
    "io.statefun.types/int",
    "io.statefun.types/string",
    "interop/Profile",
    "type.googleapis.com/example.xlang.SensorReport",
)


def steps(other: str) -> list[tuple[str, str]]:
    """(implementation of the keeper, command text) in order: ``other`` first (so the states are registered with
    its specs), then Python, back, and again after a pause."""
    return [
        (other, "eins"),
        (other, "grüße"),
        ("python", "trois ✓"),
        ("python", "four"),
        (other, "fünf 🐍"),
        PAUSE,
        ("python", "six"),
        (other, "sieben"),
    ]


class SdkServer:
    """Another SDK's function server, a process of ours: ``url`` once it listens; ``stop()`` ends it."""

    def __init__(self, name: str, command: Sequence[str], log: Path, env: Mapping[str, str]) -> None:
        self.name = name
        self.port = 0
        self.service: Service = processes.start(name, command, log, env)
        service = self.service

        def listening() -> bool:
            found = LISTENING.search(service.log.read_text(errors="replace"))
            if found:
                self.port = int(found[1])
            return bool(found)

        waited = processes.wait_until(listening, f"the {name} to listen", [service], timeout=60)
        processes.TIMINGS.append((f"{name}: start to listening", waited))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.service.stop(grace=10)


@contextmanager
def java_server(folder: Path, out_topic: str) -> Iterator[SdkServer]:
    """The Java SDK's server (java/sdk) on a free loopback port, writing to egress topic ``out_topic``."""
    command = [java().executable, "-cp", class_path(*maven_build().sdk), JAVA_SERVER_CLASS, "0"]
    env = {**os.environ, "INTEROP_OUT_TOPIC": out_topic}
    server = SdkServer("Java SDK server", command, folder / "java-sdk.log", env)
    try:
        yield server
    finally:
        server.stop()


def go_build() -> Path:
    """Build ``go/`` (module downloads in ``<engine cache>/gomod``, go.sum enforced) once per content; the binary."""
    digest = hashlib.sha256()
    for path in sorted(GO_PROJECT.iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    binary = engine_cache() / f"go-{digest.hexdigest()[:12]}" / "interop-server"
    with locked(binary.parent.with_name(binary.parent.name + ".lock")):
        if not binary.exists():
            _run_go_build(binary)
    return binary


def _run_go_build(binary: Path) -> None:
    go = shutil.which("go")
    if not go:
        raise EngineSetupError("the Go SDK's server is built with Go: `go` is not on PATH (install Go 1.23 or newer)")
    env = {
        **os.environ,
        "GOMODCACHE": str(engine_cache() / "gomod"),
        "GOFLAGS": "-mod=readonly",
        "GOTOOLCHAIN": "local",
    }
    binary.parent.mkdir(parents=True, exist_ok=True)
    partial = binary.with_name(binary.name + ".partial")
    command = [go, "build", "-o", str(partial), "."]
    started = time.monotonic()
    done = subprocess.run(command, cwd=GO_PROJECT, env=env, capture_output=True, text=True, check=False)
    processes.TIMINGS.append(("Go SDK server: go build", time.monotonic() - started))
    if done.returncode != 0:
        raise EngineSetupError(
            f"`{' '.join(command)}` in {GO_PROJECT} failed (is the Go module proxy reachable?):\n"
            f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    partial.rename(binary)


@contextmanager
def go_server(folder: Path, out_topic: str) -> Iterator[SdkServer]:
    """The Go SDK's server (go/) on a free loopback port, writing to egress topic ``out_topic``."""
    command = [str(go_build()), "0", str(SENSORS_PROTO_FOLDER)]
    env = {**os.environ, "INTEROP_OUT_TOPIC": out_topic}
    server = SdkServer("Go SDK server", command, folder / "go-sdk.log", env)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Switch:
    """Forwards ``/<function name>?...`` to the server its route names; records (name, server) per call."""

    servers: dict[str, str]  # server name -> base URL
    routes: dict[str, str]  # function name -> server name
    calls: list[tuple[str, str, int]] = field(default_factory=list)

    async def __call__(self, incoming: Incoming) -> Answer:
        name = incoming.path.rstrip("/").rpartition("/")[2]
        server = self.routes.get(name)
        if server is None:
            return Answer(404, {"Content-Type": "text/plain"}, f"no route for function {name!r}\n".encode())
        status, body = await asyncio.to_thread(self._forward, self.servers[server] + incoming.target, incoming)
        self.calls.append((name, server, status))
        return Answer(status, {"Content-Type": "application/octet-stream"}, body)

    @staticmethod
    def _forward(url: str, incoming: Incoming) -> tuple[int, bytes]:
        request = urllib.request.Request(url, data=incoming.body, method="POST")
        request.add_header("Content-Type", incoming.header("content-type") or "application/octet-stream")
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return int(answer.status), answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


@contextmanager
def switch(servers: Mapping[str, str]) -> Iterator[tuple[str, Switch]]:
    """A :class:`Switch` over ``servers`` (name -> URL) on loopback: its URL and itself.

    Each ``peer-<name>`` goes to server ``name``; ``keeper`` wherever ``routes["keeper"]`` says (404 until set).
    """
    front = Switch(dict(servers), {f"peer-{name}": name for name in servers})
    with serving(front) as served:
        yield served.url, front


def module(path: Path, url: str, broker: str, in_topic: str) -> Path:
    """module.yaml: ``interop/*`` at ``url`` (as ``statefun-faas module`` writes it), Kafka in and out."""
    io = [
        kafka_ingress(INGRESS_ID, broker, {in_topic: (python_side.COMMAND_TYPENAME, [KEEPER])}),
        kafka_egress(python_side.EGRESS, broker, exactly_once=False),
    ]
    return write_module(path, url, "interop/*", io, TOKEN)


class Exchange(Protocol):
    """Where commands go in and records come out: a Kafka broker, or the local runtime's topics."""

    def send(self, key: str, value: bytes) -> None: ...

    def receive(self, count: int) -> list[dict[str, Any]]:
        """The next ``count`` egress records, parsed."""
        ...


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
    """The local runtime's local topics (``--local-io``): PUT a record in, GET the egress records."""

    port: int
    in_topic: str
    out_topic: str
    log: Path

    def send(self, key: str, value: bytes) -> None:
        assert put(self.port, f"{self.in_topic}/{key}", value), self.log.read_text()

    def receive(self, count: int) -> list[dict[str, Any]]:
        found = take(self.port, self.out_topic, count)
        assert len(found) == count, f"{len(found)} of {count} records arrived:\n{self.log.read_text()[-3000:]}"
        return [json.loads(value) for value in found]


@contextmanager
def local_runtime(folder: Path, url: str, in_topic: str, out_topic: str) -> Iterator[LocalExchange]:
    """``statefun-faas run`` on :func:`module` for ``url``, its Kafka kinds on local topics, its state in
    ``folder/state``; stopped cleanly."""
    path = module(folder / "module.yaml", url, NO_BROKER, in_topic)
    log = folder / "runtime.log"
    options = ["--module", str(path), "--state", str(folder / "state"), "--local-io", "--local-io-port", "0"]
    runtime = RuntimeProcess.start(log, "run", *options)
    try:
        yield LocalExchange(runtime.ports["egress"], in_topic, out_topic, log)
    finally:
        assert runtime.stop() == 0, log.read_text()


def registered_specs(state: Path) -> dict[str, Spec]:
    """The keeper's states as the local runtime registered them (from whichever SDK answered first)."""
    with closing(Store.read_only(state)) as store:
        return store.specs(KEEPER)


def python_specs() -> dict[str, Spec]:
    """The keeper's states as interop_functions.py declares them, in the runtime's terms."""
    specs = {}
    for spec in python_side.KEEPER_SPECS:
        mode = AFTER_INVOKE if spec.after_call else AFTER_WRITE if spec.after_write else NO_EXPIRY
        specs[spec.name] = Spec(spec.name, spec.type.typename, mode, spec.duration)
    return specs


def command(text: str, peer: str) -> bytes:
    return json.dumps({"text": text, "peer": python_side.peer(peer)}, ensure_ascii=False).encode("utf-8")


def takeover(exchange: Exchange, front: Switch, other: str) -> list[dict[str, Any]]:
    """Run :func:`steps` for ``other``; check every step's records; the keeper's records."""
    keeper_records: list[dict[str, Any]] = []
    pause_before: set[int] = set()
    texts: list[str] = []
    for by, text in steps(other):
        if (by, text) == PAUSE:
            time.sleep(python_side.TTL.total_seconds() + 1.5)
            pause_before.add(len(keeper_records))
            continue
        peer = other if by == "python" else "python"
        front.routes["keeper"] = by
        exchange.send(ID, command(text, peer))
        keeper, *peers = exchange.receive(1 + len(PEER_TYPENAMES))
        assert (keeper["by"], keeper["id"]) == (by, ID), keeper
        _check_peer_records(peers, peer, keeper["wrote"], text)
        keeper_records.append(keeper)
        texts.append(text)
    _check_reads(keeper_records, pause_before)
    _check_last_write(keeper_records, texts)
    return keeper_records


def _check_peer_records(records: list[dict[str, Any]], peer: str, wrote: dict[str, Any], text: str) -> None:
    """The peer (the other language) decoded the four typed messages the keeper sent it."""
    assert [(r["by"], r["id"], r["caller"]) for r in records] == [(peer, ID, f"{KEEPER}/{ID}")] * 4, records
    assert [r["typename"] for r in records] == list(PEER_TYPENAMES)
    assert [r["value"] for r in records] == [wrote["count"], text, wrote["profile"], wrote["report"]]


def _check_reads(records: list[dict[str, Any]], pause_before: set[int]) -> None:
    """Each keeper read exactly what the one before wrote (minus the expiring states after a pause)."""
    assert all(value is None for value in records[0]["read"].values()), records[0]
    for number in range(1, len(records)):
        expected = dict(records[number - 1]["wrote"])
        if number in pause_before:
            expected.update(recent=None, seen=None)
        by, before = records[number]["by"], records[number - 1]["by"]
        assert records[number]["read"] == expected, f"step {number + 1}: {by} read what {before} wrote"


def check_calls(front: Switch, other: str) -> None:
    """Every call the runtime made was answered 200, and each server served its functions."""
    assert {status for _, _, status in front.calls} == {200}, front.calls
    assert {(name, server) for name, server, _ in front.calls} == {
        ("keeper", "python"),
        ("keeper", other),
        ("peer-python", "python"),
        (f"peer-{other}", other),
    }


def _check_last_write(records: list[dict[str, Any]], texts: list[str]) -> None:
    """The values the last keeper wrote, each built from every step before."""
    writers = [record["by"] for record in records]
    wrote = records[-1]["wrote"]
    count = len(records)
    assert wrote["count"] == count
    assert wrote["log"] == " ".join(f"{by}:{text}" for by, text in zip(writers, texts, strict=True))
    assert wrote["profile"] == {"name": ID, "writers": writers, "last": texts[-1], "score": count * 0.5}
    taken_at = {"seconds": 1_700_000_000 + 60 * (count - 1), "nanos": (count * 125_000_000) % 1_000_000_000}
    report = {"sensor": ID, "celsius": 20.0 + 0.25 * (count - 1), "readings": count, "taken_at": taken_at}
    assert wrote["report"] == report
