"""Restate as the side-by-side peer of benchmarks/runtime.py (``--peer restate``): the same greeter, same client shape.

    python benchmarks/runtime.py --peer restate [--only b,c,d] [--restate-sdk-server uvicorn|hypercorn]

Set-up: restate-server 1.7.12 from npm (``npm install --prefix ~/.cache/statefun-faas/restate``, reused when
present), restate-sdk 1.2.0 from PyPI in its own venv (tests/venvs.py). The server runs on free loopback ports
with its data in a temporary folder and its defaults otherwise (durable: its log server fsyncs each record
before it counts as written, and the partition state is rebuilt from that log; 24 partitions); RESTATE_*
variables in the environment reach it (for example RESTATE_DEFAULT_NUM_PARTITIONS=2). The greeter
(benchmarks/restate_greeter.py) is a virtual object keyed by id whose state "visits" counts the messages, in
its own process, served by uvicorn with httptools over HTTP/1.1 (the request-response protocol, registered
with ``use_http_11``: the same server as our function server) or by hypercorn over HTTP/2 (the bidirectional
protocol, as Restate's Python docs run it), and registered through the admin API (``POST /deployments``).

How the Restate path differs: Restate has no egress. The main rows call ``POST /greeter/k<n>/greet`` through
the request-response ingress: the answer comes once the invocation has completed and its state change is
stored, and the greeter returns the message (the record StateFun's greeter writes to egress). Latency is that
call's round trip, stamped by the client when the answer arrives (ours: when the record reaches the egress
sink, without the hop back to a client). Each client has one call in flight, so at most 16 messages are in the
system, while our clients only wait for the ingress to store the message, so our queues can grow and our
latency includes the time spent in them. The "one-way" rows of (b) and (c) have our shape:
``POST /greeter/k<n>/record/send`` is answered (202) once Restate stored the invocation, and the handler ``record``
reports the message to this process by a UDP datagram, the egress stand-in, where latency is stamped; the
report leaves when the handler returns, before Restate stores the invocation's end (one log append), which
favours Restate a little. (d) is the same shape on both: the next message goes once the last one came out. In
(c) Restate runs the hot key's calls one after another (an exclusive handler of a virtual object; nothing
batches them), so its rate there is about (d)'s, where ours hands the hot key's queue to the function in
batches. "runtime CPU" is the restate-server process's, "function server CPU" the SDK process's. When Restate
cannot be installed or started here, the rows are replaced by a note saying why.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

sys.path.append(str(Path(__file__).resolve().parent.parent))  # appended: the installed package stays first

from benchmarks._harness import Connection, child_environment, free_port, process_cpu, run_loop
from tests.venvs import cache_root, ensure_venv, locked

HERE = Path(__file__).resolve().parent
SERVER_PACKAGE = "@restatedev/restate-server@1.7.12"
BINARIES = "node_modules/@restatedev/restate-server-*/bin/restate-server"  # one package per platform
SDK_REQUIREMENTS = ("restate-sdk==1.2.0", "hypercorn==0.18.0", "uvicorn==0.54.0", "httptools==0.9.0")
PLANS = (  # scenario, label, clients, keys, share of --messages, ingress: "call" (greet) or "send" (record/send)
    ("b", "1,000 keys", 16, 1000, 1, "call"),
    ("b", "1,000 keys, one-way", 16, 1000, 1, "send"),
    ("c", "one hot key", 16, 1, 1, "call"),
    ("c", "one hot key, one-way", 16, 1, 1, "send"),
    ("d", "one at a time", 1, 1000, 4, "call"),
)


class UnavailableError(Exception):
    """Restate cannot run here; the message says why and what to do."""


class Peer(NamedTuple):
    ingress: str
    server_pid: int
    sdk_pid: int
    records: socket.socket  # where the greeter's ``record`` handler reports each message (UDP)


def server_binary() -> Path:
    """restate-server from npm, installed once into the cache folder."""
    folder = cache_root().parent / "restate"
    found = sorted(folder.glob(BINARIES))
    if found:
        return found[0]
    npm = shutil.which("npm")
    if npm is None:
        raise UnavailableError("npm is not on PATH; install Node.js (npm) to run the Restate peer")
    with locked(folder / ".lock"):
        command = [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", SERVER_PACKAGE]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    found = sorted(folder.glob(BINARIES))
    if result.returncode != 0 or not found:
        raise UnavailableError(f"npm install {SERVER_PACKAGE} gave no binary for this platform:\n{result.stderr}")
    return found[0]


def sdk_python() -> Path:
    try:
        return ensure_venv("restate-sdk", SDK_REQUIREMENTS)
    except RuntimeError as error:
        raise UnavailableError(str(error)) from error


@contextmanager
def running(command: list[str], log: Path, environment: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        try:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=environment)
        except OSError as error:  # for example a binary for another platform
            raise UnavailableError(f"could not start {command[0]}: {error}") from error
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def http(method: str, url: str, body: object = None) -> bytes:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"}, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return bytes(response.read())


def until_ok(method: str, url: str, body: object, what: str, logs: list[Path]) -> bytes:
    """Retry a call for up to 30 s while the processes start; name the step and show the logs when it fails."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return http(method, url, body)
        except OSError as error:  # refused while starting, or an HTTP error status
            if time.monotonic() > deadline:
                tails = "\n".join(f"--- {log.name}:\n{log.read_text(errors='replace')[-2000:]}" for log in logs)
                raise UnavailableError(f"{what} failed: {error}\n{tails}") from error
            time.sleep(0.2)


