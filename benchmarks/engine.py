"""Our function tier and our local runtime behind and beside the real Apache Flink StateFun 3.3.0, side by side.

    python benchmarks/engine.py [--messages N] [--warmup N] [--repeat N] [--rate R] [--keys N] [--keep]

One run, one Kafka broker, one greeter (benchmarks/engine_functions.py: a visit count in state, one Kafka
egress record per message), the same load for every contender (benchmarks/_engine_load.py: Kafka in, Kafka
out; each message stamped by the load producer, each egress record by the broker's clock when it arrives):

(1) the function tier behind real StateFun (the harness: Flink 1.16.2's MiniCluster in one JVM, the shipped
    flink-conf.yaml): our ASGI app under uvicorn (``statefun-faas serve``) against the reference SDK
    (apache-flink-statefun 3.3.0 in an aiohttp route, in its own venv);
(2) the runtime, both calling our ASGI app under uvicorn (the same function server): the StateFun harness
    against our local runtime (``statefun-faas run``, its Kafka ingress and egress bound to the same broker).

All three contenders run at once (each idle while another is measured). After a warm-up, each runtime's CPU
is read over ``--idle`` seconds of nothing sent. Then ``--repeat`` rounds of bursts give each contender in turn
``--messages`` sent as fast as the producer takes them (messages/s from the first stamp to the last egress
record, the median printed; CPU per message), then as many rounds of paced phases give each ``--messages`` at
``--rate``/s, the same for all: p50/p99 ingress-to-egress latency, pooled over the rounds. CPU is user plus
system seconds of a process (all its threads) from /proc, before and after; peak RSS is the runtime process's
VmHWM at the end. The egress is at-least-once on both runtimes (exactly-once makes StateFun's records visible
only at checkpoints, and ours delivers it at-least-once anyway). Nothing is asserted; a part that can not
run says why in its row.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import functools
import os
import re
import shutil
import statistics
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks._engine_load import Load, Sample, create_topics  # noqa: E402  (after the path set-up)
from benchmarks._harness import process_cpu  # noqa: E402
from benchmarks.engine_functions import EGRESS, TEXT_TYPE  # noqa: E402
from tests.deploy.module_cli import console_script  # noqa: E402
from tests.engine import processes  # noqa: E402
from tests.engine.kafka import KafkaBroker  # noqa: E402
from tests.engine.processes import Service  # noqa: E402
from tests.engine.serving import TOKEN, FunctionServer, kafka_egress, kafka_ingress, write_module  # noqa: E402
from tests.engine.statefun import HarnessRuntime  # noqa: E402
from tests.runtime.invoke.test_reference_sdk import REQUIREMENTS  # noqa: E402  (its venv, reused)
from tests.venvs import ensure_venv  # noqa: E402

FUNCTIONS = HERE / "engine_functions.py"
OURS = "statefun-faas ASGI app under uvicorn (statefun-faas serve)"
REFERENCE = "apache-flink-statefun 3.3.0 under aiohttp (handle_async)"
HARNESS = "StateFun 3.3.0 harness (Flink 1.16.2 MiniCluster, one JVM)"
LOCAL = "statefun-faas run (local runtime, SQLite)"


class Stoppable(Protocol):
    def stop(self) -> None: ...


S = TypeVar("S", bound=Stoppable)
T = TypeVar("T")


@dataclass
class Contender:
    """A runtime calling a function tier, fed through its own ingress topic."""

    runtime: str
    tier: str
    topic: str
    runtime_pid: int = 0
    server_pid: int = 0
    problem: str = ""  # why it can not run (then it is left out)
    idle_cpu: float = 0.0  # the runtime's CPU seconds per second while nothing is sent
    samples: list[tuple[str, Sample]] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.problem and bool(self.runtime_pid and self.server_pid)


def peak_rss_mb(pid: int) -> float:
    found = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(found[1]) / 1024 if found else 0.0


def why(error: BaseException) -> str:
    return " ".join(f"{type(error).__name__}: {error}".split())[:300]


def owned(stack: contextlib.ExitStack[bool | None], thing: S) -> S:
    """``thing``, stopped when the run ends."""
    stack.callback(thing.stop)
    return thing


def attempt(what: str, affected: list[Contender], start: Callable[[], T]) -> T | None:
    """``start()``; if it fails, the affected contenders' rows say why."""
    try:
        return start()
    except Exception as error:
        for contender in affected:
            contender.problem = f"{what} did not start: {why(error)}"
        return None


