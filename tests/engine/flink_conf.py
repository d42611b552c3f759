"""The Flink configuration the engine tests run: the one ``deploy/statefun`` ships, plus local settings.

``deploy/statefun/flink-conf.yaml`` is the shipped file (the Kubernetes ConfigMap holds the same
text). :func:`local_settings` and :func:`cluster_settings` are everything a run on one machine
changes or adds, each with its reason; nothing else differs.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.engine.artifacts import FLINK_JAVA_FLAGS

DEPLOY = Path(__file__).parents[2] / "deploy" / "statefun"
SHIPPED = DEPLOY / "flink-conf.yaml"
CONFIGMAP = DEPLOY / "kubernetes" / "flink-config.yaml"

# Keys about the cluster's processes and their JVMs: meaningless in the harness's MiniCluster (one JVM).
CLUSTER_PREFIXES = ("jobmanager.", "taskmanager.", "blob.", "env.")


def configmap_files() -> dict[str, str]:
    """The files of the Kubernetes ConfigMap: ``flink-conf.yaml`` and ``log4j-console.properties``."""
    files: dict[str, str] = yaml.safe_load(CONFIGMAP.read_text(encoding="utf-8"))["data"]
    return files


def parse(text: str) -> dict[str, str]:
    """A Flink 1.16 ``flink-conf.yaml``: one ``key: value`` a line, ``#`` starts a comment (as Flink reads it)."""
    settings: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0].strip()
        if not content:
            continue
        key, separator, value = content.partition(": ")
        if not separator or not key.strip() or not value.strip():
            raise ValueError(f"flink-conf.yaml line {number} is not 'key: value': {line!r}")
        settings[key.strip()] = value.strip()
    return settings


def render(settings: dict[str, str]) -> str:
    return "".join(f"{key}: {value}\n" for key, value in settings.items())


def shipped() -> dict[str, str]:
    """The shipped flink-conf.yaml's settings."""
    return parse(SHIPPED.read_text(encoding="utf-8"))


def local_settings(run: Path, module: Path, rest_port: int, checkpoint_interval: str) -> dict[str, str]:
    """What a run on this machine sets on top of the shipped configuration."""
    settings = {
        # the image reads module.yaml from /opt/statefun/modules; here it is named directly
        "statefun.remote.module-name": module.resolve().as_uri(),
        # checkpoints and temporary files inside the run's folder (shipped: file:///checkpoints, /tmp)
        "state.checkpoints.dir": (run / "checkpoints").as_uri(),
        "io.tmp.dirs": str(run / "tmp"),
        # shipped: 10sec; shorter so that exactly-once egress records show within a test's patience
        "execution.checkpointing.interval": checkpoint_interval,
        # the REST API on loopback: the tests watch the job through it
        "rest.address": "127.0.0.1",
        "rest.bind-address": "127.0.0.1",
        "rest.port": str(rest_port),
        "rest.bind-port": str(rest_port),
        # Flink 1.16 predates Java 17: these opens let it run there (the image runs Java 8 or 11)
        "env.java.opts": " ".join(FLINK_JAVA_FLAGS),
    }
    (run / "tmp").mkdir(parents=True, exist_ok=True)
    return settings


def cluster_settings(jobmanager_port: int, blob_port: int) -> dict[str, str]:
    """A standalone cluster on loopback: every process binds 127.0.0.1 (shipped: the Kubernetes service name)."""
    return {
        "jobmanager.rpc.address": "127.0.0.1",
        "jobmanager.rpc.port": str(jobmanager_port),
        "jobmanager.bind-host": "127.0.0.1",
        "blob.server.port": str(blob_port),
        "taskmanager.host": "127.0.0.1",
        "taskmanager.bind-host": "127.0.0.1",
        "taskmanager.rpc.port": "0",  # any free port: a restarted taskmanager must not wait for the old one's
    }


def harness_settings(local: dict[str, str], parallelism: int) -> dict[str, str]:
    """The shipped settings that apply to one JVM, the local ones, and the parallelism."""
    kept = {key: value for key, value in shipped().items() if not key.startswith(CLUSTER_PREFIXES)}
    return {**kept, **local, "parallelism.default": str(parallelism)}


def standalone_settings(local: dict[str, str], cluster: dict[str, str]) -> dict[str, str]:
    return {**shipped(), **local, **cluster}