@contextmanager
def restate(sdk_server: str) -> Iterator[Peer]:
    """restate-server and the greeter's SDK process, started, registered and answering."""
    binary, python = server_binary(), sdk_python()
    ingress, admin, node, sdk = (free_port() for _ in range(4))
    environment = {
        **child_environment(),
        "RESTATE_INGRESS__BIND_ADDRESS": f"127.0.0.1:{ingress}",
        "RESTATE_ADMIN__BIND_ADDRESS": f"127.0.0.1:{admin}",
        "RESTATE_BIND_ADDRESS": f"127.0.0.1:{node}",
        "RESTATE_DISABLE_TELEMETRY": "true",
    }
    records = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    records.bind(("127.0.0.1", 0))
    records.settimeout(0.5)
    report_to = {**child_environment(), "GREETER_RECORDS_PORT": str(records.getsockname()[1])}
    with records, tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        logs = [Path(folder) / "restate-server.log", Path(folder) / "greeter.log"]
        server_command = [str(binary), "--no-logo", "--base-dir", folder, "--listen-mode", "tcp"]
        server = stack.enter_context(running(server_command, logs[0], environment))
        greeter_command = [str(python), str(HERE / "restate_greeter.py"), str(sdk), sdk_server]
        greeter = stack.enter_context(running(greeter_command, logs[1], report_to))
        until_ok("GET", f"http://127.0.0.1:{admin}/health", None, "restate-server start", logs)
        deployment = {"uri": f"http://127.0.0.1:{sdk}", "use_http_11": sdk_server == "uvicorn", "force": True}
        until_ok("POST", f"http://127.0.0.1:{admin}/deployments", deployment, "registering the greeter", logs)
        url = f"http://127.0.0.1:{ingress}/greeter"
        until_ok("POST", f"{url}/warm-up/greet", 1, "a first call through the ingress", logs)
        yield Peer(url, server.pid, greeter.pid, records)


async def clients_main(url: str, clients: int, keys: int, messages: int, ingress: str) -> None:
    """The ingress clients (their own process): keep-alive, one call in flight each; prints the round trips.
    A one-way ``send`` is answered (202) once Restate stored the invocation; a ``call`` when it completed."""
    parts = urlsplit(url)
    path = f"{parts.path}/k%d/" + ("greet" if ingress == "call" else "record/send")
    head = f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
    status = b"HTTP/1.1 200" if ingress == "call" else b"HTTP/1.1 202"
    latencies: list[float] = []
    ends: list[int] = []

    async def client(number: int) -> None:
        connection = await Connection.open(parts.hostname or "127.0.0.1", parts.port or 80)
        for i in range(number, messages, clients):
            stamp, answer, body = await connection.exchange(head % (i % keys))
            ends.append(time.monotonic_ns())
            if not answer.startswith(status) or (ingress == "call" and body != stamp):
                raise SystemExit(f"the Restate ingress answered {answer!r} {body!r} to {stamp!r}")
            latencies.append((ends[-1] - int(stamp)) / 1e6)
        connection.close()

    started, cpu = time.monotonic_ns(), time.process_time()
    await asyncio.gather(*(client(n) for n in range(clients)))
    cpu = time.process_time() - cpu
    print(json.dumps({"seconds": (max(ends) - started) / 1e9, "latencies": latencies, "cpu": cpu}))


