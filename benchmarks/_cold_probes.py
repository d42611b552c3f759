"""Measurements for benchmarks/cold_start.py, each one in a fresh process.

Our modules are measured the way Lambda runs them: copied into a package folder the way
``statefun-faas package aws`` does and precompiled to hash-based ``.pyc`` (Lambda's code
folder is read-only, so without them every cold start compiles every module again). The
source checkout, whose modules have no ``.pyc`` here (PYTHONDONTWRITEBYTECODE), gives the
"no .pyc" column.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from statefun_faas.deploy.sources import copy_statefun_faas
from tests.adapters.lambda_runtime_emulator import Result, RuntimeApiEmulator, runtime_env, write_task_root

K = TypeVar("K")
V = TypeVar("V")
ROOT = Path(__file__).resolve().parent.parent
# CPU time of the probe process: the machine may be busy with other work, which inflates wall time.
PROBE = "{preload}import time; t = time.process_time(); exec({statement!r}); print(time.process_time() - t)"


def build_package(folder: Path, app_source: str | None = None) -> Path:
    """statefun_faas (core and adapters) in ``folder``, plus ``app.py``, all with unchecked-hash .pyc."""
    folder.mkdir(parents=True, exist_ok=True)
    copy_statefun_faas(folder)
    if app_source is not None:
        write_task_root(folder, app_source)
    command = [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", str(folder)]
    subprocess.run(command, check=True, capture_output=True)
    return folder


def interleaved(measures: Mapping[K, Callable[[], V]], runs: int) -> dict[K, list[V]]:
    """Run every measure ``runs`` times round-robin (machine load hits all alike), after one
    discarded warm-up each (page cache)."""
    samples: dict[K, list[V]] = {name: [] for name in measures}
    for measure in measures.values():
        measure()
    for _ in range(runs):
        for name, measure in measures.items():
            samples[name].append(measure())
    return samples


def probe_env(package: Path | None) -> dict[str, str]:
    """With a package folder: it comes first on sys.path, as /var/task does on Lambda."""
    env = dict(os.environ)
    if package is not None:
        env["PYTHONPATH"] = str(package)
    return env


def importable(statement: str, package: Path | None) -> bool:
    """Whether ``statement`` runs at all here (adapters land one by one)."""
    run = subprocess.run([sys.executable, "-P", "-c", statement], capture_output=True, env=probe_env(package))
    return run.returncode == 0


def import_ms(statement: str, package: Path | None, preload: str = "", attempts: int = 3) -> float:
    """``statement``'s import time in ms, in a fresh process; ``preload`` runs before the clock starts.

    Retried a little: a reinstall of the editable package rebuilds its link tree, and an
    import of the source checkout fails for that moment.
    """
    command = [sys.executable, "-P", "-c", PROBE.format(preload=preload, statement=statement)]
    for attempt in range(attempts):
        run = subprocess.run(command, capture_output=True, text=True, cwd=package or ROOT, env=probe_env(package))
        if run.returncode == 0:
            return float(run.stdout) * 1000.0
        if attempt == attempts - 1:
            raise RuntimeError(f"{statement!r} failed:\n{run.stderr}")
        time.sleep(1.0)
    raise AssertionError("unreachable")


def first_answer_ms(task_root: Path, event: dict[str, Any]) -> float:
    """Spawn ``python -m awslambdaric app.handler`` in ``task_root`` and time it to the first answer."""
    api = RuntimeApiEmulator()
    request_id = api.submit(event)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "awslambdaric", "app.handler"],
        cwd=task_root,
        env=runtime_env(api, task_root, "app.handler"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        result = _wait_for(api, request_id, process)
        elapsed = (time.perf_counter() - started) * 1000.0
    finally:
        process.kill()
        process.wait()
        api.close()
    if result.kind != "response" or result.payload.get("statusCode") != 200:
        raise RuntimeError(f"{task_root}: the first answer was not a success: {result}")
    base64.b64decode(result.payload["body"], validate=True)
    return elapsed


def _wait_for(api: RuntimeApiEmulator, request_id: str, process: subprocess.Popen[bytes]) -> Result:
    deadline = time.monotonic() + 60.0
    while time.monotonic() < deadline:
        try:
            return api.result(request_id, timeout=0.005)
        except TimeoutError:
            if api.init_errors or process.poll() is not None:
                raise RuntimeError(f"the runtime failed to start: {api.init_errors}") from None
    raise TimeoutError("no answer from the runtime within 60 s")


def warm_us(contender: str, seconds: float) -> float:
    """Microseconds per request of one warm contender (benchmarks/_lambda_warm.py), in its own process."""
    worker = str(Path(__file__).resolve().parent / "_lambda_warm.py")
    run = subprocess.run([sys.executable, "-P", worker, contender, str(seconds)], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"warm worker {contender} failed:\n{run.stderr}")
    return float(run.stdout)


def warm_instructions(contender: str) -> int:
    """Instructions per request of one warm contender under valgrind's callgrind: deterministic,
    whatever the machine's load. The difference between runs of two passes and of one pass
    over the corpus, so start-up and the corpus building cancel out."""
    worker = str(Path(__file__).resolve().parent / "_lambda_warm.py")
    python = os.path.realpath(sys.executable)  # the interpreter itself, not a launcher script
    counts = []
    for passes in (1, 2):
        command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, "-P", worker, contender]
        env = {**os.environ, "BENCH_PASSES": str(passes), "PYTHONHASHSEED": "0"}  # same dict layouts each run
        run = subprocess.run([*command, "0"], capture_output=True, text=True, env=env)
        found = re.search(r"Collected : (\d+)", run.stderr)
        if run.returncode != 0 or found is None:
            raise RuntimeError(f"callgrind on warm worker {contender} failed:\n{run.stderr[-2000:]}")
        counts.append(int(found.group(1)))
    return (counts[1] - counts[0]) // 1000