def start_reference(stack: contextlib.ExitStack[bool | None], folder: Path, env: dict[str, str]) -> Service:
    """The reference greeter in its own venv; returns once it listens (its port is its log's first line)."""
    python = ensure_venv("reference-aiohttp", REQUIREMENTS)
    command = [str(python), str(HERE / "_engine_reference.py"), str(FUNCTIONS)]
    log = folder / "reference.log"
    service = owned(stack, processes.start("reference aiohttp", command, log, {**os.environ, **env}))
    processes.wait_until(lambda: listening_port(service) > 0, "the reference server", [service], 60)
    return service


def listening_port(service: Service) -> int:
    """The port the reference server printed first (0 before it did)."""
    first = service.log.read_text(errors="replace").split("\n", 1)[0].strip()
    return int(first) if first.isdigit() else 0


def harness_module(folder: Path, bootstrap: str, ours: str, reference: str, topics: dict[str, str]) -> Path:
    """module.yaml as ``statefun-faas module`` writes it for our server, plus the same endpoint for the reference."""
    routes = {topic: (TEXT_TYPE, [typename]) for typename, topic in topics.items()}
    io = [kafka_ingress("bench/in", bootstrap, routes), kafka_egress(EGRESS, bootstrap, exactly_once=False)]
    path = write_module(folder / "harness.yaml", ours, "faas/*", io, TOKEN)
    documents = list(yaml.safe_load_all(path.read_text()))
    endpoint = copy.deepcopy(next(d for d in documents if d["kind"].startswith("io.statefun.endpoints")))
    endpoint["spec"].update(functions="reference/*", urlPathTemplate=reference + "/{function.name}")
    path.write_text(yaml.safe_dump_all([*documents, endpoint], sort_keys=False))
    return path


def start_harness(
    stack: contextlib.ExitStack[bool | None], folder: Path, module: Path, interval: str
) -> HarnessRuntime:
    harness = owned(stack, HarnessRuntime(folder / "harness", module, interval))
    return harness.start()


def start_local(
    stack: contextlib.ExitStack[bool | None], folder: Path, bootstrap: str, ours: str, topic: str
) -> Service:
    """``statefun-faas run`` on a module.yaml with Kafka in and out; returns once both are bound to the broker."""
    io = [
        kafka_ingress("bench/in", bootstrap, {topic: (TEXT_TYPE, ["faas/greeter"])}, group="statefun-faas-bench"),
        kafka_egress(EGRESS, bootstrap, exactly_once=False),
    ]
    module = write_module(folder / "local.yaml", ours, "faas/*", io, TOKEN)
    command = [console_script(), "run", "--module", str(module), "--state", str(folder / "state")]
    service = owned(stack, processes.start("statefun-faas run", command, folder / "local.log"))

    def bound() -> bool:  # the ingress and the egress
        return service.log.read_text().count("bound through aiokafka") >= 2

    processes.wait_until(bound, "statefun-faas run to bind Kafka", [service], 60)
    return service


async def idle(contenders: list[Contender], seconds: float) -> None:
    """Each runtime's CPU while nothing is sent, all of them up."""
    ready = [contender for contender in contenders if contender.ready]
    before = {contender.runtime_pid: process_cpu(contender.runtime_pid) for contender in ready}
    await asyncio.sleep(seconds)
    for contender in ready:
        contender.idle_cpu = (process_cpu(contender.runtime_pid) - before[contender.runtime_pid]) / seconds


