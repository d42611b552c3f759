"""kill -9 of a runtime process at the worst moments, then a restart on the same state directory:
nothing acknowledged is lost and no state change is applied twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runtime.apps import functions
from tests.runtime.processes import RuntimeProcess, cli, put, take
from tests.runtime.servers import PLAYGROUND_IO, FunctionServer, endpoint, in_thread

pytestmark = pytest.mark.slow


def _module(tmp_path: Path, port: int) -> Path:
    module = tmp_path / "module.yaml"
    module.write_text(endpoint("test/*", f"http://127.0.0.1:{port}/statefun") + PLAYGROUND_IO)
    return module


def _start(tmp_path: Path, module: Path, name: str, failpoint: str | None = None) -> RuntimeProcess:
    args = ("run", "--module", str(module), "--state", str(tmp_path / "state"))
    return RuntimeProcess.start(tmp_path / f"{name}.log", *args, failpoint=failpoint)


def _count(tmp_path: Path) -> str:
    result = cli("state", "test/counter/k", "--state", str(tmp_path / "state"))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_kill_after_ingress_commit_before_delivery(tmp_path: Path) -> None:
    with in_thread(FunctionServer(functions)) as server:
        module = _module(tmp_path, server.port)
        first = _start(tmp_path, module, "first", failpoint="after-ingress-commit:3")
        acked = [put(first.ports["ingress"], "test/counter/k", f"m{i}".encode()) for i in range(1, 4)]
        assert acked == [True, True, False]  # the third was stored, then the process died unacknowledged
        assert first.killed()

        second = _start(tmp_path, module, "second")
        assert put(second.ports["ingress"], "test/counter/k", b"m4")
        counts = take(second.ports["egress"], "counts", 4)
        second.stop()
    # each message exactly once, in order: the stored-but-unacknowledged m3 too
    assert counts == [f"k:{i}:m{i}:-" for i in range(1, 5)]
    assert _count(tmp_path) == "count (io.statefun.types/int): 4"


def test_kill_after_function_answered_before_commit(tmp_path: Path) -> None:
    with in_thread(FunctionServer(functions, pause=0.3)) as server:
        module = _module(tmp_path, server.port)
        first = _start(tmp_path, module, "first", failpoint="before-apply:1")
        acked = [put(first.ports["ingress"], "test/counter/k", f"m{i}".encode()) for i in range(1, 6)]
        assert all(acked)  # acknowledged while the function is still answering the first batch
        assert first.killed()

        second = _start(tmp_path, module, "second")
        counts = take(second.ports["egress"], "counts", 5)
        second.stop()
        calls = len(server.paths)
    assert counts == [f"k:{i}:m{i}:-" for i in range(1, 6)]
    assert _count(tmp_path) == "count (io.statefun.types/int): 5"
    # registration, m1 (answered, never committed), then after the restart m1..m5 in one batch: the
    # registered specs survived, so no second registration round
    assert calls == 3