def drive(peer: Peer, clients: int, keys: int, messages: int, ingress: str) -> tuple[float, list[float], float]:
    """Run the clients: the rate, the latencies and the clients' CPU seconds. For ``send``, latency ends when the
    greeter reports the message (before Restate stores the invocation's end: in Restate's favour, by one log
    append)."""
    arguments = [peer.ingress, str(clients), str(keys), str(messages), ingress]
    with subprocess.Popen([sys.executable, __file__, "--client", *arguments], stdout=subprocess.PIPE) as process:
        reported = records(peer.records, messages, process) if ingress == "send" else {}
        output = process.communicate()[0]
    if process.returncode != 0:
        raise UnavailableError(f"the Restate clients failed ({clients} clients, {keys} keys, {ingress})")
    if ingress == "send" and len(reported) < messages:
        raise UnavailableError(f"the greeter reported {len(reported)} of {messages} one-way messages in 300 s")
    report = json.loads(output)
    if ingress == "call":
        return messages / report["seconds"], report["latencies"], report["cpu"]
    first, last = min(reported), max(reported.values())
    return messages / ((last - first) / 1e9), [(end - sent) / 1e6 for sent, end in reported.items()], report["cpu"]


def records(sink: socket.socket, messages: int, clients: subprocess.Popen[bytes]) -> dict[int, int]:
    """Send stamp -> arrival of each message's report (UDP, first copy counts), until all came or the clients failed."""
    reported: dict[int, int] = {}
    deadline = time.monotonic() + 300
    while len(reported) < messages and time.monotonic() < deadline:
        try:
            stamp = int(sink.recv(64))
        except TimeoutError:
            if clients.poll():  # they failed
                break
            continue
        reported.setdefault(stamp, time.monotonic_ns())
    return reported


def row(peer: Peer, plan: tuple[str, str, int, int, int, str], messages: int) -> str:
    name, label, clients, keys, share, ingress = plan
    messages //= share
    drive(peer, clients, keys, min(200, messages), ingress)  # warm-up
    load = os.getloadavg()[0]
    server_cpu, sdk_cpu = process_cpu(peer.server_pid), process_cpu(peer.sdk_pid)
    rate, latencies, clients_cpu = drive(peer, clients, keys, messages, ingress)
    clients_us = clients_cpu / messages * 1e6
    server_us = (process_cpu(peer.server_pid) - server_cpu) / messages * 1e6
    sdk_us = (process_cpu(peer.sdk_pid) - sdk_cpu) / messages * 1e6
    quantiles = statistics.quantiles(latencies, n=100)
    return (
        f"| ({name}) Restate, {label} | {clients} | {keys} | {messages} | {rate:,.0f} | {quantiles[49]:.2f} "
        f"| {quantiles[98]:.2f} | {server_us:.0f} | {1e6 / server_us:,.0f} | {sdk_us:.0f} | {clients_us:.0f} "
        f"| {load:.1f} |"
    )


def peer_rows(messages: int, only: list[str], sdk_server: str = "uvicorn") -> tuple[list[str], str]:
    """The Restate rows for the scenarios in ``only`` (b, c, d), and a note on how they ran or why they did not."""
    plans = [plan for name in only for plan in PLANS if plan[0] == name]
    if not plans:
        return [], ""
    rows: list[str] = []
    try:
        with restate(sdk_server) as peer:
            for plan in plans:
                rows.append(row(peer, plan, messages))
    except UnavailableError as error:
        return rows, f"Restate peer not run{' to the end' if rows else ''}: {error}"
    served = "hypercorn, HTTP/2" if sdk_server == "hypercorn" else "uvicorn with httptools, HTTP/1.1"
    return rows, (
        f"Restate rows: restate-server 1.7.12, restate-sdk 1.2.0 under {served}; latency is the call's round trip, "
        "one-way: from the send to the greeter's report (see benchmarks/_restate.py)"
    )


if __name__ == "__main__":
    url, clients, keys, count, ingress = sys.argv[2:7]
    run_loop(clients_main(url, int(clients), int(keys), int(count), ingress))
