"""The Java runtime and the jars the engine tests run, checked and built once into the cache folder.

``java/`` is a Maven project pinning every version (Kafka, the StateFun harness, Flink);
:func:`maven_build` runs ``mvn -C package`` on it (checksums enforced) with its own local repository
``<cache>/engine/m2`` and output ``<cache>/engine/build-<hash of java/>``, under a file lock so
concurrent pytest processes build it once. A missing ``java`` or ``mvn``, or a failed download, is an
:class:`EngineSetupError` saying what to install or check, never a skip.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.engine.processes import EngineSetupError
from tests.venvs import cache_root, locked

JAVA_PROJECT = Path(__file__).parent / "java"
#: files outside ``java/`` that its build reads (the protobuf the Java SDK's functions generate their class from)
JAVA_INPUTS = (Path(__file__).parents[2] / "examples" / "cross_language" / "sensors.proto",)
_COMPLETE = ".statefun-faas-complete"

# Flink 1.16 supports Java 8 and 11; on 17 its closure cleaner and Kryo serializers need these (Flink 1.18's
# default list). Java 11 takes them too, so they are always given (as docs/statefun-runtime.md does).
FLINK_JAVA_FLAGS = (
    "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
    "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    *(
        f"--add-opens=java.base/{package}=ALL-UNNAMED"
        for package in (
            "java.lang",
            "java.net",
            "java.io",
            "java.nio",
            "sun.nio.ch",
            "java.lang.reflect",
            "java.text",
            "java.time",
            "java.util",
            "java.util.concurrent",
            "java.util.concurrent.atomic",
            "java.util.concurrent.locks",
        )
    ),
)


def engine_cache() -> Path:
    """``$STATEFUN_FAAS_CACHE/engine`` (``~/.cache/statefun-faas/engine`` by default)."""
    return cache_root().parent / "engine"


@dataclass(frozen=True)
class Java:
    executable: str
    home: Path
    version: int


@cache
def java() -> Java:
    """The Java runtime: ``$JAVA_HOME/bin/java``, else ``java`` on PATH; 11 or newer."""
    configured = os.environ.get("JAVA_HOME")
    executable = str(Path(configured) / "bin" / "java") if configured else shutil.which("java")
    if not executable or not Path(executable).exists():
        raise EngineSetupError(
            "the engine tests need a Java runtime, 11 or newer (17 is what CI uses): none found "
            f"({'JAVA_HOME=' + configured if configured else 'no java on PATH, JAVA_HOME unset'}); "
            "install one, e.g. `apt-get install openjdk-17-jdk-headless`"
        )
    shown = subprocess.run([executable, "-version"], capture_output=True, text=True, check=False, timeout=60)
    found = re.search(r'version "(\d+)(?:\.(\d+))?', shown.stderr)
    if not found:
        raise EngineSetupError(f"could not tell the version of {executable}:\n{shown.stderr}")
    major = int(found[2]) if found[1] == "1" else int(found[1])  # "1.8.0" is Java 8
    if major < 11:
        raise EngineSetupError(f"{executable} is Java {major}; the engine tests need 11 or newer")
    return Java(executable, Path(os.path.realpath(executable)).parent.parent, major)


def _project_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(JAVA_PROJECT.rglob("*")):
        if path.is_file() and "target" not in path.relative_to(JAVA_PROJECT).parts:
            digest.update(str(path.relative_to(JAVA_PROJECT)).encode() + b"\0" + path.read_bytes() + b"\0")
    for path in JAVA_INPUTS:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class Jars:
    """What ``mvn package`` built: each module's ``lib/`` (its jars and their dependencies)."""

    root: Path

    @property
    def kafka(self) -> Path:
        return self.root / "kafka" / "lib"

    @property
    def harness(self) -> list[Path]:
        """The harness's class path: our launcher's jar, then its dependencies."""
        return [self.root / "harness" / "harness-1.jar", self.root / "harness" / "lib"]

    @property
    def sdk(self) -> list[Path]:
        """Our function server on the Java SDK (``java/sdk``): its jar, then its dependencies."""
        return [self.root / "sdk" / "sdk-1.jar", self.root / "sdk" / "lib"]


@cache
def maven_build() -> Jars:
    """Build ``java/`` into the cache (once per content of ``java/``) and return where its jars are."""
    out = engine_cache() / f"build-{_project_digest()}"
    if not (out / _COMPLETE).exists():
        with locked(out.with_name(out.name + ".lock")):
            if not (out / _COMPLETE).exists():
                _run_maven(out)
    return Jars(out)


def _run_maven(out: Path) -> None:
    mvn = shutil.which("mvn")
    if not mvn:
        raise EngineSetupError(
            "the engine tests build their jars with Maven: `mvn` is not on PATH (apt-get install maven)"
        )
    if out.exists():
        shutil.rmtree(out)  # left half-built by an interrupted run
    env = {**os.environ, "JAVA_HOME": str(java().home)}
    command = [mvn, "-B", "-q", "-C", f"-Dmaven.repo.local={engine_cache() / 'm2'}", f"-Dengine.build={out}", "package"]
    done = subprocess.run(command, cwd=JAVA_PROJECT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise EngineSetupError(
            f"`{' '.join(command)}` in {JAVA_PROJECT} failed (is Maven Central reachable?):\n"
            f"{done.stdout[-6000:]}{done.stderr[-3000:]}"
        )
    (out / _COMPLETE).write_text(f"built by process {os.getpid()}\n")


def class_path(*entries: Path) -> str:
    """A Java class path: jar files as they are, folders as ``folder/*``."""
    return os.pathsep.join(str(entry / "*") if entry.is_dir() else str(entry) for entry in entries)
