"""The function side of the engine tests: ``statefun-faas serve`` on loopback and module.yaml written by
``statefun-faas module``, both run as the console script a user runs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.module_cli import console_script
from tests.engine import processes
from tests.engine.processes import EngineSetupError, Service

LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/")
TOKEN = "engine-token-0123456789"


class FunctionServer:
    """``statefun-faas serve TARGET --host 127.0.0.1`` with ``STATEFUN_FAAS_TOKENS`` set to ``token``."""

    def __init__(self, folder: Path, target: str, env: Mapping[str, str] | None = None, token: str = TOKEN) -> None:
        self.folder = folder
        self.token = token
        self.port = 0
        self.service: Service | None = None
        self.starts = 0
        self.start(target, env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, target: str, env: Mapping[str, str] | None = None) -> None:
        """Start serving ``target`` (on the same port as before, if it served already)."""
        self.stop()
        self.starts += 1
        log = self.folder / f"serve-{self.starts}.log"
        environment = {**os.environ, **(env or {}), "STATEFUN_FAAS_TOKENS": self.token}
        command = [console_script(), "serve", target, "--host", "127.0.0.1", "--port", str(self.port)]
        self.service = service = processes.start("statefun-faas serve", command, log, environment)

        def listening() -> bool:
            found = LISTENING.search(service.log.read_text(errors="replace"))
            if found:
                self.port = int(found[1])
            return bool(found)

        processes.wait_until(listening, "statefun-faas serve", [service], timeout=60)

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop(grace=10)
            self.service = None

    def requests(self) -> list[dict[str, Any]]:
        """The request log lines (one JSON object per request: status, typename, id, batch, ...) of every start."""
        lines: list[dict[str, Any]] = []
        for number in range(1, self.starts + 1):
            text = (self.folder / f"serve-{number}.log").read_text(errors="replace")
            lines += [json.loads(line) for line in text.splitlines() if line.startswith('{"platform"')]
        return lines


def kafka_ingress(
    ingress: str, broker: str, topics: Mapping[str, tuple[str, Sequence[str]]], group: str = "statefun"
) -> dict[str, Any]:
    """A module.yaml Kafka ingress reading each topic from its earliest record: ``{topic: (valueType, targets)}``."""
    spec = {
        "id": ingress,
        "address": broker,
        "consumerGroupId": group,
        "startupPosition": {"type": "earliest"},
        "topics": [{"topic": t, "valueType": v, "targets": list(targets)} for t, (v, targets) in topics.items()],
    }
    return {"kind": "io.statefun.kafka.v1/ingress", "spec": spec}


def kafka_egress(egress: str, broker: str, exactly_once: bool = True) -> dict[str, Any]:
    """A module.yaml Kafka egress; exactly-once (transactions committed on checkpoints) like the examples'."""
    semantic = {"type": "exactly-once", "transactionTimeout": "15min"} if exactly_once else {"type": "at-least-once"}
    return {
        "kind": "io.statefun.kafka.v1/egress",
        "spec": {"id": egress, "address": broker, "deliverySemantic": semantic},
    }


def write_module(
    path: Path, url: str, functions: str, io: Sequence[dict[str, Any]], token: str = TOKEN, *options: str
) -> Path:
    """``statefun-faas module url URL --functions FUNCTIONS --token TOKEN --allow-http --base <io> OPTIONS -o path``."""
    base = path.with_name(path.stem + ".base.yaml")
    base.write_text(yaml.safe_dump_all(io, sort_keys=False))
    command = [console_script(), "module", "url", url, "--allow-http", "--functions", functions, "--token", token]
    command += ["--base", str(base), *options, "-o", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise EngineSetupError(f"`{' '.join(command)}` failed:\n{done.stderr}")
    return path
