"""The processes under test: ``statefun-faas run`` and the faulty function server, killed and restarted;
and the runtime's state file, locked by another writer or left without space.

Ports are chosen once, so a restarted runtime or server comes back where the driver expects it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.runtime.processes import free_port

HERE = Path(__file__).parent
READY = "running; Ctrl-C stops"
READ_TIMEOUT_S = 1.0
DB_NAME = "runtime.sqlite3"
#: the size of the filesystem a disk-full fault fills: room for a full run's state and its WAL
DISK_MB = 256

MODULE = """kind: io.statefun.endpoints.v2/http
spec:
  functions: verifier/*
  urlPathTemplate: http://127.0.0.1:{server}/{{function.name}}
  maxNumBatchRequests: {batch}
  transport:
    type: io.statefun.transports.v1/okhttp
    timeouts:
      call: 60s
      connect: 2s
      read: {read}ms
---
kind: io.statefun.playground.v1/ingress
spec:
  port: {ingress}
---
kind: io.statefun.playground.v1/egress
spec:
  port: {egress}
  topics: [keys, verify, probes, violations]
"""


class StartError(AssertionError):
    pass


@dataclass
class Cluster:
    workdir: Path
    batch: int = 100
    server_port: int = field(default_factory=free_port)
    ingress_port: int = field(default_factory=free_port)
    egress_port: int = field(default_factory=free_port)
    runtime: subprocess.Popen[bytes] | None = None
    server: subprocess.Popen[bytes] | None = None
    #: the failpoint the running runtime was started with
    armed: str | None = None
    events: Counter[str] = field(default_factory=Counter)
    starts: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: a filesystem of the cluster's own (see :func:`small_disk`) holding the state folder; disk-full fills it
    disk: Path | None = None

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.module = self.workdir / "module.yaml"
        self.module.write_text(
            MODULE.format(
                server=self.server_port,
                batch=self.batch,
                read=int(READ_TIMEOUT_S * 1000),
                ingress=self.ingress_port,
                egress=self.egress_port,
            )
        )
        self.state = (self.disk or self.workdir) / "state"
        self.fault_log = self.workdir / "faults.log"

    # -- function server --------------------------------------------------------------------------

    async def start_server(self) -> None:
        env = dict(os.environ, STATEFUN_FAAS_REQUEST_LOG="off")
        command = [sys.executable, str(HERE / "faulty.py"), "--port", str(self.server_port)]
        command += ["--functions", str(HERE / "interpreter.py"), "--fault-log", str(self.fault_log)]
        command += ["--hold", str(READ_TIMEOUT_S * 2)]
        with (self.workdir / "server.log").open("ab") as log:
            self.server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        await self._wait_port(self.server, self.server_port, "function server")

    async def kill_server(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.kill()
            self.server.wait()

    # -- runtime ----------------------------------------------------------------------------------

    async def start_runtime(self, failpoint: str | None = None) -> None:
        env = dict(os.environ)
        env.pop("STATEFUN_FAAS_FAILPOINT", None)
        if failpoint:
            env["STATEFUN_FAAS_FAILPOINT"] = failpoint
        self.starts += 1
        log = self.workdir / f"runtime-{self.starts}.log"
        command = [sys.executable, "-m", "statefun_faas.cli", "run", "--module", str(self.module)]
        command += ["--state", str(self.state)]
        with log.open("wb") as sink:
            self.runtime = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
        self.armed = failpoint
        await self._wait_log(self.runtime, log)

    async def kill_runtime(self) -> None:
        if self.runtime is not None and self.runtime.poll() is None:
            self.runtime.send_signal(signal.SIGKILL)
            self.runtime.wait()

    async def stop(self) -> int | None:
        """End both processes: the runtime gracefully when it still runs, the server at once. Returns the
        runtime's exit status (-9 when it did not stop within 20 s; its own when it had ended already)."""
        status = None if self.runtime is None else self.runtime.poll()
        if self.runtime is not None and status is None:
            self.runtime.send_signal(signal.SIGTERM)
            try:
                status = await asyncio.to_thread(self.runtime.wait, 20)
            except subprocess.TimeoutExpired:
                self.runtime.kill()
                status = self.runtime.wait()
        await self.kill_server()
        return status

    def runtime_died(self) -> int | None:
        """The exit status when the runtime ended on its own (a failpoint fired or it crashed)."""
        return None if self.runtime is None else self.runtime.poll()

    # -- the store, read only ---------------------------------------------------------------------

    def pending(self) -> tuple[int, int]:
        """Messages waiting in inboxes and delayed messages not yet fired."""
        row = self._query("SELECT (SELECT count(*) FROM inbox), (SELECT count(*) FROM delayed)")[0]
        return int(row[0]), int(row[1])

    def dead_letters(self) -> list[tuple[str, bytes, str]]:
        """Id, argument and reason of every dead letter, in the order they were written."""
        rows = self._query("SELECT id, arg, reason FROM dead_letters ORDER BY seq")
        return [(str(id_), bytes(arg or b""), str(reason)) for id_, arg, reason in rows]

    def _query(self, sql: str) -> list[tuple[Any, ...]]:
        db = sqlite3.connect(f"file:{self.state / DB_NAME}?mode=ro", uri=True)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def runtime_log_lines(self, text: str) -> int:
        """Lines holding ``text`` in the logs of every runtime started so far."""
        logs = [self.workdir / f"runtime-{n}.log" for n in range(1, self.starts + 1)]
        lines = [line for log in logs if log.exists() for line in log.read_text(errors="replace").splitlines()]
        return sum(1 for line in lines if text in line)

    # -- the store, disturbed ---------------------------------------------------------------------

    async def hold_write_lock(self, seconds: float) -> None:
        """Be another writer of the state file: take its write lock (``BEGIN IMMEDIATE``), keep it
        ``seconds``, let it go without a change. The runtime's writes meanwhile wait, then fail."""
        db = sqlite3.connect(self.state / DB_NAME, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            await asyncio.to_thread(db.execute, "BEGIN IMMEDIATE")
            await asyncio.sleep(seconds)
            db.execute("ROLLBACK")
        finally:
            db.close()

    async def fill_disk(self, seconds: float) -> None:
        """Leave the state folder's filesystem without a free block for ``seconds``, then free it again.
        Only ever the cluster's own small filesystem (:func:`small_disk`)."""
        if self.disk is None or not os.path.ismount(self.disk):
            raise StartError("disk-full fills only a filesystem of the cluster's own: start it with small_disk")
        filler = self.disk / "filler"
        try:
            await asyncio.to_thread(_fill, filler)
            await asyncio.sleep(seconds)
        finally:
            filler.unlink(missing_ok=True)

    # -- waiting ----------------------------------------------------------------------------------

    async def _wait_port(self, process: subprocess.Popen[bytes], port: int, what: str, timeout: float = 60) -> None:
        for _ in range(int(timeout / 0.02)):
            if process.poll() is not None:
                raise StartError(f"{what} exited with {process.returncode}; see {self.workdir}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            await asyncio.sleep(0.02)
        raise StartError(f"{what} did not listen on {port} within {timeout} s")

    async def _wait_log(self, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
        for _ in range(int(timeout / 0.02)):
            if READY in log.read_text(errors="replace"):
                return
            if process.poll() is not None:
                if process.returncode == -signal.SIGKILL:
                    return  # a failpoint fired while recovering: the watcher restarts it
                raise StartError(f"runtime exited with {process.returncode}:\n{log.read_text()}")
            await asyncio.sleep(0.02)
        raise StartError(f"runtime did not start within {timeout} s:\n{log.read_text()}")


def _fill(path: Path) -> None:
    """Write ``path`` until its filesystem has no block left."""
    with path.open("wb", buffering=0) as sink:
        for chunk in (b"\0" * (1 << 20), b"\0" * 4096):  # tmpfs allocates whole pages
            try:
                while True:
                    sink.write(chunk)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise


@contextlib.contextmanager
def small_disk(path: Path, size_mb: int = DISK_MB) -> Iterator[Path]:
    """A tmpfs of ``size_mb`` mounted at ``path`` while the block runs: a filesystem a disk-full fault may
    fill without touching anyone else's. Needs root (``mount``); raises StartError where it can not."""
    path.mkdir(parents=True, exist_ok=True)
    command = ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "verifier", str(path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as error:
        raise StartError(f"the disk-full fault needs to mount a tmpfs: {error}") from None
    if done.returncode != 0:
        raise StartError(f"the disk-full fault needs to mount a tmpfs (root): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], capture_output=True, check=False)


def can_fill_a_disk() -> bool:
    """Whether :func:`small_disk` works here (root, with mount), tried on a throw-away folder."""
    with tempfile.TemporaryDirectory(prefix="verifier-disk-") as folder:
        try:
            with small_disk(Path(folder), 1):
                return True
        except StartError:
            return False
