"""The processes under test: ``statefun-faas run`` and the faulty function server, killed and restarted.

Ports are chosen once, so a restarted runtime or server comes back where the driver expects it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.runtime.processes import free_port

HERE = Path(__file__).parent
READY = "running; Ctrl-C stops"
READ_TIMEOUT_S = 1.0

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
        self.state = self.workdir / "state"
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

    async def stop(self) -> None:
        """End both processes: the runtime gracefully when it still runs, the server at once."""
        if self.runtime is not None and self.runtime.poll() is None:
            self.runtime.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self.runtime.wait, 20)
            except subprocess.TimeoutExpired:
                self.runtime.kill()
                self.runtime.wait()
        await self.kill_server()

    def runtime_died(self) -> int | None:
        """The exit status when the runtime ended on its own (a failpoint fired or it crashed)."""
        return None if self.runtime is None else self.runtime.poll()

    # -- the store, read only ---------------------------------------------------------------------

    def pending(self) -> tuple[int, int]:
        """Messages waiting in inboxes and delayed messages not yet fired."""
        row = self._query("SELECT (SELECT count(*) FROM inbox), (SELECT count(*) FROM delayed)")[0]
        return int(row[0]), int(row[1])

    def dead_letters(self) -> list[tuple[str, str]]:
        return [(str(id_), str(reason)) for id_, reason in self._query("SELECT id, reason FROM dead_letters")]

    def _query(self, sql: str) -> list[tuple[Any, ...]]:
        db = sqlite3.connect(f"file:{self.state / 'runtime.sqlite3'}?mode=ro", uri=True)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

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