async def measure(bootstrap: str, egress: str, contenders: list[Contender], options: argparse.Namespace) -> None:
    """Warm every contender up, measure the runtimes idle, then the bursts, then the paced phases (each round
    gives every contender its turn)."""
    rate = options.rate

    async def run(contender: Contender, kind: str, count: int, at: float, timeout: float) -> None:
        if not contender.ready:
            return
        try:
            pids = (contender.runtime_pid, contender.server_pid)
            contender.samples.append((kind, await load.phase(contender.topic, count, at, pids, timeout)))
        except Exception as error:
            contender.problem = f"{kind} phase failed: {why(error)}"

    async with Load(bootstrap, egress, options.keys) as load:
        for contender in contenders:
            await run(contender, "warm-up", options.warmup, 0.0, 300)
            contender.samples.clear()
        await idle(contenders, options.idle)
        for _ in range(options.repeat):
            for contender in contenders:
                await run(contender, "burst", options.messages, 0.0, 120 + options.messages / 20)
        for _ in range(options.repeat):
            for contender in contenders:
                await run(contender, "paced", options.messages, rate, 120 + options.messages / rate * 2)


def figures(contender: Contender) -> tuple[float, float, float, float, float]:
    """Median burst rate, p50 and p99 of the paced latencies, runtime and function tier CPU us per message in
    the bursts."""
    bursts = [sample for kind, sample in contender.samples if kind == "burst"]
    latencies = [latency for kind, s in contender.samples if kind == "paced" for latency in s.latencies]
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    messages = sum(sample.messages for sample in bursts)
    runtime_cpu = sum(sample.runtime_cpu for sample in bursts) / messages * 1e6
    server_cpu = sum(sample.server_cpu for sample in bursts) / messages * 1e6
    rate = statistics.median(sample.rate for sample in bursts)
    return rate, quantiles[49], quantiles[98], runtime_cpu, server_cpu


def row(contender: Contender, columns: str) -> str:
    """A table row, named by the contender's function tier (table 1) or runtime (table 2); ``columns`` picks
    the figures after the latency (t: function tier CPU, r: runtime CPU, i: runtime idle CPU, m: runtime peak
    RSS)."""
    name = contender.runtime if "r" in columns else contender.tier
    if contender.problem or not any(kind == "paced" for kind, _ in contender.samples):
        return f"| {name} | could not run: {contender.problem or 'no measured phase'} |"
    rate, p50, p99, runtime_cpu, server_cpu = figures(contender)
    cells = [f"{rate:,.0f}", f"{p50:.1f}", f"{p99:.1f}"]
    extra = {
        "r": f"{runtime_cpu:.0f}",
        "i": f"{contender.idle_cpu * 100:.1f}",
        "m": f"{peak_rss_mb(contender.runtime_pid):.0f}",
        "t": f"{server_cpu:.0f}",
    }
    return "| " + " | ".join([name, *cells, *(extra[c] for c in columns)]) + " |"


