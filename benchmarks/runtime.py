"""The local runtime end to end, SQLite durability on: invocations/s and ingress-to-egress latency.

    python benchmarks/runtime.py [--messages N]

Scenarios (a greeter-like counter that writes one playground egress record per message):
(a) in-process functions, 16 ingress clients over 1,000 keys;
(b) the same over HTTP to our ASGI app under uvicorn (its own process);
(c) 16 clients on one hot key over HTTP (the hot key's queue is batched);
(d) one call at a time over HTTP: the next message is sent once the last one reached the egress.
In (a)-(c) each client waits only for its ingress acknowledgement (the message is stored), so when
delivery is slower than ingress a queue builds up and latency includes the time spent in it: these rows
give the highest rate, and latency at saturation. Row (b) paced sends the same traffic at a fixed
2,000 messages/s (the rate the (b) target names), each message stamped with the time it was due, so a
client that falls behind counts its lag (no coordinated omission): latency at a given load.
uvicorn uses httptools when it is installed (pip install httptools): a faster function server.
Clients PUT to the playground ingress over HTTP from their own process (lean keep-alive clients on uvloop, one
request in flight each, so the load generator does not eat the CPU the runtime needs), each payload
carrying its send time; latency is stamped where the record reaches the egress sink (a runtime sink
hook), not by polling. Row (a0) hands the messages to the router in-process (no HTTP ingress): the
router's own ceiling. The machine may be busy: "runtime CPU us/msg" (CPU time of the runtime process
per message) is the number that load disturbs least. The three processes share the machine's cores:
runtime, function server and clients CPU per message together bound the rate (at 10,000/s, 100 us per
message is a whole core).
``--console`` runs every row with the web console on, a browser's worth of page views in a process of their
own reading it all along (the overview and one address's page, twice a second): its cost on the message path.
``--peer restate`` adds rows (b)-(d), and one-way variants of (b) and (c), for the same greeter on Restate
to the table (benchmarks/_restate.py says how it is set up and how it differs).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib.util
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from statefun_faas.cli.target import load_functions
from statefun_faas.runtime.app import Options, Runtime
from statefun_faas.runtime.console import ConsoleOptions
from statefun_faas.runtime.records import Address, EgressRecord, Envelope, Value

sys.path.append(str(Path(__file__).resolve().parent.parent))  # appended: the installed package stays first

from benchmarks._harness import HAS_UVLOOP, Connection, child_environment, free_port, process_cpu, run_loop

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
    if importlib.util.find_spec("httptools") is not None:
        command += ["--http", "httptools"]
    environment = {**child_environment(), "STATEFUN_FAAS_REQUEST_LOG": "off"}
    process = subprocess.Popen([*command, "--log-level", "warning", "--lifespan", "off"], env=environment)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.05)
    raise SystemExit("the function server did not start")


SERVER_PID = [0]


PACED_RATE = 2000.0  # messages/s of row (b) paced: the rate the (b) latency target is stated at


async def clients_main(url: str, clients: int, keys: int, messages: int, lockstep: bool, rate: float = 0.0) -> None:
    """The ingress clients (their own process): each message's payload is its send time (monotonic ns).
    In ``lockstep`` the next message waits for a line on stdin: the previous one reached the egress. With a
    ``rate``, message i is due ``i / rate`` seconds after the start and is stamped with that time."""
    parts = urlsplit(url)
    delivered = asyncio.StreamReader()
    if lockstep:
        protocol = asyncio.StreamReaderProtocol(delivered)
        await asyncio.get_running_loop().connect_read_pipe(lambda: protocol, sys.stdin)
    head = f"PUT {parts.path}/k%d HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/vnd.bench/text\r\n"

    async def client(number: int) -> None:
        connection = await Connection.open(parts.hostname or "127.0.0.1", parts.port or 80)
        for i in range(number, messages, clients):
            due_ns = 0
            if rate:
                due_ns = start_ns + int(i / rate * 1e9)
                await asyncio.sleep(max(0.0, (due_ns - time.monotonic_ns()) / 1e9))
            _, answer, _ = await connection.exchange(head % (i % keys), due_ns)
            if not answer.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"the ingress answered {answer!r}")
            if lockstep:
                await delivered.readline()
        connection.close()

    cpu, start_ns = time.process_time(), time.monotonic_ns()
    await asyncio.gather(*(client(n) for n in range(clients)))
    print(time.process_time() - cpu)  # the clients' CPU seconds, start-up left out


async def drive(
    runtime: Runtime, clients: int, keys: int, messages: int, lockstep: bool = False, rate: float = 0.0
) -> tuple[float, float, float, list[float]]:
    """Run the clients in a subprocess: the rate, the runtime's and the clients' CPU us per message (the
    clients' start-up left out) and the latencies, stamped when a record reaches the egress sink."""
    latencies: list[float] = []
    first, last = sys.maxsize, 0
    done = asyncio.Event()

    def sink(record: EgressRecord) -> None:
        nonlocal first, last
        last = time.monotonic_ns()
        sent = int(record.payload)
        first = min(first, sent)
        latencies.append((last - sent) / 1e6)
        if lockstep and process.stdin is not None:
            process.stdin.write(b"\n")
        if len(latencies) == messages:
            done.set()

    url = f"http://127.0.0.1:{runtime.ports['ingress']}/bench/greeter"
    cpu = time.process_time()
    command = [sys.executable, __file__, "--client", url, *map(str, (clients, keys, messages, int(lockstep), rate))]
    pipe = asyncio.subprocess.PIPE if lockstep else None
    process = await asyncio.create_subprocess_exec(
        *command, env=child_environment(), stdin=pipe, stdout=asyncio.subprocess.PIPE
    )
    runtime.router.sinks.append(sink)
    await asyncio.wait_for(done.wait(), 300)
    output, _ = await process.communicate()
    cpu_us = (time.process_time() - cpu) / messages * 1e6
    runtime.router.sinks.remove(sink)
    return messages / ((last - first) / 1e9), cpu_us, float(output) / messages * 1e6, latencies


async def drive_in_process(
    runtime: Runtime, clients: int, keys: int, messages: int
) -> tuple[float, float, float, list[float]]:
    """Like :func:`drive`, but the clients are coroutines handing messages to the router (no HTTP ingress;
    their CPU is the runtime's, their own column 0)."""
    latencies: list[float] = []
    done = asyncio.Event()

    def sink(record: EgressRecord) -> None:
        latencies.append((time.monotonic_ns() - int(record.payload)) / 1e6)
        if len(latencies) == messages:
            done.set()

    async def client(number: int) -> None:
        for i in range(number, messages, clients):
            argument = Value("bench/text", str(time.monotonic_ns()).encode())
            await runtime.router.submit_grouped([Envelope(Address("bench/greeter", f"k{i % keys}"), argument)])

    runtime.router.sinks.append(sink)
    cpu, started = time.process_time(), time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    await asyncio.wait_for(done.wait(), 300)
    elapsed = time.monotonic() - started
    runtime.router.sinks.remove(sink)
    return messages / elapsed, (time.process_time() - cpu) / messages * 1e6, 0.0, latencies


async def scenario(
    name: str,
    module_port: int | None,
    clients: int,
    keys: int,
    messages: int,
    http_ingress: bool = True,
    rate: float = 0.0,
) -> str:
    """One row; one client means one call at a time (the next message is sent once the last one came out);
    a ``rate`` paces the clients (messages/s in all)."""
    with tempfile.TemporaryDirectory() as folder:
        module = Path(folder) / "module.yaml"
        module.write_text(MODULE.format(port=module_port or 9))
        functions = load_functions(str(HERE / "runtime_functions.py")) if module_port is None else None
        console = ConsoleOptions(port=0) if CONSOLE[0] else None
        runtime = Runtime([str(module)], functions, Options(state_dir=folder, console=console))
        await runtime.start()
        viewer = await view_console(runtime) if console else None
        try:
            if http_ingress:
                run = functools.partial(drive, runtime, clients, keys, lockstep=clients == 1, rate=rate)
            else:
                run = functools.partial(drive_in_process, runtime, clients, keys)
            await run(min(200, messages))  # warm-up: registration, connections
            load = os.getloadavg()[0]
            server_cpu = process_cpu(SERVER_PID[0]) if module_port else 0.0
            rate, cpu_us, clients_us, latencies = await run(messages)
            server_us = (process_cpu(SERVER_PID[0]) - server_cpu) / messages * 1e6 if module_port else 0.0
        finally:
            if viewer is not None:
                viewer.kill()
                await viewer.wait()
            await runtime.stop()
    quantiles = statistics.quantiles(latencies, n=100)
    p50, p99 = quantiles[49], quantiles[98]
    per_cpu_s = 1e6 / cpu_us
    return (
        f"| {name} | {clients} | {keys} | {messages} | {rate:,.0f} | {p50:.2f} | {p99:.2f} | {cpu_us:.0f} "
        f"| {per_cpu_s:,.0f} | {server_us:.0f} | {clients_us:.0f} | {load:.1f} |"
    )


CONSOLE = [False]  # --console
VIEWER = """
import sys, time, urllib.request
while True:
    for path in ("/", "/address/bench/greeter/k1"):
        urllib.request.urlopen(sys.argv[1] + path).read()
    time.sleep(0.5)
"""


async def view_console(runtime: Runtime) -> asyncio.subprocess.Process:
    """A viewer of the console in its own process (its CPU is not the runtime's), reading pages until killed."""
    url = f"http://127.0.0.1:{runtime.ports['console']}"
    return await asyncio.create_subprocess_exec(sys.executable, "-c", VIEWER, url, env=child_environment())


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


async def main(
    messages: int, only: list[str], peer: str = "", sdk_server: str = "uvicorn", paced_rate: float = PACED_RATE
) -> None:
    logging_off()
    port = free_port()
    server = start_function_server(port)
    SERVER_PID[0] = server.pid
    try:
        plans = {
            "a0": ("(a0) in-process, no HTTP ingress", None, 16, 1000, messages, False, 0.0),
            "a": ("(a) in-process", None, 16, 1000, messages, True, 0.0),
            "b": ("(b) HTTP, 1,000 keys", port, 16, 1000, messages, True, 0.0),
            "bp": (f"(b) paced at {paced_rate:,.0f}/s, HTTP, 1,000 keys", port, 16, 1000, messages, True, paced_rate),
            "c": ("(c) HTTP, one hot key", port, 16, 1, messages, True, 0.0),
            "d": ("(d) HTTP, one at a time", port, 1, 1000, messages // 4, True, 0.0),
        }
        rows = [await scenario(*plans[name]) for name in only if name in plans]
    finally:
        server.terminate()
        server.wait()
    note = ""
    if peer == "restate":  # the side-by-side peer: the same greeter on Restate, after ours (benchmarks/_restate.py)
        from benchmarks._restate import peer_rows

        peer_table, note = await asyncio.to_thread(peer_rows, messages, only, sdk_server)
        rows += peer_table
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    runtime_from = Path(sys.modules["statefun_faas"].__file__ or "").parent
    viewed = "on, its pages read twice a second" if CONSOLE[0] else "off"
    print(f"runtime from {runtime_from} on {loop}; function server: uvicorn with {http}; console {viewed}")
    print(
        "| scenario | clients | keys | messages | invocations/s | p50 ms | p99 ms | runtime CPU us/msg "
        "| msg per runtime CPU-s | function server CPU us/msg | clients CPU us/msg | load avg |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    if note:
        print(note)
    if "m" in only:
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
    parser.add_argument("--only", default="a0,a,b,bp,c,d,m", help="what to run, e.g. b,c (m: the memory run)")
    parser.add_argument(
        "--loop",
        choices=["asyncio", "uvloop"],
        default="uvloop" if HAS_UVLOOP else "asyncio",
        help="the runtime's event loop (statefun-faas run uses uvloop when the [fast] extra installed it)",
    )
    parser.add_argument("--peer", choices=["restate"], help="also run (b), (c), (d) on Restate (npm and PyPI needed)")
    parser.add_argument(
        "--restate-sdk-server",
        choices=["uvicorn", "hypercorn"],
        default="uvicorn",
        help="the Restate greeter's server: uvicorn with httptools over HTTP/1.1 (like ours), or hypercorn over HTTP/2",
    )
    parser.add_argument("--paced-rate", type=float, default=PACED_RATE, help="messages/s of row (b) paced")
    parser.add_argument("--console", action="store_true", help="the web console on, its pages read all along")
    parser.add_argument("--client", nargs=6, help=argparse.SUPPRESS)  # URL CLIENTS KEYS MESSAGES LOCKSTEP RATE
    arguments = parser.parse_args()
    if arguments.client:
        url, clients, keys, count, lockstep, rate = arguments.client
        run_loop(clients_main(url, int(clients), int(keys), int(count), lockstep == "1", float(rate)))
    else:
        CONSOLE[0] = arguments.console
        only = arguments.only.split(",")
        runs = main(arguments.messages, only, arguments.peer or "", arguments.restate_sdk_server, arguments.paced_rate)
        run_loop(runs, on_uvloop=arguments.loop == "uvloop")
