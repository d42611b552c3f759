"""docs/statefun-runtime.md, performed: its blocks in order on this machine, then records through the runtime.

The page's bash blocks run as written (``~`` is a scratch home, the downloads of the engine cache
are reused), except the ``needs-cloud`` one: module.yaml comes from ``statefun-faas module`` for a
function served on loopback. The runtime then takes Kafka records, calls the function and writes
the egress records, with the shipped configuration (10 s checkpoints) in effect.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.deploy.module_cli import console_script
from tests.deploy.test_docs import NOT_RUN, Block, blocks
from tests.engine import flink_conf, processes
from tests.engine.artifacts import engine_cache
from tests.engine.conftest import Serve
from tests.engine.counters import EGRESS, TEXT_TYPE
from tests.engine.flink_rest import FlinkRest
from tests.engine.kafka import KafkaBroker, by_key
from tests.engine.serving import kafka_egress, kafka_ingress, write_module

pytestmark = pytest.mark.engine

ROOT = Path(__file__).parents[2]
PAGE = "docs/statefun-runtime.md"
RUN_BY = "run-by: tests/engine/test_runtime_doc.py"
PORTS = {8081: "REST", 6123: "jobmanager RPC", 6124: "blob server", 6122: "taskmanager RPC"}


def _bash(script: str, work: Path, env: dict[str, str], timeout: float) -> None:
    command = ["bash", "-euo", "pipefail", "-c", script]
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{PAGE}:\n{script}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"


def _daemons(pid_dir: Path) -> list[int]:
    """The live processes of Flink's pid files (the page's ``start`` writes them)."""
    pids = [int(pid) for pid_file in pid_dir.glob("flink-*.pid") for pid in pid_file.read_text().split()]
    return [pid for pid in pids if Path(f"/proc/{pid}").exists()]


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_the_page_runs_statefun_without_docker(
    kafka_broker: KafkaBroker, function_server: Serve, tmp_path: Path
) -> None:
    taken = [f"{port} ({what})" for port, what in PORTS.items() if processes.port_open(port)]
    assert not taken, f"{PAGE} runs Flink on its default ports; in use now: {', '.join(taken)}"
    found = blocks(ROOT / PAGE)
    assert {b.marker for b in found if b.language == "bash"} == {RUN_BY, "needs-cloud"}
    run: list[Block] = [b for b in found if b.marker == RUN_BY]
    assert all(b.marker in NOT_RUN for b in found if b not in run)
    *setup, stop = run
    assert "stop" in stop.text
    assert "start" in setup[-1].text

    work, home = tmp_path / "work", tmp_path / "home"
    shutil.copytree(ROOT / "deploy", work / "deploy")
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FLINK_", "_FLINK_"))}
    env.update(
        HOME=str(home),
        PATH=f"{Path(console_script()).parent}{os.pathsep}{env.get('PATH', '')}",
        STATEFUN_FLINK_DOWNLOADS=str(engine_cache() / "downloads"),  # the page's downloads, already fetched
        FLINK_PID_DIR=str(work),  # Flink's pid files here rather than in /tmp
    )
    source, sink = "page-in", "page-out"
    kafka_broker.create_topics(source, sink)
    server = function_server("tests/engine/counters.py", {"ENGINE_OUT_TOPIC": sink})
    io = [
        kafka_ingress("engine/in", kafka_broker.bootstrap, {source: (TEXT_TYPE, ["engine/counter"])}),
        kafka_egress(EGRESS, kafka_broker.bootstrap),
    ]
    write_module(work / "module.yaml", server.url, "engine/*", io)  # what the needs-cloud block writes
    # what the page's configuration block exports, for its start and stop blocks run after it
    exported = {**env, "FLINK_HOME": str(home / "statefun-flink"), "FLINK_CONF_DIR": str(work / "statefun-conf")}
    try:
        _bash("\n".join(b.text for b in setup[:-1]), work, env, timeout=900)
        started = time.monotonic()
        _bash(setup[-1].text, work, exported, timeout=120)
        rest = FlinkRest(8081)
        processes.wait_until(lambda: rest.running_job() is not None, "the page's job", [], timeout=300)
        processes.TIMINGS.append((f"{PAGE}: its start commands to all tasks running", time.monotonic() - started))
        job = rest.running_job()
        kafka_broker.produce(source, [("ada", "one"), ("bob", "one"), ("ada", "two")])
        records = kafka_broker.consume(sink, count=3, timeout=90)
        assert by_key(records) == {"ada": ["ada:1:one", "ada:2:two"], "bob": ["bob:1:one"]}
        assert flink_conf.shipped()["execution.checkpointing.interval"] == "10sec"
        assert rest.get(f"/jobs/{job}/checkpoints/config")["interval"] == 10_000  # the shipped file is in effect
        assert rest.failures(str(job)) == []
        assert len(_daemons(work)) == 2  # the jobmanager and the taskmanager

        _bash(stop.text, work, exported, timeout=120)
        processes.wait_until(lambda: not _daemons(work), "the page's stop to end both JVMs", [], timeout=60)
    finally:
        _kill(_daemons(work))  # what a failure left running