def print_tables(contenders: list[Contender], options: argparse.Namespace) -> None:
    ours_harness, reference_harness, ours_local = contenders
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(
        f"{options.messages:,} messages per phase over {options.keys:,} keys, {options.warmup:,} warm-up, "
        f"{options.repeat} repeat(s); paced at {options.rate:,.0f}/s; Kafka 3.9.1 (one KRaft node), one partition, "
        f"egress at-least-once; {os.cpu_count()} cpus, load average {load}"
    )
    print(f"\n(1) function tier behind real StateFun ({HARNESS})\n")
    print("| function tier | messages/s | p50 ms | p99 ms | function tier CPU us/msg |")
    print("|---|---|---|---|---|")
    print(row(ours_harness, "t"))
    print(row(reference_harness, "t"))
    print(f"\n(2) runtime, both calling the same function server ({OURS})\n")
    print(
        "| runtime | messages/s | p50 ms | p99 ms | runtime CPU us/msg | runtime idle CPU % | runtime peak RSS MB "
        "| function tier CPU us/msg |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(row(ours_harness, "rimt"))
    print(row(ours_local, "rimt"))
    print(
        "\nmessages/s: median of the bursts, first stamp to last egress record; latency: producer stamp to the "
        "broker's append of the egress record (ms clock), paced phases pooled; CPU us/msg: in the bursts; idle CPU: "
        "% of one core while nothing is sent. The harness row of (2) is the first row of (1), the same run."
    )


def set_up(
    stack: contextlib.ExitStack[bool | None], folder: Path, options: argparse.Namespace, contenders: list[Contender]
) -> str:
    """Start the broker (unless ``--bootstrap`` names one), both function tiers and both runtimes; the broker."""
    ours_harness, reference_harness, ours_local = contenders
    bootstrap = options.bootstrap or owned(stack, KafkaBroker(folder / "kafka").start()).bootstrap
    asyncio.run(create_topics(bootstrap, [c.topic for c in contenders], options.egress))
    env = {"BENCH_OUT_TOPIC": options.egress, "STATEFUN_FAAS_REQUEST_LOG": "off"}
    server = owned(stack, FunctionServer(folder / "serve", str(FUNCTIONS), env))
    ours_harness.server_pid = ours_local.server_pid = server.service.pid if server.service else 0
    reference = attempt("the reference server", [reference_harness], lambda: start_reference(stack, folder, env))
    reference_harness.server_pid = reference.pid if reference else 0
    reference_url = f"http://127.0.0.1:{listening_port(reference) if reference else 9}"  # 9: its route stays idle
    routes = {"faas/greeter": ours_harness.topic, "reference/greeter": reference_harness.topic}
    module = harness_module(folder, bootstrap, server.url, reference_url, routes)
    start = functools.partial(start_harness, stack, folder, module, options.checkpoint_interval)
    harness = attempt("the StateFun harness", [ours_harness, reference_harness], start)
    ours_harness.runtime_pid = reference_harness.runtime_pid = harness.services[0].pid if harness else 0
    local = attempt(
        "statefun-faas run", [ours_local], lambda: start_local(stack, folder, bootstrap, server.url, ours_local.topic)
    )
    ours_local.runtime_pid = local.pid if local else 0
    return bootstrap


def main(options: argparse.Namespace) -> None:
    run = uuid.uuid4().hex[:8]  # topic names of this run's own, on a broker that may be shared
    options.egress = f"bench-out-{run}"
    contenders = [
        Contender(HARNESS, OURS, f"bench-in-statefun-faas-{run}"),
        Contender(HARNESS, REFERENCE, f"bench-in-reference-{run}"),
        Contender(LOCAL, OURS, f"bench-in-local-{run}"),
    ]
    folder = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    try:
        with contextlib.ExitStack() as stack:
            bootstrap = set_up(stack, folder, options, contenders)
            asyncio.run(measure(bootstrap, options.egress, contenders, options))
            print_tables(contenders, options)  # while the runtimes run: their peak RSS
    finally:
        if options.keep:
            print(f"run folder kept (logs, module.yaml files, state): {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000, help="messages per phase (burst, paced)")
    parser.add_argument("--warmup", type=int, default=2_000, help="messages each contender gets first, not measured")
    parser.add_argument("--repeat", type=int, default=3, help="bursts and paced phases per contender")
    parser.add_argument("--rate", type=float, default=300.0, help="messages/s of the paced phases")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds the runtimes' idle CPU is measured over")
    parser.add_argument("--keys", type=int, default=1_000, help="function ids the messages go to, in turn")
    parser.add_argument("--checkpoint-interval", default="10s", help="StateFun's (the shipped flink-conf.yaml's)")
    parser.add_argument("--keep", action="store_true", help="keep the run folder (logs, module.yaml, state)")
    parser.add_argument("--bootstrap", help="use this Kafka broker (host:port) instead of starting one")
    main(parser.parse_args())
