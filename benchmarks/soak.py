"""Soak: bounded concurrent load on loopback; resident memory and open file descriptors sampled over time.

    python benchmarks/soak.py [--seconds 60] [--clients 8] [--json FILE]

Two loads run at the same time for ``--seconds``, every process on its own:
(a) the local runtime (``statefun-faas run``) fed through its playground ingress, its egress popped
    by readers, its functions behind the verifier's fault wrapper around our ASGI app under uvicorn;
    every few seconds that server answers a few requests with an injected 503 (the runtime retries);
(b) an adapter server (``statefun-faas serve``: our ASGI app under uvicorn) called directly with
    ToFunction requests, one in 50 of them malformed on purpose (an injected 400).
Errors are anything else: an ingress answer other than 200, a message that never reaches the egress
or reaches it twice, a dead letter, a runtime retry no injected fault explains, an adapter answer
other than 200 (or 400 for the injected ones). RSS and fd counts are printed, not judged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiohttp

from statefun_faas import _wire

HERE = Path(__file__).resolve().parent
FAULTY = HERE.parent / "tests" / "verifier" / "faulty.py"
FUNCTIONS = HERE / "runtime_functions.py"
MODULE = """kind: io.statefun.endpoints.v2/http
spec:
  functions: bench/*
  urlPathTemplate: http://127.0.0.1:{server}/statefun
---
kind: io.statefun.playground.v1/ingress
spec: {{port: {ingress}}}
---
kind: io.statefun.playground.v1/egress
spec: {{port: {egress}, topics: [out]}}
"""
KEYS = 1000
BAD_EVERY = 50


@dataclass
class Usage:
    """One process's resident memory (MB) and open fds: at load start, after the load, and the most seen."""

    rss_before: float = 0.0
    rss_after: float = 0.0
    rss_max: float = 0.0
    fds_before: int = 0
    fds_after: int = 0
    fds_max: int = 0
    samples: int = 0


@dataclass
class Result:
    seconds: float
    ingress_sent: int = 0
    egress_received: int = 0
    lost: int = 0
    duplicated: int = 0
    ingress_errors: int = 0
    dead_letters: int = 0
    runtime_retries: int = 0
    injected_5xx: int = 0
    adapter_requests: int = 0
    adapter_injected_400: int = 0
    adapter_errors: int = 0
    usage: dict[str, Usage] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        unexplained = max(0, self.runtime_retries - self.injected_5xx)
        return self.lost + self.duplicated + self.ingress_errors + self.dead_letters + unexplained + self.adapter_errors


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def usage_of(pid: int) -> tuple[float, int]:
    """Resident MB and open fds of a live process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return rss_kb / 1024.0, len(os.listdir(f"/proc/{pid}/fd"))


class Sampler:
    def __init__(self, processes: dict[str, subprocess.Popen[bytes]]) -> None:
        self.processes = processes
        self.usage = {name: Usage() for name in processes}

    def sample(self, phase: str) -> None:
        for name, process in self.processes.items():
            rss, fds = usage_of(process.pid)
            usage = self.usage[name]
            usage.samples += 1
            usage.rss_max, usage.fds_max = max(usage.rss_max, rss), max(usage.fds_max, fds)
            if phase == "before":
                usage.rss_before, usage.fds_before = rss, fds
            elif phase == "after":
                usage.rss_after, usage.fds_after = rss, fds

    async def run(self, stop: asyncio.Event, every: float = 0.5) -> None:
        while not stop.is_set():
            self.sample("during")
            await asyncio.sleep(every)


class Processes:
    """The function server, the runtime and the adapter server, on ports chosen here."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.server, self.ingress, self.egress, self.adapter = (free_port() for _ in range(4))
        (workdir / "module.yaml").write_text(
            MODULE.format(server=self.server, ingress=self.ingress, egress=self.egress)
        )
        self.fault_log = workdir / "faults.log"
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> dict[str, subprocess.Popen[bytes]]:
        python = [sys.executable, "-P"]
        server = [*python, str(FAULTY), "--port", str(self.server), "--functions", str(FUNCTIONS)]
        self._spawn("function server", [*server, "--fault-log", str(self.fault_log)], self.server)
        runtime = [*python, "-m", "statefun_faas.cli", "run", "--module", str(self.workdir / "module.yaml")]
        self._spawn("runtime", [*runtime, "--state", str(self.workdir / "state")], self.ingress)
        adapter = [*python, "-m", "statefun_faas.cli", "serve", str(FUNCTIONS), "--port", str(self.adapter)]
        self._spawn("adapter server", adapter, self.adapter)
        return self.running

    def _spawn(self, name: str, command: list[str], port: int) -> None:
        env = dict(os.environ, STATEFUN_FAAS_REQUEST_LOG="off")
        with (self.workdir / f"{name.replace(' ', '-')}.log").open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.running[name] = process
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        raise SystemExit(f"{name} did not start; see {self.workdir}")

    def stop(self) -> None:
        for process in self.running.values():
            if process.poll() is None:
                process.terminate()
        for process in self.running.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()

    def runtime_retries(self) -> int:
        return (self.workdir / "runtime.log").read_text(errors="replace").count("; retrying in")

    def dead_letters(self) -> int:
        db = sqlite3.connect(f"file:{self.workdir / 'state' / 'runtime.sqlite3'}?mode=ro", uri=True)
        try:
            return int(db.execute("SELECT count(*) FROM dead_letters").fetchone()[0])
        finally:
            db.close()


def to_function(key: str) -> bytes:
    request = _wire.ToFunction()
    invocation = request.invocation
    invocation.target.namespace, invocation.target.type, invocation.target.id = "bench", "greeter", key
    invocation.state.add(state_name="visits")
    argument = invocation.invocations.add().argument
    argument.typename, argument.has_value, argument.value = "io.statefun.types/string", True, key.encode()
    return bytes(request.SerializeToString())


class Load:
    def __init__(self, processes: Processes, result: Result, clients: int) -> None:
        self.processes, self.result, self.clients = processes, result, clients
        self.sent: set[str] = set()
        self.received: list[str] = []

    async def ingress_client(self, session: aiohttp.ClientSession, number: int, until: float) -> None:
        url = f"http://127.0.0.1:{self.processes.ingress}/bench/greeter"
        count = 0
        while time.monotonic() < until:
            payload = f"{number}-{count}"
            count += 1
            async with session.post(f"{url}/k{random.randrange(KEYS)}", data=payload) as response:
                await response.read()
                if response.status == 200:
                    self.sent.add(payload)
                else:
                    self.result.ingress_errors += 1

    async def egress_reader(self, session: aiohttp.ClientSession, done: asyncio.Event) -> None:
        url = f"http://127.0.0.1:{self.processes.egress}/out"
        while not (done.is_set() and len(self.received) >= len(self.sent)):
            async with session.get(url) as response:
                body = await response.read()
                if response.status == 200:
                    self.received.append(body.decode())
                    continue
            await asyncio.sleep(0.01)

    async def adapter_client(self, session: aiohttp.ClientSession, until: float) -> None:
        url = f"http://127.0.0.1:{self.processes.adapter}/"
        result = self.result
        while time.monotonic() < until:
            result.adapter_requests += 1
            bad = result.adapter_requests % BAD_EVERY == 0
            body = b"\xff\xff not a ToFunction" if bad else to_function(f"k{random.randrange(KEYS)}")
            async with session.post(url, data=body) as response:
                answer = await response.read()
                if bad:
                    result.adapter_injected_400 += 1
                    result.adapter_errors += response.status != 400
                elif response.status != 200 or not _wire.FromFunction.FromString(answer).HasField("invocation_result"):
                    result.adapter_errors += 1

    async def faults(self, session: aiohttp.ClientSession, until: float) -> None:
        url = f"http://127.0.0.1:{self.processes.server}/__faults"
        while time.monotonic() < until - 2:
            await asyncio.sleep(2.0)
            async with session.post(url, data=json.dumps({"kind": "error", "count": 2})) as response:
                await response.read()


async def drive(processes: Processes, sampler: Sampler, seconds: float, clients: int) -> Result:
    result = Result(seconds)
    load = Load(processes, result, clients)
    stop, done = asyncio.Event(), asyncio.Event()
    sampler.sample("before")
    sampling = asyncio.create_task(sampler.run(stop))
    until = time.monotonic() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=4 * clients + 8)) as session:
        readers = [asyncio.create_task(load.egress_reader(session, done)) for _ in range(4)]
        work = [load.ingress_client(session, n, until) for n in range(clients)]
        work += [load.adapter_client(session, until) for _ in range(clients)]
        await asyncio.gather(*work, load.faults(session, until))
        done.set()
        with contextlib.suppress(TimeoutError):  # what is still missing then counts as lost
            await asyncio.wait_for(asyncio.gather(*readers), timeout=60)
    await asyncio.sleep(1.0)
    sampler.sample("after")
    stop.set()
    await sampling
    result.ingress_sent, result.egress_received = len(load.sent), len(load.received)
    result.lost = len(load.sent - set(load.received))
    result.duplicated = len(load.received) - len(set(load.received))
    return result


def run(seconds: float, clients: int = 8, workdir: Path | None = None) -> Result:
    folder = workdir or Path(tempfile.mkdtemp(prefix="statefun-soak-"))
    processes = Processes(folder)
    sampler = Sampler(processes.start())
    try:
        result = asyncio.run(drive(processes, sampler, seconds, clients))
    finally:
        processes.stop()
    result.runtime_retries = processes.runtime_retries()
    result.dead_letters = processes.dead_letters()
    served = processes.fault_log.read_text().split() if processes.fault_log.exists() else []
    result.injected_5xx = len(served)
    result.usage = sampler.usage
    return result


def table(result: Result) -> str:
    lines = [
        f"soak {result.seconds:g} s: {result.ingress_sent} ingress messages, {result.egress_received} egress records, "
        f"lost {result.lost}, duplicated {result.duplicated}, dead letters {result.dead_letters}",
        f"runtime retries {result.runtime_retries} (injected 503s served: {result.injected_5xx}); "
        f"adapter requests {result.adapter_requests} (injected 400s: {result.adapter_injected_400}); "
        f"errors other than injected: {result.errors}",
        "",
        f"{'process':<16} {'RSS MB before':>14} {'after':>7} {'max':>7} {'fds before':>11} {'after':>6} {'max':>5}",
    ]
    for name, u in result.usage.items():
        lines.append(
            f"{name:<16} {u.rss_before:>14.1f} {u.rss_after:>7.1f} {u.rss_max:>7.1f} "
            f"{u.fds_before:>11} {u.fds_after:>6} {u.fds_max:>5}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients per load")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    options = parser.parse_args()
    result = run(options.seconds, options.clients)
    print(table(result))
    if options.json:
        options.json.write_text(json.dumps({**asdict(result), "errors": result.errors}, indent=2))
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
