"""Flink 1.16.2 with StateFun 3.3.0 for the standalone form, assembled by ``deploy/statefun/assemble-flink.sh``.

The tests run the script users run (see its header and docs/statefun-runtime.md), into
``<cache>/engine/flink-1.16.2-statefun-3.3.0-<hash of the script>``, once, under a file lock;
its downloads are kept in ``<cache>/engine/downloads``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

from tests.engine.artifacts import engine_cache
from tests.engine.processes import EngineSetupError
from tests.venvs import locked

SCRIPT = Path(__file__).parents[2] / "deploy" / "statefun" / "assemble-flink.sh"
_COMPLETE = ".statefun-faas-complete"


@cache
def flink_home() -> Path:
    """FLINK_HOME of the assembled distribution (``bin/``, ``lib/``, ``plugins/``, ``conf/``, ``log/``)."""
    digest = hashlib.sha256(SCRIPT.read_bytes()).hexdigest()[:8]
    home = engine_cache() / f"flink-1.16.2-statefun-3.3.0-{digest}"
    if not (home / _COMPLETE).exists():
        with locked(home.with_name(home.name + ".lock")):
            if not (home / _COMPLETE).exists():
                _assemble(home)
    return home


def _assemble(home: Path) -> None:
    if home.exists():
        shutil.rmtree(home)  # left by an interrupted run
    env = {**os.environ, "PYTHON": sys.executable, "STATEFUN_FLINK_DOWNLOADS": str(engine_cache() / "downloads")}
    done = subprocess.run(["bash", str(SCRIPT), str(home)], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise EngineSetupError(
            f"{SCRIPT.name} could not assemble Flink and StateFun (are PyPI and Maven Central reachable?):\n"
            f"{done.stdout}{done.stderr}"
        )
    (home / _COMPLETE).write_text(f"assembled by process {os.getpid()}\n")
