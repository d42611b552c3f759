"""Fixtures for tests against the real engine: Apache Flink StateFun 3.3.0 and a Kafka broker, on loopback.

The fixture API is described in README.md next to this file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.engine import processes
from tests.engine.kafka import KafkaBroker
from tests.engine.serving import FunctionServer
from tests.engine.statefun import HarnessRuntime, StandaloneRuntime, StateFunRuntime

FORMS = ("harness", "standalone")

#: the ``function_server`` fixture: ``serve(target, env=None) -> FunctionServer``
Serve = Callable[..., FunctionServer]


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """One broker for the whole session: give each test topics of its own names."""
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka")).start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def fresh_kafka_broker(tmp_path: Path) -> Iterator[KafkaBroker]:
    """A broker of this test alone, for tests that stop and restart it (``stop()``, then ``start()``)."""
    broker = KafkaBroker(tmp_path / "kafka").start()
    try:
        yield broker
    finally:
        broker.stop()


@dataclass
class Launcher:
    """Starts the StateFun runtime in one form on a module.yaml; the fixture stops what it started."""

    form: str
    folder: Path
    started: list[StateFunRuntime] = field(default_factory=list)

    def __call__(self, module: Path, checkpoint_interval: str = "1s", parallelism: int = 1) -> StateFunRuntime:
        """Start the job and return once all its tasks run. ``parallelism`` is the harness's (standalone: shipped)."""
        run = self.folder / f"{self.form}-{len(self.started) + 1}"
        print(f"StateFun {self.form}: run folder {run}")  # shown with a failing test's output
        if self.form == "harness":
            harness = HarnessRuntime(run, module, checkpoint_interval)
            self.started.append(harness)
            return harness.start(parallelism)
        standalone = StandaloneRuntime(run, module, checkpoint_interval)
        self.started.append(standalone)
        return standalone.start()

    def stop(self) -> None:
        for runtime in self.started:
            runtime.stop()


def _launcher(form: str, folder: Path) -> Iterator[Launcher]:
    launcher = Launcher(form, folder)
    try:
        yield launcher
    finally:
        launcher.stop()


@pytest.fixture(params=FORMS)
def statefun(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Launcher]:
    """The runtime in each form in turn (the test runs twice: ``[harness]``, ``[standalone]``)."""
    yield from _launcher(request.param, tmp_path)


@pytest.fixture
def statefun_harness(tmp_path: Path) -> Iterator[Launcher]:
    yield from _launcher("harness", tmp_path)


@pytest.fixture
def statefun_standalone(tmp_path: Path) -> Iterator[Launcher]:
    yield from _launcher("standalone", tmp_path)


@pytest.fixture
def function_server(tmp_path: Path) -> Iterator[Serve]:
    """``function_server(target, env)`` serves ``target`` with ``statefun-faas serve``; stopped after the test."""
    servers: list[FunctionServer] = []

    def serve(target: str, env: Mapping[str, str] | None = None) -> FunctionServer:
        server = FunctionServer(tmp_path / f"serve-{len(servers) + 1}", target, env)
        servers.append(server)
        return server

    try:
        yield serve
    finally:
        for server in servers:
            server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if processes.TIMINGS:
        terminalreporter.section("engine start times")
        for what, seconds in processes.TIMINGS:
            terminalreporter.write_line(f"{seconds:7.1f} s  {what}")
