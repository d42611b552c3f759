"""One owner per state folder: a second runtime on a folder in use exits at once naming the folder and the
owner's PID; `state` and `dead-letters` read beside the owner; a replay never writes behind its back; the
lock dies with its process, kill -9 included. Real processes, real SQLite."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from statefun_faas.runtime.app import Options, Runtime
from statefun_faas.runtime.records import Address, Envelope, Value
from statefun_faas.runtime.store.database import Store
from statefun_faas.runtime.store.folderlock import StateFolderBusyError
from tests.runtime.processes import RuntimeProcess, cli, put, take

APPS = Path(__file__).resolve().parents[1] / "apps.py"
PLAYGROUND = """
kind: io.statefun.playground.v1/ingress
spec:
  port: 0
"""


def dev(tmp_path: Path, name: str) -> RuntimeProcess:
    args = ("dev", str(APPS), "--state", str(tmp_path / "state"), "--ingress-port", "0", "--egress-port", "0")
    return RuntimeProcess.start(tmp_path / f"{name}.log", *args)


def second_runtime(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A runtime on the same folder; it must give up by itself (the timeout only ends a hung test)."""
    command = [sys.executable, "-m", "statefun_faas.cli", *args, "--state", str(tmp_path / "state")]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow
def test_a_second_runtime_on_a_folder_in_use_exits_naming_the_folder_and_the_owner(tmp_path: Path) -> None:
    folder = (tmp_path / "state").resolve()
    first = dev(tmp_path, "first")
    try:
        assert put(first.ports["ingress"], "test/counter/k", b"one")
        assert take(first.ports["egress"], "counts", 1) == ["k:1:one:-"]
        assert put(first.ports["ingress"], "test/failing/f", b"boom")

        module = tmp_path / "module.yaml"
        module.write_text(PLAYGROUND)
        for args in [("dev", str(APPS), "--ingress-port", "0", "--egress-port", "0"), ("run", "--module", str(module))]:
            second = second_runtime(tmp_path, *args)
            assert second.returncode == 2, second.stderr
            assert f"state folder {folder} is in use by the runtime with PID {first.process.pid}" in second.stderr
            assert "another state folder (--state DIR)" in second.stderr
            assert "listening on" not in second.stderr  # it gave up before opening a port

        state = cli("state", "test/counter/k", "--state", str(folder))  # read-only, beside the owner
        assert (state.returncode, state.stdout.strip()) == (0, "count (io.statefun.types/int): 1")
        listed = cli("dead-letters", "--state", str(folder))
        assert listed.returncode == 0, listed.stderr
        assert "test/failing/f" in listed.stdout
        assert "1 dead letter(s)" in listed.stdout
        replay = cli("dead-letters", "--state", str(folder), "--replay")  # would write: refused
        assert replay.returncode == 1
        assert f"{folder} is in use by the runtime with PID {first.process.pid}. Stop it, replay" in replay.stderr
        assert "1 dead letter(s)" in cli("dead-letters", "--state", str(folder)).stdout  # nothing moved
        assert put(first.ports["ingress"], "test/counter/k", b"two")  # the owner goes on as before
        assert take(first.ports["egress"], "counts", 1) == ["k:2:two:-"]
    finally:
        if first.process.poll() is None:
            first.process.send_signal(signal.SIGKILL)  # the kernel drops the lock with the process
        first.process.wait(20)

    again = dev(tmp_path, "again")  # starts: no stale lock after kill -9
    try:
        assert (folder / "runtime.lock").read_text().strip() == str(again.process.pid)
        assert put(again.ports["ingress"], "test/counter/k", b"three")
        assert take(again.ports["egress"], "counts", 1) == ["k:3:three:-"]  # state survived, counted once each
    finally:
        assert again.stop() == 0
    assert cli("dead-letters", "--state", str(folder), "--replay").returncode == 0  # the folder is free now


def test_two_owners_in_one_process_conflict_too(tmp_path: Path) -> None:
    """flock belongs to an open file description, so a second open in the same process is refused."""
    first = Runtime(options=Options(state_dir=tmp_path))
    try:
        with pytest.raises(StateFolderBusyError) as refused:
            Runtime(options=Options(state_dir=tmp_path))
        assert (refused.value.folder, refused.value.pid) == (tmp_path.resolve(), os.getpid())
        assert f"in use by the runtime with PID {os.getpid()}" in str(refused.value)
        with pytest.raises(StateFolderBusyError):
            Store.in_directory(tmp_path)
    finally:
        first.store.close()
    second = Store.in_directory(tmp_path)  # closing the first let the folder go
    second.close()


def test_a_read_only_store_reads_beside_the_owner_and_can_not_write(tmp_path: Path) -> None:
    owner = Store.in_directory(tmp_path)
    reader = Store.read_only(tmp_path)
    try:
        address = Address("t/f", "1")
        owner.enqueue([Envelope(address, Value("t/text", b"m"))])
        assert [queued.argument.data for queued in reader.inbox(address, 10)] == [b"m"]
        before = owner.data_version()
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.enqueue([Envelope(address, Value("t/text", b"n"))])
        assert owner.data_version() == before  # the owner saw no write
    finally:
        reader.close()
        owner.close()
