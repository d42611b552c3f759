"""The local runtime end to end, SQLite durability on: invocations/s and ingress-to-egress latency.

    python benchmarks/runtime.py [--messages N]

Scenarios (a greeter-like counter that writes one playground egress record per message):
(a) in-process functions, 16 ingress clients over 1,000 keys;
(b) the same over HTTP to our ASGI app under uvicorn (its own process);
(c) 16 clients on one hot key over HTTP (the hot key's queue is batched);
(d) one call at a time over HTTP.
Clients PUT to the playground ingress over HTTP from their own process, each payload carrying its send
time; latency is stamped where the record reaches the egress sink (a runtime sink hook), not by polling.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from statefun_faas.runtime.app import Options, Runtime
from statefun_faas.runtime.records import Address, EgressRecord, Envelope, Value
from statefun_faas.target import load_functions

HERE = Path(__file__).resolve().parent
MODULE = """
kind: io.statefun.endpoints.v2/http
spec:
  functions: bench/*
  urlPathTemplate: http://127.0.0.1:{port}/statefun
---
kind: io.statefun.playground.v1/ingress
spec: {{port: 0}}
---
kind: io.statefun.playground.v1/egress
spec: {{port: 0, topics: [out]}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_function_server(port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-P",
        "-m",
        "uvicorn",
        "runtime_functions:app",
        "--app-dir",
        str(HERE),
        "--port",
        str(port),
    ]
    process = subprocess.Popen([*command, "--log-level", "warning", "--lifespan", "off"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.05)
    raise SystemExit("the function server did not start")


async def clients_main(url: str, clients: int, keys: int, messages: int) -> None:
    """The ingress clients (their own process): each message's payload is its send time (monotonic ns)."""
    headers = {"Content-Type": "application/vnd.bench/text"}

    async def client(number: int, session: aiohttp.ClientSession) -> None:
        for i in range(number, messages, clients):
            stamp = str(time.monotonic_ns()).encode()
            async with session.put(f"{url}/k{i % keys}", data=stamp, headers=headers) as response:
                response.raise_for_status()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients)) as session:
        await asyncio.gather(*(client(n, session) for n in range(clients)))


async def drive(runtime: Runtime, clients: int, keys: int, messages: int) -> tuple[float, float, list[float]]:
    """Run the clients in a subprocess; latency is stamped when a record reaches the egress sink."""
    latencies: list[float] = []
    first, last = sys.maxsize, 0
    done = asyncio.Event()

    def sink(record: EgressRecord) -> None:
        nonlocal first, last
        last = time.monotonic_ns()
        sent = int(record.payload)
        first = min(first, sent)
        latencies.append((last - sent) / 1e6)
        if len(latencies) == messages:
            done.set()

    runtime.router.sinks.append(sink)
    url = f"http://127.0.0.1:{runtime.ports['ingress']}/bench/greeter"
    cpu = time.process_time()
    command = [sys.executable, __file__, "--client", url, str(clients), str(keys), str(messages)]
    process = await asyncio.create_subprocess_exec(*command)
    await asyncio.wait_for(done.wait(), 300)
    await process.wait()
    cpu_us = (time.process_time() - cpu) / messages * 1e6
    runtime.router.sinks.remove(sink)
    return messages / ((last - first) / 1e9), cpu_us, latencies


async def scenario(name: str, module_port: int | None, clients: int, keys: int, messages: int) -> str:
    with tempfile.TemporaryDirectory() as folder:
        module = Path(folder) / "module.yaml"
        module.write_text(MODULE.format(port=module_port or 9))
        functions = load_functions(str(HERE / "runtime_functions.py")) if module_port is None else None
        runtime = Runtime([str(module)], functions, Options(state_dir=folder))
        await runtime.start()
        try:
            await drive(runtime, clients, keys, min(200, messages))  # warm-up: registration, connections
            rate, cpu_us, latencies = await drive(runtime, clients, keys, messages)
        finally:
            await runtime.stop()
    quantiles = statistics.quantiles(latencies, n=100)
    p50, p99 = quantiles[49], quantiles[98]
    return f"| {name} | {clients} | {keys} | {messages} | {rate:,.0f} | {p50:.2f} | {p99:.2f} | {cpu_us:.0f} |"


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def memory(addresses: int) -> str:
    """Resident memory of the in-process runtime while ``addresses`` addresses gain state."""
    functions = load_functions(str(HERE / "runtime_functions.py"))
    with tempfile.TemporaryDirectory() as folder:
        module = Path(folder) / "module.yaml"
        module.write_text(MODULE.format(port=9))
        runtime = Runtime([str(module)], functions, Options(state_dir=folder))
        await runtime.start()
        marks = []
        try:
            for start in range(0, addresses, 1000):
                envelopes = [
                    Envelope(Address("bench/greeter", f"k{i}"), Value("bench/text", b"m"))
                    for i in range(start, start + 1000)
                ]
                runtime.router.submit(envelopes)
                await runtime.router.quiescent()
                while runtime.store.pop_egress("io.statefun.playground/egress", "out"):
                    pass
                if (start + 1000) % (addresses // 4) == 0:
                    marks.append(f"{start + 1000:,}: {rss_mb():.0f} MB")
            held = runtime.store.count_state()
        finally:
            await runtime.stop()
    return f"resident memory as addresses gain state ({held:,} values held): " + ", ".join(marks)


async def main(messages: int) -> None:
    logging_off()
    port = free_port()
    server = start_function_server(port)
    try:
        rows = [
            await scenario("(a) in-process", None, 16, 1000, messages),
            await scenario("(b) HTTP, 1,000 keys", port, 16, 1000, messages),
            await scenario("(c) HTTP, one hot key", port, 16, 1, messages),
            await scenario("(d) HTTP, one at a time", port, 1, 1000, messages // 4),
        ]
    finally:
        server.terminate()
        server.wait()
    print("| scenario | clients | keys | messages | invocations/s | p50 ms | p99 ms | runtime CPU us/msg |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    print()
    print(await memory(100_000))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()[0]
    print(f"\nruntime process peak RSS: {rss:.0f} MB; cpus: {os.cpu_count()}; load average: {load:.1f}")


def logging_off() -> None:
    import logging

    logging.getLogger("statefun_faas").setLevel(logging.ERROR)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--client", nargs=4, metavar=("URL", "CLIENTS", "KEYS", "MESSAGES"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.client:
        url, clients, keys, count = arguments.client
        asyncio.run(clients_main(url, int(clients), int(keys), int(count)))
    else:
        asyncio.run(main(arguments.messages))
